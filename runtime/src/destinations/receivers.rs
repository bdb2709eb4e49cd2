//! Small HTTP servers that stand in for destinations in tests, on 127.0.0.1: an OpenSearch
//! `_bulk` endpoint, a Splunk HTTP Event Collector and a Firehose HTTP endpoint. Each checks
//! every request strictly — methods, paths, headers, the NDJSON action/document pairs, HEC's
//! token, channel and event objects, the HTTP endpoint protocol's body and headers — and answers
//! violations with the real service's error response (and records them in
//! [`Receiver::violations`]). They can be made to fail: [`Receiver::fail_until`] answers as an
//! overloaded server (503) until a time, [`Receiver::reject_containing`] makes OpenSearch refuse
//! single documents (400 `mapper_parsing_exception`).
//!
//! HTTP/1.1 with keep-alive and `Content-Length` bodies only (what kin's client sends).

use std::collections::HashMap;
use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// What a receiver stands in for.
#[derive(Clone, Debug)]
pub enum ReceiverKind {
    /// OpenSearch `POST /_bulk`.
    Bulk,
    /// Splunk HEC accepting these tokens; `event`: the event endpoint, else raw.
    Hec { tokens: Vec<String>, event: bool },
    /// A Firehose HTTP endpoint, checking `X-Amz-Firehose-Access-Key` when given.
    HttpEndpoint { access_key: Option<String> },
}

/// One accepted document, event or record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// OpenSearch: the index; HEC: the token; HTTP endpoint: the request id.
    pub group: String,
    /// OpenSearch: the document id.
    pub id: Option<String>,
    /// The document (one line), the raw event line or event object, or the decoded record.
    pub data: Vec<u8>,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    requests: u64,
    violations: Vec<String>,
    fail_until: Option<Instant>,
    reject_marker: Option<String>,
    next_ack: u64,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts on a free port of 127.0.0.1.
    pub fn start(kind: ReceiverKind) -> io::Result<Receiver> {
        Receiver::start_at(kind, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts on `addr` (a port reserved earlier, to play a destination that comes up late).
    pub fn start_at(kind: ReceiverKind, addr: SocketAddr) -> io::Result<Receiver> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_state, thread_stop) = (state.clone(), stop.clone());
        let handle = thread::Builder::new()
            .name("kin-receiver".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if thread_stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (state, kind, stop) =
                        (thread_state.clone(), kind.clone(), thread_stop.clone());
                    let _ = thread::Builder::new()
                        .name("kin-receiver-conn".into())
                        .spawn(move || serve(stream, &kind, &state, &stop));
                }
            })?;
        Ok(Receiver {
            addr,
            state,
            stop,
            handle: Some(handle),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// Requests answered so far (accepted or not).
    pub fn requests(&self) -> u64 {
        self.state().requests
    }

    /// Protocol violations seen (each answered with an error).
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// Answer every request with 503 until `until`.
    pub fn fail_until(&self, until: Instant) {
        self.state().fail_until = Some(until);
    }

    /// OpenSearch: refuse documents containing `marker` with a 400 `mapper_parsing_exception`.
    pub fn reject_containing(&self, marker: &str) {
        self.state().reject_marker = Some(marker.to_string());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// One parsed request.
struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// Reads one request; `None` at the end of the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (path, query_text) = target.split_once('?').unwrap_or((&target, ""));
    let query = query_text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body,
    }))
}

fn serve(stream: TcpStream, kind: &ReceiverKind, state: &Mutex<State>, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while !stop.load(Ordering::Relaxed) {
        let request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            _ => return,
        };
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.requests += 1;
        let (status, body) = answer(kind, &request, &mut state);
        drop(state);
        let response = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            reason(status),
            body.len()
        );
        if writer
            .write_all(response.as_bytes())
            .and_then(|()| writer.write_all(body.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    }
}

fn answer(kind: &ReceiverKind, request: &Request, state: &mut State) -> (u16, String) {
    let failing = state.fail_until.is_some_and(|t| Instant::now() < t);
    match kind {
        ReceiverKind::Bulk => bulk(request, state, failing),
        ReceiverKind::Hec { tokens, event } => hec(request, state, tokens, *event, failing),
        ReceiverKind::HttpEndpoint { access_key } => {
            http_endpoint(request, state, access_key.as_deref(), failing)
        }
    }
}

fn violation(state: &mut State, message: String) -> String {
    state.violations.push(message.clone());
    message
}

