//! The small HTTP seam the API client talks through: requests, streamed
//! responses, and typed transport failures that keep the phase in which a
//! request failed. The component implements [`Transport`] over `wasi:http`;
//! native tests implement it with a scripted fake.

use std::fmt;
use std::io::Read;

use crate::error::Error;

/// An HTTP method the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET: idempotent, retried on transient failures.
    Get,
    /// POST: never retried blindly, since it may start a dbt Cloud run.
    Post,
}

/// An outgoing request.
#[derive(Debug)]
pub struct Request {
    /// GET or POST.
    pub method: Method,
    /// The absolute URL, query included.
    pub url: String,
    /// Header names and values. The `Authorization` value is secret.
    pub headers: Vec<(&'static str, String)>,
    /// The body, sent with `Content-Length`; none for GET.
    pub body: Option<Vec<u8>>,
}

/// A response whose body is read as a stream.
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lower-case) and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body. A transport failure while reading it is an `io::Error`
    /// wrapping a [`TransportError`] (see [`TransportError::from_io`]).
    pub body: Box<dyn Read>,
}

impl Response {
    /// The first value of a header, by case-insensitive name.
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

/// Where in an exchange a request failed; timeouts keep it, since each
/// phase has its own limit in the host's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Resolving the host and opening the connection (TLS included).
    Connect,
    /// Waiting for the response head after the request was sent.
    FirstByte,
    /// Reading the response body.
    BetweenBytes,
}

impl Phase {
    /// How a person would say which limit passed.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Connect => "no connection could be opened in time (connect timeout)",
            Phase::FirstByte => "no response came in time (first-byte timeout)",
            Phase::BetweenBytes => "the response stopped arriving (between-bytes timeout)",
        }
    }
}

/// Why a request got no (complete) response, sorted from the `wasi:http`
/// error code and the phase it arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The host's sandbox policy refused the destination; nothing was sent.
    Denied,
    /// A host limit on one phase passed.
    Timeout(Phase),
    /// The server could not be reached: DNS, connection refused, TLS. Nothing
    /// reached it. The text says which, for people.
    Unreachable(String),
    /// The connection broke during `phase`: the request may have reached the
    /// server (for a POST, it may have acted on it).
    BrokenOff {
        /// When it broke.
        phase: Phase,
        /// What the transport said, for people.
        detail: String,
    },
    /// The host's cap on response bytes was reached.
    ResponseTooLarge,
    /// The request could not be built or the transport failed otherwise.
    Other(String),
}

impl TransportError {
    /// Whether the server may have received the request, so that repeating a
    /// non-idempotent one could act twice.
    pub fn may_have_arrived(&self) -> bool {
        match self {
            TransportError::Denied | TransportError::Unreachable(_) | TransportError::Timeout(Phase::Connect) => false,
            TransportError::Timeout(_)
            | TransportError::BrokenOff { .. }
            | TransportError::ResponseTooLarge
            | TransportError::Other(_) => true,
        }
    }

