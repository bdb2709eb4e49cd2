//! The API's server: a listener thread that accepts connections (a thread each, keep-alive),
//! and the handling of one request — target, signature, body, operation, answer.

use std::io::BufReader;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::Value;

use super::error::ApiError;
use super::http::{self, ReadError, Request};
use super::json::{parse_body, Input};
use super::state::{FirehoseEndpoint, StreamEndpoint};
use super::{firehose, kinesis, sigv4, ApiOptions, ApiState, Ctx};
use crate::producer::now_ms;

/// Connections served at once; more are answered 503 and closed.
const MAX_CONNECTIONS: usize = 256;
/// An idle keep-alive connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the listener looks at the stop flags.
const POLL: Duration = Duration::from_millis(20);
/// The region ARNs name when a request is not signed.
const DEFAULT_REGION: &str = "us-east-1";

/// The running server; dropping it stops it and releases the streams and firehoses.
pub struct ApiServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl ApiServer {
    /// The address it listens on (with the port chosen, if 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// True until the run's stop flag is seen and the streams are released.
    pub fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// Binds `options.addr` and serves `streams` and `firehoses` until `run_stop` is set.
pub fn serve(
    options: &ApiOptions,
    streams: Vec<StreamEndpoint>,
    firehoses: Vec<FirehoseEndpoint>,
    run_stop: Arc<AtomicBool>,
) -> Result<ApiServer, String> {
    let listener = TcpListener::bind(options.addr).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let state = Arc::new(ApiState::new(
        streams,
        firehoses,
        options.credentials.clone(),
        options.enforce_limits,
        now_ms(),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let own_stop = stop.clone();
    let handle = thread::Builder::new()
        .name("api".to_string())
        .spawn(move || accept_loop(listener, state, run_stop, own_stop))
        .map_err(|e| format!("cannot start the API thread: {e}"))?;
    Ok(ApiServer {
        addr,
        stop,
        handle: Some(handle),
    })
}

fn accept_loop(
    listener: TcpListener,
    state: Arc<ApiState>,
    run_stop: Arc<AtomicBool>,
    own_stop: Arc<AtomicBool>,
) {
    let open = Arc::new(AtomicUsize::new(0));
    while !run_stop.load(Ordering::Relaxed) && !own_stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((connection, _)) => {
                if open.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                    open.fetch_sub(1, Ordering::AcqRel);
                    refuse(connection);
                    continue;
                }
                let (state, still_open) = (state.clone(), open.clone());
                let spawned = thread::Builder::new()
                    .name("api-connection".to_string())
                    .spawn(move || {
                        serve_connection(&state, connection);
                        still_open.fetch_sub(1, Ordering::AcqRel);
                    });
                if spawned.is_err() {
                    open.fetch_sub(1, Ordering::AcqRel);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(_) => thread::sleep(POLL),
        }
    }
    state.release();
}

fn refuse(mut connection: TcpStream) {
    let _ = connection.set_nonblocking(false);
    let error = ApiError::unavailable("too many connections");
    let _ = http::write_response(
        &mut connection,
        error.status,
        &error.body(),
        &request_id(),
        false,
    );
}

fn serve_connection(state: &ApiState, connection: TcpStream) {
    let _ = connection.set_nonblocking(false);
    let _ = connection.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = connection.set_nodelay(true);
    let Ok(read_half) = connection.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = connection;
    loop {
        let (status, body, keep_alive) = match http::read_request(&mut reader, &mut writer) {
            Ok(request) => {
                let (status, body) = respond(state, &request);
                (status, body, request.keep_alive)
            }
            Err(ReadError::Closed | ReadError::Io(_)) => return,
            Err(ReadError::Bad(message)) => {
                let error = ApiError::new("SerializationException", message);
                (error.status, error.body(), false)
            }
            Err(ReadError::TooLarge(size)) => {
                let error = ApiError {
                    code: "ValidationException",
                    message: format!(
                        "the request body has {size} bytes; kin accepts at most {}",
                        http::MAX_BODY_BYTES
                    ),
                    status: 413,
                };
                (error.status, error.body(), false)
            }
        };
        if http::write_response(&mut writer, status, &body, &request_id(), keep_alive).is_err()
            || !keep_alive
        {
            return;
        }
    }
}

/// The status and body answering `request`.
pub fn respond(state: &ApiState, request: &Request) -> (u16, Vec<u8>) {
    match handle(state, request) {
        Ok(value) => (200, value.to_string().into_bytes()),
        Err(error) => (error.status, error.body()),
    }
}

fn handle(state: &ApiState, request: &Request) -> Result<Value, ApiError> {
    let target = request.header("x-amz-target").unwrap_or_default();
    let (service, operation) = match target.split_once('.') {
        Some((kinesis::TARGET_PREFIX, op)) => ("kinesis", op),
        Some((firehose::TARGET_PREFIX, op)) => ("firehose", op),
        _ => {
            return Err(ApiError::new(
                "UnknownOperationException",
                format!(
                    "kin run serves Kinesis ({}.*) and Firehose ({}.*) operations in the \
                     X-Amz-Target header; this request has {target:?}",
                    kinesis::TARGET_PREFIX,
                    firehose::TARGET_PREFIX
                ),
            ))
        }
    };
    let now = now_ms();
    let region = match &state.credentials {
        Some(credentials) => sigv4::verify(request, credentials, service, now)?,
        None => unsigned_region(request),
    };
    let body = parse_body(&request.body)?;
    let input = Input::new(&body, "body")?;
    let ctx = Ctx {
        state,
        region: &region,
        now_ms: now,
    };
    if service == "kinesis" {
        kinesis::call(&ctx, operation, &input)
    } else {
        firehose::call(&ctx, operation, &input)
    }
}

/// Without `--api-credentials`, the region of the request's credential scope if it has one.
fn unsigned_region(request: &Request) -> String {
    request
        .header("authorization")
        .and_then(|h| sigv4::parse_authorization(h).ok())
        .map_or(DEFAULT_REGION.to_string(), |auth| auth.region.to_string())
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