fn bulk(request: &Request, state: &mut State, failing: bool) -> (u16, String) {
    let error = |state: &mut State, status: u16, kind: &str, reason: String| {
        let reason = violation(state, reason);
        let body = json!({"error": {"type": kind, "reason": reason}, "status": status});
        (status, body.to_string())
    };
    if request.method != "POST" || request.path != "/_bulk" {
        let reason = format!("no handler for {} {}", request.method, request.path);
        return error(state, 405, "illegal_argument_exception", reason);
    }
    if request.header("content-type") != Some("application/x-ndjson") {
        let reason = format!(
            "Content-Type {:?} is not application/x-ndjson",
            request.header("content-type")
        );
        return error(state, 400, "illegal_argument_exception", reason);
    }
    if failing {
        let body = json!({"error": {"type": "cluster_block_exception", "reason": "overloaded"}, "status": 503});
        return (503, body.to_string());
    }
    let Ok(text) = std::str::from_utf8(&request.body) else {
        return error(
            state,
            400,
            "parse_exception",
            "the body is not UTF-8".into(),
        );
    };
    if !text.ends_with('\n') {
        let reason = "The bulk request must be terminated by a newline [\\n]".to_string();
        return error(state, 400, "illegal_argument_exception", reason);
    }
    let lines: Vec<&str> = text.lines().collect();
    if !lines.len().is_multiple_of(2) {
        let reason = format!("{} lines: an action without its document", lines.len());
        return error(state, 400, "illegal_argument_exception", reason);
    }
    let mut items = Vec::new();
    let mut accepted = Vec::new();
    for pair in lines.chunks(2) {
        let action: Value = match serde_json::from_str(pair[0]) {
            Ok(v) => v,
            Err(e) => {
                let reason = format!("action line {:?} is not JSON: {e}", pair[0]);
                return error(state, 400, "x_content_parse_exception", reason);
            }
        };
        let meta = action
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("index").or_else(|| o.get("create")))
            .and_then(Value::as_object);
        let (Some(index), id) = (
            meta.and_then(|m| m.get("_index")).and_then(Value::as_str),
            meta.and_then(|m| m.get("_id")).and_then(Value::as_str),
        ) else {
            let reason = format!("action {:?} is not an index action with an _index", pair[0]);
            return error(state, 400, "illegal_argument_exception", reason);
        };
        let document_ok = serde_json::from_str::<Value>(pair[1]).is_ok_and(|v| v.is_object());
        let rejected = state
            .reject_marker
            .as_ref()
            .is_some_and(|m| pair[1].contains(m.as_str()));
        if !document_ok || rejected {
            items.push(json!({"index": {"_index": index, "_id": id, "status": 400,
                "error": {"type": "mapper_parsing_exception", "reason": "failed to parse"}}}));
            continue;
        }
        items.push(
            json!({"index": {"_index": index, "_id": id, "status": 201, "result": "created"}}),
        );
        accepted.push(Received {
            group: index.to_string(),
            id: id.map(str::to_string),
            data: pair[1].as_bytes().to_vec(),
        });
    }
    let errors = accepted.len() != items.len();
    state.received.extend(accepted);
    (
        200,
        json!({"took": 1, "errors": errors, "items": items}).to_string(),
    )
}

fn hec(
    request: &Request,
    state: &mut State,
    tokens: &[String],
    event: bool,
    failing: bool,
) -> (u16, String) {
    let hec_error = |status: u16, code: u32, text: &str| {
        (status, json!({"text": text, "code": code}).to_string())
    };
    let token = match request.header("authorization") {
        None => return hec_error(401, 2, "Token is required"),
        Some(value) => match value
            .strip_prefix("Splunk ")
            .filter(|t| tokens.iter().any(|known| known == t))
        {
            Some(token) => token.to_string(),
            None => {
                violation(state, format!("Authorization {value:?} is not a token"));
                return hec_error(403, 4, "Invalid token");
            }
        },
    };
    let channel = request
        .query
        .get("channel")
        .map(String::as_str)
        .or_else(|| request.header("x-splunk-request-channel"))
        .map(str::to_string);
    if channel.is_none_or(|c| uuid::Uuid::parse_str(&c).is_err()) {
        violation(state, "no request channel (a GUID)".into());
        return hec_error(400, 10, "Data channel is missing");
    }
    let expected = if event {
        "/services/collector/event"
    } else {
        "/services/collector/raw"
    };
    if request.method != "POST" {
        return hec_error(405, 404, "Method not allowed");
    }
    if request.path == "/services/collector/ack" {
        let acks: Option<Vec<u64>> = serde_json::from_slice::<Value>(&request.body)
            .ok()
            .and_then(|v| v.get("acks")?.as_array().cloned())
            .map(|a| a.iter().filter_map(Value::as_u64).collect());
        let Some(acks) = acks else {
            violation(state, "ack request without an `acks` array".into());
            return hec_error(400, 6, "Invalid data format");
        };
        let answers: serde_json::Map<String, Value> = acks
            .iter()
            .map(|id| (id.to_string(), Value::Bool(*id < state.next_ack)))
            .collect();
        return (200, json!({ "acks": answers }).to_string());
    }
    if request.path != expected {
        violation(state, format!("{} is not {expected}", request.path));
        return hec_error(404, 404, "The requested URL was not found on this server.");
    }
    if failing {
        return hec_error(503, 9, "Server is busy");
    }
    if request.body.is_empty() {
        return hec_error(400, 5, "No data");
    }
    let mut events = Vec::new();
    if event {
        for (n, value) in serde_json::Deserializer::from_slice(&request.body)
            .into_iter::<Value>()
            .enumerate()
        {
            let Ok(Value::Object(object)) = value else {
                violation(state, format!("event {n} is not a JSON object"));
                return (
                    400,
                    json!({"text": "Invalid data format", "code": 6, "invalid-event-number": n})
                        .to_string(),
                );
            };
            match object.get("event") {
                None => {
                    violation(state, format!("event {n} has no `event` field"));
                    return (400, json!({"text": "Event field is required", "code": 12, "invalid-event-number": n}).to_string());
                }
                Some(Value::String(s)) if s.is_empty() => {
                    return (400, json!({"text": "Event field cannot be blank", "code": 13, "invalid-event-number": n}).to_string());
                }
                Some(_) => events.push(Value::Object(object).to_string().into_bytes()),
            }
        }
    } else {
        let text = String::from_utf8_lossy(&request.body);
        events.extend(
            text.lines()
                .filter(|l| !l.is_empty())
                .map(|l| l.as_bytes().to_vec()),
        );
    }
    let ack_id = state.next_ack;
    state.next_ack += 1;
    state
        .received
        .extend(events.into_iter().map(|data| Received {
            group: token.clone(),
            id: None,
            data,
        }));
    (
        200,
        json!({"text": "Success", "code": 0, "ackId": ack_id}).to_string(),
    )
}

