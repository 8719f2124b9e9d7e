//! The component's [`Transport`]: one small client on the `wasi:http`
//! bindings that `waki` exports, for every method.
//!
//! It sends `Content-Length` with a body, treats a stream closed after a
//! complete write as sent (waki 0.5.1's own client reports that as a failure,
//! so a retried POST could start a second dbt run), and reads bodies itself:
//! `waki::Response::chunk` turns a stream failure into text, whereas the raw
//! stream's error gives back its `wasi:http` error code, so a timeout keeps
//! its phase. Every failure is classified from the [`ErrorCode`] variant.

use std::time::Duration;

use waki::bindings::wasi::http::outgoing_handler;
use waki::bindings::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme, http_error_code,
};
use waki::bindings::wasi::io::streams::{InputStream, StreamError};

use crate::http::{self, ChunkReader, Phase, Request, Response, Started, Transport, TransportError};

/// How long the plugin waits for a connection; the host may shorten it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes asked for per read of a response body.
const READ_CHUNK: u64 = 64 * 1024;
/// What a body failure without an error code means.
const UNKNOWN_BODY_FAILURE: &str = "the connection failed, or no data came within the host's between-bytes timeout";
/// Bytes written per write of a request body.
const WRITE_CHUNK: usize = 4096;

/// Outbound HTTP over `wasi:http`.
pub struct WasiTransport;

impl Transport for WasiTransport {
    fn send(&self, request: Request) -> Result<Response, TransportError> {
        wait(begin(&request)?)
    }

    fn start<'a>(&'a self, request: Request) -> Started<'a> {
        let begun = begin(&request);
        Box::new(move || wait(begun?))
    }
}

/// Hands the request to the host and sends its body; the response is waited for by [`wait`].
fn begin(request: &Request) -> Result<FutureIncomingResponse, TransportError> {
    let outgoing = outgoing_request(request)?;
    let outgoing_body = outgoing.body().map_err(|_| invalid("body"))?;
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT.as_nanos() as u64));
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(|c| classify(&c, Phase::Connect))?;
    if let Some(body) = &request.body {
        write_body(&outgoing_body, body)?;
    }
    OutgoingBody::finish(outgoing_body, None).map_err(|c| classify(&c, Phase::FirstByte))?;
    Ok(future)
}

/// Waits for the head of a response the host is fetching.
fn wait(future: FutureIncomingResponse) -> Result<Response, TransportError> {
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(incoming))) => read_head(incoming),
        Some(Ok(Err(code))) => Err(classify(&code, Phase::FirstByte)),
        Some(Err(())) | None => {
            Err(TransportError::BrokenOff { phase: Phase::FirstByte, detail: "the response was lost".into() })
        }
    }
}

fn invalid(what: &str) -> TransportError {
    TransportError::Other(format!("the request's {what} was refused by the HTTP implementation"))
}

fn outgoing_request(request: &Request) -> Result<OutgoingRequest, TransportError> {
    let url = url::Url::parse(&request.url).map_err(|e| TransportError::Other(format!("bad URL: {e}")))?;
    let headers = Fields::new();
    let length = request.body.as_ref().map(|b| ("content-length", b.len().to_string()));
    for (name, value) in request.headers.iter().map(|(n, v)| (*n, v.clone())).chain(length) {
        headers.append(&name.to_string(), &value.into_bytes()).map_err(|_| invalid(&format!("header `{name}`")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        http::Method::Get => Method::Get,
        http::Method::Post => Method::Post,
    };
    let scheme = if url.scheme() == "http" { Scheme::Http } else { Scheme::Https };
    let host = url.host_str().unwrap_or_default();
    let authority = url.port().map_or_else(|| host.to_string(), |p| format!("{host}:{p}"));
    let path = url.query().map_or_else(|| url.path().to_string(), |q| format!("{}?{q}", url.path()));
    outgoing.set_method(&method).map_err(|_| invalid("method"))?;
    outgoing.set_scheme(Some(&scheme)).map_err(|_| invalid("scheme"))?;
    outgoing.set_authority(Some(&authority)).map_err(|_| invalid("authority"))?;
    outgoing.set_path_with_query(Some(&path)).map_err(|_| invalid("path"))?;
    Ok(outgoing)
}

/// Writes a request body. The server may close the stream once it has read
/// what it wants: the request is then out, not failed.
fn write_body(outgoing_body: &OutgoingBody, body: &[u8]) -> Result<(), TransportError> {
    let stream = outgoing_body.write().map_err(|_| invalid("body stream"))?;
    for chunk in body.chunks(WRITE_CHUNK) {
        match stream.blocking_write_and_flush(chunk) {
            Ok(()) => {}
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(match http_error_code(&e) {
                    Some(code) => classify(&code, Phase::FirstByte),
                    None => TransportError::BrokenOff {
                        phase: Phase::FirstByte,
                        detail: "the request body could not be sent whole".into(),
                    },
                });
            }
        }
    }
    Ok(())
}

fn read_head(incoming: IncomingResponse) -> Result<Response, TransportError> {
    let status = incoming.status();
    let headers = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let body = incoming.consume().map_err(|_| invalid("response body"))?;
    let stream = body.stream().map_err(|_| invalid("response body stream"))?;
    let mut source = BodyStream { stream, _body: body };
    Ok(Response { status, headers, body: Box::new(ChunkReader::new(move || source.next_chunk())) })
}

/// An incoming body's stream. The stream is a child of the body: it is
/// declared first, so that it is dropped first.
struct BodyStream {
    stream: InputStream,
    _body: IncomingBody,
}

impl BodyStream {
    fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        match self.stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => Ok(Some(chunk)),
            Err(StreamError::Closed) => Ok(None),
            // wasmtime 48 keeps its own error type in a body stream's error, so
            // `http-error-code` finds no code there: the phase is all we know.
            // The host's debug text is not passed on (it can hold a backtrace).
            Err(StreamError::LastOperationFailed(e)) => Err(match http_error_code(&e) {
                Some(code) => classify(&code, Phase::BetweenBytes),
                None => TransportError::BrokenOff { phase: Phase::BetweenBytes, detail: UNKNOWN_BODY_FAILURE.into() },
            }
            .into_io()),
        }
    }
}

