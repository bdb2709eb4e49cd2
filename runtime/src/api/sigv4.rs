//! AWS Signature Version 4 checking: rebuilds the canonical request and the string to sign from
//! what the client sent, signs it with the configured secret and compares, answering with the
//! error codes Kinesis and Firehose use (`MissingAuthenticationTokenException`,
//! `IncompleteSignatureException`, `UnrecognizedClientException`, `InvalidSignatureException`;
//! all HTTP 400, as these JSON services answer them).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::http::Request;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far the request's time may be from the server's, as Kinesis allows.
const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// The one access key the server accepts, and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}:***)", self.access_key)
    }
}

impl Credentials {
    /// Parses `KEY:SECRET`.
    pub fn parse(text: &str) -> Result<Credentials, String> {
        match text.split_once(':') {
            Some((key, secret)) if !key.is_empty() && !secret.is_empty() => Ok(Credentials {
                access_key: key.to_string(),
                secret: secret.to_string(),
            }),
            _ => Err("--api-credentials: write ACCESS_KEY_ID:SECRET_ACCESS_KEY".to_string()),
        }
    }
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

/// Checks the request's signature; returns the region of its credential scope.
pub fn verify(
    request: &Request,
    credentials: &Credentials,
    service: &str,
    now_ms: i64,
) -> Result<String, ApiError> {
    let header = request.header("authorization").ok_or_else(|| {
        ApiError::new(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    })?;
    let auth = parse_authorization(header)?;
    if auth.access_key != credentials.access_key {
        return Err(ApiError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    if auth.service != service {
        return Err(invalid_signature(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    let amz_date = request.header("x-amz-date").ok_or_else(|| {
        ApiError::new(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    check_date(amz_date, auth.date, now_ms)?;
    let expected = signature(request, &auth, amz_date, &credentials.secret);
    if !constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err(invalid_signature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        ));
    }
    Ok(auth.region.to_string())
}

fn invalid_signature(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidSignatureException", message)
}

fn incomplete(message: String) -> ApiError {
    ApiError::new("IncompleteSignatureException", message)
}

/// Splits an `Authorization` header into its parts.
pub fn parse_authorization(header: &str) -> Result<Authorization<'_>, ApiError> {
    let rest = header
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(' '))
        .ok_or_else(|| {
            incomplete(format!(
                "Unsupported authorization type: only {ALGORITHM} is accepted. Authorization={header}"
            ))
        })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |name: &str| {
        incomplete(format!(
            "Authorization header requires '{name}' parameter. Authorization={header}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope[..] else {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region, service and date, as \
             KEY/YYYYMMDD/REGION/SERVICE/aws4_request: {credential}"
        )));
    };
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

/// Checks `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`) against the scope's date and the server's clock.
fn check_date(amz_date: &str, scope_date: &str, now_ms: i64) -> Result<(), ApiError> {
    let parsed = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| incomplete(format!("Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601")))?;
    if !amz_date.starts_with(scope_date) || scope_date.len() != 8 {
        return Err(invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{scope_date}' != '{}', from '{amz_date}'.",
            amz_date.get(..8).unwrap_or(amz_date)
        )));
    }
    let request_ms = parsed.and_utc().timestamp_millis();
    let format = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
            .unwrap_or_default()
    };
    if request_ms < now_ms - MAX_SKEW_MS {
        return Err(invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            format(now_ms - MAX_SKEW_MS),
            format(now_ms)
        )));
    }
    if request_ms > now_ms + MAX_SKEW_MS {
        return Err(invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            format(now_ms + MAX_SKEW_MS),
            format(now_ms)
        )));
    }
    Ok(())
}

/// The hex signature of `request` under `secret`, for the scope and signed headers in `auth`.
pub fn signature(
    request: &Request,
    auth: &Authorization<'_>,
    amz_date: &str,
    secret: &str,
) -> String {
    let canonical = canonical_request(request, &auth.signed_headers);
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    for part in [auth.region, auth.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    hex(&hmac(&key, string_to_sign.as_bytes()))
}

/// The canonical request: method, URI, query, headers, signed header names, payload hash.
pub fn canonical_request(request: &Request, signed_headers: &[&str]) -> String {
    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        headers.push_str(&name.to_ascii_lowercase());
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    let payload = match request.header("x-amz-content-sha256") {
        Some(hash) => hash.to_string(),
        None => hex(&Sha256::digest(&request.body)),
    };
    format!(
        "{}\n{}\n{}\n{headers}\n{}\n{payload}",
        request.method,
        canonical_uri(request.path()),
        canonical_query(request.query()),
        signed_headers.join(";")
    )
}

/// The path with `.` and `..` segments removed, URI-encoded again (as botocore signs it).
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let joined = segments.join("/");
    let joined = if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    };
    uri_encode(joined.as_bytes(), false)
}

/// Query parameters decoded, encoded the canonical way and sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), true),
                uri_encode(&percent_decode(v), true),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 encoding: unreserved characters stay, `/` stays unless `encode_slash`.
fn uri_encode(bytes: &[u8], encode_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (b == b'/' && !encode_slash) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_byte = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex_byte) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