fn gunzip(body: &[u8]) -> Option<Vec<u8>> {
    let size = body.len().checked_sub(4).and_then(|at| body.get(at..))?;
    let size = u32::from_le_bytes(size.try_into().ok()?) as usize;
    let mut out = vec![0; size];
    let n = libdeflater::Decompressor::new()
        .gzip_decompress(body, &mut out)
        .ok()?;
    out.truncate(n);
    Some(out)
}

fn http_endpoint(
    request: &Request,
    state: &mut State,
    access_key: Option<&str>,
    failing: bool,
) -> (u16, String) {
    let now = crate::producer::now_ms();
    let request_id = request
        .header("x-amz-firehose-request-id")
        .unwrap_or_default()
        .to_string();
    let error = |state: &mut State, status: u16, message: String| {
        let message = violation(state, message);
        let body = json!({"requestId": request_id, "timestamp": now, "errorMessage": message});
        (status, body.to_string())
    };
    if request.method != "POST" {
        return error(state, 405, format!("method {} is not POST", request.method));
    }
    let checks = [
        ("content-type", Some("application/json")),
        ("x-amz-firehose-protocol-version", Some("1.0")),
    ];
    for (name, want) in checks {
        if request.header(name) != want {
            let got = request.header(name);
            return error(
                state,
                400,
                format!("header {name} is {got:?}, not {want:?}"),
            );
        }
    }
    if request.header("x-amz-firehose-source-arn").is_none() || request_id.is_empty() {
        return error(
            state,
            400,
            "missing X-Amz-Firehose-Source-Arn or -Request-Id".into(),
        );
    }
    if let Some(key) = access_key {
        if request.header("x-amz-firehose-access-key") != Some(key) {
            return error(
                state,
                401,
                "wrong or missing X-Amz-Firehose-Access-Key".into(),
            );
        }
    }
    if failing {
        let body = json!({"requestId": request_id, "timestamp": now, "errorMessage": "overloaded"});
        return (503, body.to_string());
    }
    let body = match request.header("content-encoding") {
        Some("gzip") => match gunzip(&request.body) {
            Some(body) => body,
            None => return error(state, 400, "the body is not valid gzip".into()),
        },
        None => request.body.clone(),
        Some(other) => return error(state, 400, format!("content encoding {other:?}")),
    };
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return error(state, 400, "the body is not JSON".into());
    };
    if value.get("requestId").and_then(Value::as_str) != Some(request_id.as_str()) {
        return error(
            state,
            400,
            "the body's requestId is not the header's".into(),
        );
    }
    if !value.get("timestamp").is_some_and(Value::is_i64) {
        return error(state, 400, "the body has no integer timestamp".into());
    }
    let Some(records) = value.get("records").and_then(Value::as_array) else {
        return error(state, 400, "the body has no records array".into());
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut decoded = Vec::new();
    for record in records {
        let data = record
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("data"))
            .and_then(Value::as_str)
            .and_then(|d| b64.decode(d).ok());
        match data {
            Some(data) => decoded.push(data),
            None => {
                return error(
                    state,
                    400,
                    format!("record {record} is not {{\"data\": base64}}"),
                )
            }
        }
    }
    state
        .received
        .extend(decoded.into_iter().map(|data| Received {
            group: request_id.clone(),
            id: None,
            data,
        }));
    (
        200,
        json!({"requestId": request_id, "timestamp": now}).to_string(),
    )
}