    /// Whether repeating an idempotent request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, TransportError::Timeout(_) | TransportError::Unreachable(_) | TransportError::BrokenOff { .. })
    }

    /// The error a user sees for `what` (e.g. "manifest.json of run 12")
    /// sent to `origin`.
    pub fn to_error(&self, what: &str, origin: &str) -> Error {
        match self {
            TransportError::Denied => Error::NetworkDenied(format!(
                "{what}: the host's sandbox policy does not allow requests to {origin}; allow this host in the plugin's network policy"
            )),
            TransportError::Timeout(phase) => Error::Timeout(format!("{what}: {origin}: {}", phase.describe())),
            TransportError::Unreachable(detail) => Error::Network(format!(
                "{what}: could not reach {origin} ({detail}); check the access URL and the network"
            )),
            TransportError::BrokenOff { phase: Phase::BetweenBytes, detail } => {
                Error::Network(format!("{what}: the download from {origin} broke off ({detail})"))
            }
            TransportError::BrokenOff { detail, .. } => {
                Error::Network(format!("{what}: the request to {origin} broke off ({detail})"))
            }
            TransportError::ResponseTooLarge => {
                Error::Network(format!("{what}: the response from {origin} exceeds the host's limit on response bytes"))
            }
            TransportError::Other(detail) => Error::Network(format!("{what}: request to {origin} failed ({detail})")),
        }
    }

    /// The user's error for a failed body read of `what`: the transport's own
    /// when the `io::Error` carries one, else a network error.
    pub fn of_io(e: &std::io::Error, what: &str, origin: &str) -> Error {
        match TransportError::from_io(e) {
            Some(t) => t.to_error(what, origin),
            None => Error::Network(format!("{what}: reading the response from {origin} failed: {e}")),
        }
    }

    /// Wraps the error for a body reader's `io::Error`.
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }

    /// The transport error inside an `io::Error` made by [`Self::into_io`].
    pub fn from_io(e: &std::io::Error) -> Option<&TransportError> {
        e.get_ref()?.downcast_ref::<TransportError>()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Denied => f.write_str("denied by the sandbox policy"),
            TransportError::Timeout(phase) => f.write_str(phase.describe()),
            TransportError::Unreachable(d) | TransportError::Other(d) => f.write_str(d),
            TransportError::BrokenOff { detail, .. } => write!(f, "broke off: {detail}"),
            TransportError::ResponseTooLarge => f.write_str("the response exceeds the host's limit"),
        }
    }
}

impl std::error::Error for TransportError {}

/// A request started by [`Transport::start`]: calling it waits for the response head.
pub type Started<'a> = Box<dyn FnOnce() -> Result<Response, TransportError> + 'a>;

/// Sends requests. Implementations must not follow redirects.
pub trait Transport {
    /// Sends one request and returns the response head with a streaming body.
    fn send(&self, request: Request) -> Result<Response, TransportError>;

    /// Starts a request and returns at once, so that several are in flight
    /// together (`wasi:http` lets one component wait on many responses); the
    /// returned function waits for this one's head. A transport that cannot
    /// overlap requests sends it when waited for (the default).
    fn start<'a>(&'a self, request: Request) -> Started<'a> {
        Box::new(move || self.send(request))
    }
}

/// A `Read` over a source that yields chunks (an HTTP body stream, the parts
/// of a stored value): keeps the current chunk and serves reads from it.
pub struct ChunkReader<F> {
    next: F,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> ChunkReader<F> {
    /// A reader that calls `next` for the following chunk; `Ok(None)` ends it.
    pub fn new(next: F) -> Self {
        ChunkReader { next, chunk: Vec::new(), at: 0, done: false }
    }
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> Read for ChunkReader<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            match (self.next)()? {
                Some(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                None => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chunk_reader_joins_chunks_and_skips_empty_ones() {
        let mut chunks = vec![b"ab".to_vec(), Vec::new(), b"cde".to_vec()].into_iter();
        let mut reader = ChunkReader::new(move || Ok(chunks.next()));
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "abcde");
        assert_eq!(reader.read(&mut [0; 4]).unwrap(), 0, "stays at the end");
    }

    #[test]
    fn a_transport_error_survives_an_io_error_and_keeps_its_phase() {
        let mut failing = ChunkReader::new(|| Err(TransportError::Timeout(Phase::BetweenBytes).into_io()));
        let e = failing.read(&mut [0; 4]).unwrap_err();
        assert_eq!(TransportError::from_io(&e), Some(&TransportError::Timeout(Phase::BetweenBytes)));
        let error = TransportError::Timeout(Phase::BetweenBytes).to_error("manifest.json of run 1", "https://x");
        assert_eq!(error.kind(), "timeout");
        assert!(error.message().contains("between-bytes"), "{error}");
        assert!(!TransportError::Timeout(Phase::Connect).may_have_arrived());
        assert!(TransportError::Timeout(Phase::FirstByte).may_have_arrived());
        assert!(!TransportError::Denied.is_transient());
    }
}
