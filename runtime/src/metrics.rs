//! Counters per node (records and bytes in and out, errors, late records, bytes buffered), the
//! summary `kin run` prints at the end, and a Prometheus `/metrics` endpoint.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

/// One node's counters, shared between the thread that runs it and the readers.
#[derive(Debug, Default)]
pub struct Counters {
    pub records_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub records_out: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Records written to an error output (schema mismatch, too large, undeliverable).
    pub errors: AtomicU64,
    /// Records that arrived after their windows closed (analytics).
    pub late: AtomicU64,
    /// Bytes waiting in buffers (firehoses): a gauge.
    pub buffered_bytes: AtomicU64,
}

impl Counters {
    pub fn add_in(&self, records: u64, bytes: u64) {
        self.records_in.fetch_add(records, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_out(&self, records: u64, bytes: u64) {
        self.records_out.fetch_add(records, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_errors(&self, records: u64) {
        self.errors.fetch_add(records, Ordering::Relaxed);
    }

    pub fn add_late(&self, records: u64) {
        self.late.fetch_add(records, Ordering::Relaxed);
    }

    pub fn set_buffered(&self, bytes: u64) {
        self.buffered_bytes.store(bytes, Ordering::Relaxed);
    }

    fn values(&self) -> [(&'static str, &'static str, u64); 7] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            ("records_in_total", "counter", get(&self.records_in)),
            ("bytes_in_total", "counter", get(&self.bytes_in)),
            ("records_out_total", "counter", get(&self.records_out)),
            ("bytes_out_total", "counter", get(&self.bytes_out)),
            ("errors_total", "counter", get(&self.errors)),
            ("late_records_total", "counter", get(&self.late)),
            ("buffered_bytes", "gauge", get(&self.buffered_bytes)),
        ]
    }
}

/// Every node's counters, in the order the nodes were registered.
#[derive(Debug, Default)]
pub struct Registry {
    nodes: Vec<(&'static str, String, Arc<Counters>)>,
}

impl Registry {
    /// Registers a node (`kind` is `producer`, `stream`, `analytics` or `firehose`).
    pub fn node(&mut self, kind: &'static str, name: &str) -> Arc<Counters> {
        let counters = Arc::new(Counters::default());
        self.nodes.push((kind, name.to_string(), counters.clone()));
        counters
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Counters>> {
        self.nodes
            .iter()
            .find(|(_, n, _)| n == name)
            .map(|(_, _, c)| c)
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let names = Counters::default()
            .values()
            .map(|(name, kind, _)| (name, kind));
        for (index, (metric, kind)) in names.iter().enumerate() {
            let _ = writeln!(out, "# TYPE kin_{metric} {kind}");
            for (node_kind, node, counters) in &self.nodes {
                let value = counters.values()[index].2;
                let _ = writeln!(
                    out,
                    "kin_{metric}{{kind=\"{node_kind}\",node=\"{node}\"}} {value}"
                );
            }
        }
        out
    }

    /// A table of every node's counters for people.
    pub fn summary(&self) -> String {
        let width = self
            .nodes
            .iter()
            .map(|(_, n, _)| n.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "{:<10} {:<width$} {:>12} {:>12} {:>12} {:>12} {:>8} {:>8}\n",
            "kind", "node", "records in", "bytes in", "records out", "bytes out", "errors", "late"
        );
        for (kind, name, c) in &self.nodes {
            let v = c.values();
            let _ = writeln!(
                out,
                "{kind:<10} {name:<width$} {:>12} {:>12} {:>12} {:>12} {:>8} {:>8}",
                v[0].2, v[1].2, v[2].2, v[3].2, v[4].2, v[5].2
            );
        }
        out
    }
}

/// Serves `GET /metrics` on `addr` from a background thread.
pub fn serve(addr: SocketAddr, registry: Arc<Registry>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    thread::Builder::new()
        .name("kin-metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &registry);
            }
        })?;
    Ok(bound)
}

fn answer(stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read the headers to their end so the client sees a clean response.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = if request_line.starts_with("GET ") && path == "/metrics" {
        ("200 OK", registry.prometheus())
    } else {
        (
            "404 Not Found",
            "only GET /metrics is served here\n".to_string(),
        )
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn metrics_endpoint_serves_prometheus_text() {
        let mut registry = Registry::default();
        let clicks = registry.node("stream", "clicks");
        clicks.add_in(3, 300);
        registry.node("firehose", "archive").add_errors(1);
        let addr = serve("127.0.0.1:0".parse().expect("addr"), Arc::new(registry)).expect("bind");
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.contains("# TYPE kin_records_in_total counter"));
        assert!(response.contains("kin_records_in_total{kind=\"stream\",node=\"clicks\"} 3\n"));
        assert!(response.contains("kin_bytes_in_total{kind=\"stream\",node=\"clicks\"} 300\n"));
        assert!(response.contains("kin_errors_total{kind=\"firehose\",node=\"archive\"} 1\n"));
    }

    #[test]
    fn other_paths_are_not_found() {
        let addr = serve("127.0.0.1:0".parse().expect("addr"), Arc::default()).expect("bind");
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    }
}
