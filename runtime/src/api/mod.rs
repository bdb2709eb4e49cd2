//! `--api ADDR`: the Kinesis Data Streams and Firehose APIs (JSON 1.1 over HTTP/1.1) served for
//! the pipeline's own streams and delivery streams, so unmodified AWS SDKs, the AWS CLI and the
//! KPL can put records into a local run and read them back.
//!
//! Code map: [`http`] reads requests and writes answers; [`sigv4`] checks signatures
//! (`--api-credentials`); [`kinesis`] and [`firehose`] implement the operations; [`kpl`]
//! de-aggregates KPL records; [`iterator`] seals shard iterators; [`limits`] emulates the
//! per-shard quotas (`--enforce-limits`); [`error`] is AWS's error shape; [`json`] reads
//! request members. [`server`] accepts connections, one thread each.
//!
//! The server holds every stream open as one of its writers and every Direct PUT firehose's
//! channel, until the run stops (`--duration` or Ctrl-C); then it lets go of them, so the
//! pipeline drains and flushes as it does when producers finish.

pub mod error;
pub mod firehose;
pub mod http;
pub mod iterator;
pub mod json;
pub mod kinesis;
pub mod kpl;
pub mod limits;
pub mod server;
pub mod sigv4;
mod state;

use std::net::{SocketAddr, ToSocketAddrs};

pub use server::{serve, ApiServer};
pub use sigv4::Credentials;
pub use state::{firehose_endpoints, FirehoseEndpoint, StreamEndpoint};
pub(crate) use state::{ApiState, Ctx};

/// What `--api`, `--api-credentials` and `--enforce-limits` ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiOptions {
    pub addr: SocketAddr,
    /// When set, every request must be signed (SigV4) with this key.
    pub credentials: Option<Credentials>,
    /// Emulate the per-shard write and read quotas.
    pub enforce_limits: bool,
}

impl ApiOptions {
    /// Checks the flags together: a non-loopback address needs credentials.
    pub fn new(
        addr: &str,
        credentials: Option<&str>,
        enforce_limits: bool,
    ) -> Result<ApiOptions, String> {
        let addr = parse_addr(addr)?;
        let credentials = credentials.map(Credentials::parse).transpose()?;
        if !addr.ip().is_loopback() && credentials.is_none() {
            return Err(format!(
                "--api {addr} would let any host on the network put records without signing: \
                 give --api-credentials KEY:SECRET, or bind a loopback address (127.0.0.1)"
            ));
        }
        Ok(ApiOptions {
            addr,
            credentials,
            enforce_limits,
        })
    }
}

/// `PORT` (on 127.0.0.1), `HOST:PORT` or `[V6]:PORT`.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let help = || format!("--api {text}: write PORT or HOST:PORT, e.g. 127.0.0.1:4567");
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.to_socket_addrs()
        .map_err(|e| format!("{}: {e}", help()))?
        .next()
        .ok_or_else(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_alone_binds_loopback() {
        let options = ApiOptions::new("4567", None, false).expect("valid");
        assert_eq!(options.addr, "127.0.0.1:4567".parse().expect("addr"));
        assert!(ApiOptions::new("[::1]:4567", None, true).is_ok());
        assert!(ApiOptions::new("localhost:4567", None, false).is_ok());
    }

    #[test]
    fn other_addresses_need_credentials() {
        let error = ApiOptions::new("0.0.0.0:4567", None, false).expect_err("refused");
        assert!(error.contains("--api-credentials"), "{error}");
        let options = ApiOptions::new("0.0.0.0:4567", Some("AKID:SECRET"), false).expect("ok");
        assert_eq!(
            options.credentials.map(|c| c.access_key),
            Some("AKID".to_string())
        );
        assert!(ApiOptions::new("4567", Some("nocolon"), false).is_err());
        assert!(ApiOptions::new("not an address", None, false).is_err());
        assert!(ApiOptions::new("99999", None, false).is_err());
    }
}

#[cfg(test)]
mod testing;
