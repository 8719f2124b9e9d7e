//! The small HTTP interface the API client talks through. The component
//! implements it over `wasi:http` (see `wasi_transport.rs`); it keeps the client
//! testable natively.

use std::io::Read;

/// An HTTP method the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET: idempotent, retried on transient failures.
    Get,
    /// POST: never retried blindly.
    Post,
}

/// An outgoing request.
#[derive(Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Header names and values. The `Authorization` value is secret.
    pub headers: Vec<(&'static str, String)>,
    /// The body, sent with `Content-Length`.
    pub body: Option<Vec<u8>>,
}

/// A response whose body is read as a stream.
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Header names (lower-case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Box<dyn Read>,
}

impl Response {
    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Reads at most `limit` bytes of the body (for error bodies and small documents).
    pub fn read_limited(&mut self, limit: u64) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        (&mut self.body).take(limit).read_to_end(&mut out)?;
        Ok(out)
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The host's sandbox policy refused the destination.
    Denied(String),
    /// A connect, first-byte or between-bytes timeout passed.
    Timeout(String),
    /// DNS, connection refused or reset, TLS.
    Connect(String),
    /// The request may or may not have reached the server (the body write
    /// failed after the connection was made).
    Ambiguous(String),
    /// Anything else.
    Other(String),
}

/// Sends requests. Implementations must not follow redirects.
pub trait Transport {
    /// Sends one request and returns the response head with a streaming body.
    fn send(&self, request: Request) -> Result<Response, TransportError>;
}