/// Sorts a `wasi:http` error code that arrived in `phase` into what the client
/// needs to know, with a description for people.
fn classify(code: &ErrorCode, phase: Phase) -> TransportError {
    use ErrorCode as C;
    let unreachable = |what: &str| TransportError::Unreachable(what.to_string());
    let broken = |what: &str| TransportError::BrokenOff { phase, detail: what.to_string() };
    match code {
        C::HttpRequestDenied => TransportError::Denied,
        C::DnsTimeout | C::ConnectionTimeout => TransportError::Timeout(Phase::Connect),
        C::ConnectionReadTimeout | C::ConnectionWriteTimeout | C::HttpResponseTimeout => TransportError::Timeout(phase),
        C::DnsError(payload) => TransportError::Unreachable(format!(
            "the host name could not be resolved{}",
            payload.rcode.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
        )),
        C::DestinationNotFound => unreachable("the host was not found"),
        C::DestinationUnavailable => unreachable("the host is unavailable"),
        C::DestinationIpProhibited => unreachable("the host's address is prohibited"),
        C::DestinationIpUnroutable => unreachable("the host's address cannot be routed"),
        C::ConnectionRefused => unreachable("the connection was refused"),
        C::ConnectionLimitReached => unreachable("too many connections are open"),
        C::TlsProtocolError => unreachable("the TLS handshake failed"),
        C::TlsCertificateError => unreachable("the server's TLS certificate was not accepted"),
        C::TlsAlertReceived(alert) => TransportError::Unreachable(format!(
            "the server ended the TLS handshake{}",
            alert.alert_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
        )),
        C::ConnectionTerminated => broken("the connection was closed"),
        C::HttpResponseIncomplete => broken("the response ended early"),
        C::HttpProtocolError => broken("the server broke the HTTP protocol"),
        C::HttpResponseBodySize(_) => TransportError::ResponseTooLarge,
        C::InternalError(detail) => TransportError::Other(format!(
            "internal error{}",
            detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
        )),
        C::HttpRequestMethodInvalid
        | C::HttpRequestLengthRequired
        | C::HttpRequestUriInvalid
        | C::HttpRequestUriTooLong
        | C::HttpRequestHeaderSectionSize(_)
        | C::HttpRequestHeaderSize(_)
        | C::HttpRequestBodySize(_)
        | C::HttpRequestTrailerSectionSize(_)
        | C::HttpRequestTrailerSize(_) => {
            TransportError::Other("the request was refused as malformed or too large".into())
        }
        C::HttpResponseHeaderSectionSize(_)
        | C::HttpResponseHeaderSize(_)
        | C::HttpResponseTrailerSectionSize(_)
        | C::HttpResponseTrailerSize(_)
        | C::HttpResponseTransferCoding(_)
        | C::HttpResponseContentCoding(_) => broken("the response's headers or encoding were refused"),
        C::HttpUpgradeFailed | C::LoopDetected | C::ConfigurationError => {
            TransportError::Other("the HTTP implementation refused the exchange".into())
        }
    }
}
