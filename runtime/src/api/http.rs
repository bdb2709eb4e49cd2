//! Just enough HTTP/1.1 for the AWS SDKs: a request line, headers, a body by `Content-Length`
//! or chunked, keep-alive, `Expect: 100-continue`; answers with a status, JSON and a request id.

use std::io::{self, BufRead, Read, Write};

/// The largest body accepted: a 10 MiB PutRecords request, base64-encoded, with room to spare.
pub const MAX_BODY_BYTES: usize = 24 * 1024 * 1024;
/// The most header bytes accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// One request as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path and query as sent (`/`, `/?a=b`).
    pub target: String,
    /// Header names as sent, in order; look them up with [`Request::header`].
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// False for HTTP/1.0 or `Connection: close`.
    pub keep_alive: bool,
}

impl Request {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path part of the target.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }

    /// The query part of the target (without `?`), empty if none.
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection closed (or timed out) before a request began.
    Closed,
    Io(io::Error),
    /// A malformed request: answer 400 and close.
    Bad(String),
    /// A body over [`MAX_BODY_BYTES`]: answer 413 and close.
    TooLarge(usize),
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> ReadError {
        ReadError::Io(error)
    }
}

/// Reads one request. `continue_to` gets `100 Continue` when the client waits for it.
pub fn read_request(
    reader: &mut impl BufRead,
    continue_to: &mut impl Write,
) -> Result<Request, ReadError> {
    let mut head_bytes = 0;
    let line = match read_line(reader, &mut head_bytes)? {
        Some(line) if !line.is_empty() => line,
        Some(_) => match read_line(reader, &mut head_bytes)? {
            // One blank line between requests is tolerated.
            Some(line) if !line.is_empty() => line,
            _ => return Err(ReadError::Closed),
        },
        None => return Err(ReadError::Closed),
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(format!("malformed request line {line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(format!("unsupported version {version:?}")));
    }
    let mut request = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers: Vec::new(),
        body: Vec::new(),
        keep_alive: version != "HTTP/1.0",
    };
    loop {
        let Some(line) = read_line(reader, &mut head_bytes)? else {
            return Err(ReadError::Bad("the headers did not end".to_string()));
        };
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ReadError::Bad(format!("malformed header line {line:?}")))?;
        request
            .headers
            .push((name.trim().to_string(), value.trim().to_string()));
    }
    if let Some(connection) = request.header("connection") {
        if connection.eq_ignore_ascii_case("close") {
            request.keep_alive = false;
        } else if connection.eq_ignore_ascii_case("keep-alive") {
            request.keep_alive = true;
        }
    }
    if request
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        continue_to.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        continue_to.flush()?;
    }
    request.body = read_body(reader, &request)?;
    Ok(request)
}

fn read_body(reader: &mut impl BufRead, request: &Request) -> Result<Vec<u8>, ReadError> {
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader);
    }
    let length = match request.header("content-length") {
        None => return Ok(Vec::new()),
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ReadError::Bad(format!("Content-Length {text:?} is not a number")))?,
    };
    if length > MAX_BODY_BYTES {
        return Err(ReadError::TooLarge(length));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut line_bytes = 0;
    loop {
        let Some(line) = read_line(reader, &mut line_bytes)? else {
            return Err(ReadError::Bad("the chunked body did not end".to_string()));
        };
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ReadError::Bad(format!("malformed chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers, up to the blank line.
            while let Some(line) = read_line(reader, &mut line_bytes)? {
                if line.is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(ReadError::TooLarge(body.len() + size));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
        line_bytes = 0;
    }
}

/// One line without its CRLF; `None` at the end of input. Counts bytes against the head limit.
fn read_line(reader: &mut impl BufRead, total: &mut usize) -> Result<Option<String>, ReadError> {
    let mut line = Vec::new();
    let read = (&mut *reader)
        .take((MAX_HEAD_BYTES - (*total).min(MAX_HEAD_BYTES)) as u64 + 1)
        .read_until(b'\n', &mut line);
    match read {
        Ok(0) => return Ok(None),
        Ok(n) => *total += n,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) && line.is_empty() =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e.into()),
    }
    if *total > MAX_HEAD_BYTES {
        return Err(ReadError::Bad("the request head is too large".to_string()));
    }
    if line.last() != Some(&b'\n') {
        return Ok(None);
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| ReadError::Bad("a header is not UTF-8".to_string()))
}

/// Writes a response with a JSON 1.1 body.
pub fn write_response(
    out: &mut impl Write,
    status: u16,
    body: &[u8],
    request_id: &str,
    keep_alive: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         Content-Length: {}\r\nx-amzn-RequestId: {request_id}\r\nConnection: {}\r\n\r\n",
        reason(status),
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> Result<Request, ReadError> {
        read_request(&mut &text[..], &mut Vec::new())
    }

    #[test]
    fn reads_a_request_with_content_length() {
        let request = parse(
            b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n\
              Content-Length: 2\r\n\r\n{}",
        )
        .expect("parses");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), "/");
        assert_eq!(
            request.header("x-amz-target"),
            Some("Kinesis_20131202.ListStreams")
        );
        assert_eq!(request.body, b"{}");
        assert!(request.keep_alive);
    }

    #[test]
    fn reads_chunked_bodies_and_answers_expect() {
        let mut continued = Vec::new();
        let request = read_request(
            &mut &b"POST /?a=b HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\
                    Connection: close\r\n\r\n3\r\n{\"a\r\n3;x=y\r\n\":1\r\n1\r\n}\r\n0\r\n\r\n"[..],
            &mut continued,
        )
        .expect("parses");
        assert_eq!(request.body, b"{\"a\":1}");
        assert_eq!(request.query(), "a=b");
        assert!(!request.keep_alive);
        assert!(continued.starts_with(b"HTTP/1.1 100"));
    }

    #[test]
    fn malformed_requests_are_errors_not_panics() {
        assert!(matches!(parse(b""), Err(ReadError::Closed)));
        assert!(matches!(parse(b"GARBAGE\r\n\r\n"), Err(ReadError::Bad(_))));
        assert!(matches!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n"),
            Err(ReadError::TooLarge(_))
        ));
        assert!(matches!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}"),
            Err(ReadError::Io(_))
        ));
        assert!(matches!(
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            Err(ReadError::Bad(_))
        ));
        let huge = format!("POST / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(70_000));
        assert!(matches!(parse(huge.as_bytes()), Err(ReadError::Bad(_))));
    }

    #[test]
    fn writes_a_response() {
        let mut out = Vec::new();
        write_response(&mut out, 400, b"{}", "id-1", false).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.ends_with("\r\n\r\n{}"));
    }
}
