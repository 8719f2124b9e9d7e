//! The [`Transport`] of the component: GETs through `waki`, streaming the body;
//! requests with a body through a small client on the raw `wasi:http` bindings,
//! which sends `Content-Length` and does not mistake a closed stream after a
//! complete write for a failure (waki 0.5.1 does, so a retried POST could start
//! a second dbt run).

use std::io::Read;
use std::time::Duration;

use crate::component::wasi::http::outgoing_handler;
use crate::component::wasi::http::types::{
    Fields, IncomingBody, IncomingResponse, InputStream, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use crate::component::wasi::io::streams::StreamError;
use crate::http::{self, Request, Response, Transport, TransportError};

/// How long the plugin waits for a connection; the host may shorten it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes asked for per read of a response body.
const READ_CHUNK: u64 = 64 * 1024;

/// Outbound HTTP over `wasi:http`.
pub struct WasiTransport;

/// Sorts a wasi:http error code (of either binding, by its debug name) into
/// what the client needs to know.
fn classify(debug: String) -> TransportError {
    if debug.contains("HttpRequestDenied") {
        TransportError::Denied(debug)
    } else if debug.contains("Timeout") {
        TransportError::Timeout(debug)
    } else if debug.contains("Dns") || debug.contains("Connection") || debug.contains("Tls") {
        TransportError::Connect(debug)
    } else {
        TransportError::Other(debug)
    }
}

impl Transport for WasiTransport {
    fn send(&self, request: Request) -> Result<Response, TransportError> {
        match request.method {
            http::Method::Get if request.body.is_none() => send_get(request),
            _ => send_raw(request),
        }
    }
}

fn send_get(request: Request) -> Result<Response, TransportError> {
    let mut builder = waki::Client::new().get(&request.url).connect_timeout(CONNECT_TIMEOUT);
    for (name, value) in &request.headers {
        builder = builder.header(*name, value.as_str());
    }
    let response = builder.send().map_err(|e| match e.downcast_ref::<waki::ErrorCode>() {
        Some(code) => classify(format!("{code:?}")),
        None => TransportError::Other(e.to_string()),
    })?;
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    Ok(Response {
        status: response.status_code(),
        headers,
        body: Box::new(WakiBody { response, pending: Vec::new(), at: 0 }),
    })
}

/// A waki response body as a [`Read`].
struct WakiBody {
    response: waki::Response,
    pending: Vec<u8>,
    at: usize,
}

impl Read for WakiBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.pending.len() {
            match self.response.chunk(READ_CHUNK) {
                Ok(Some(chunk)) => {
                    self.pending = chunk;
                    self.at = 0;
                }
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn send_raw(request: Request) -> Result<Response, TransportError> {
    let url = url::Url::parse(&request.url).map_err(|e| TransportError::Other(format!("bad URL: {e}")))?;
    let headers = Fields::new();
    let body = request.body.unwrap_or_default();
    let mut all: Vec<(String, String)> = request.headers.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    all.push(("content-length".into(), body.len().to_string()));
    for (name, value) in &all {
        headers
            .append(name, value.as_bytes())
            .map_err(|e| TransportError::Other(format!("header {name} refused: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        http::Method::Get => Method::Get,
        http::Method::Post => Method::Post,
    };
    let scheme = if url.scheme() == "http" { Scheme::Http } else { Scheme::Https };
    let authority = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let invalid = |what: &str| TransportError::Other(format!("invalid request {what}"));
    outgoing.set_method(&method).map_err(|_| invalid("method"))?;
    outgoing.set_scheme(Some(&scheme)).map_err(|_| invalid("scheme"))?;
    outgoing.set_authority(Some(&authority)).map_err(|_| invalid("authority"))?;
    outgoing.set_path_with_query(Some(&path)).map_err(|_| invalid("path"))?;
    let outgoing_body = outgoing.body().map_err(|_| invalid("body"))?;
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT.as_nanos() as u64));
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(|e| classify(format!("{e:?}")))?;
    {
        let stream = outgoing_body.write().map_err(|_| invalid("body stream"))?;
        for chunk in body.chunks(4096) {
            match stream.blocking_write_and_flush(chunk) {
                Ok(()) => {}
                // The server has read what it wanted and closed: the request is out.
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(TransportError::Ambiguous(e.to_debug_string()));
                }
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing_body, None);
    future.subscribe().block();
    let incoming = match future.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(code))) => return Err(classify(format!("{code:?}"))),
        Some(Err(())) | None => {
            return Err(TransportError::Ambiguous("the response was lost".into()));
        }
    };
    read_head(incoming)
}

fn read_head(incoming: IncomingResponse) -> Result<Response, TransportError> {
    let status = incoming.status();
    let headers = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let body = incoming.consume().map_err(|_| TransportError::Other("response body unavailable".into()))?;
    let stream = body.stream().map_err(|_| TransportError::Other("response body unavailable".into()))?;
    Ok(Response {
        status,
        headers,
        body: Box::new(RawBody { stream: Some(stream), _body: body, pending: Vec::new(), at: 0 }),
    })
}

/// A raw incoming body as a [`Read`]. The stream is a child of the body and is
/// dropped first.
struct RawBody {
    stream: Option<InputStream>,
    _body: IncomingBody,
    pending: Vec<u8>,
    at: usize,
}

impl Read for RawBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.pending.len() {
            let Some(stream) = &self.stream else {
                return Ok(0);
            };
            match stream.blocking_read(READ_CHUNK) {
                Ok(chunk) => {
                    self.pending = chunk;
                    self.at = 0;
                }
                Err(StreamError::Closed) => {
                    self.stream = None;
                    return Ok(0);
                }
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(std::io::Error::other(e.to_debug_string()));
                }
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
