//! A minimal HTTP/1.1 server on a std `TcpListener`: one thread per
//! connection, `Content-Length` bodies, `Connection: close`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// Query pairs in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Header names (lower-case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// How the server writes a response.
pub enum Body {
    /// The whole body at once.
    Full(Arc<Vec<u8>>),
    /// The body in pieces with a pause before each.
    Slow(Arc<Vec<u8>>, usize, Duration),
    /// Announce `Content-Length` of the whole body but close after this many bytes.
    CutOff(Arc<Vec<u8>>, usize),
}

/// A response.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// How the body is written.
    pub body: Body,
    /// Wait this long before writing anything.
    pub delay: Duration,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Response {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            body: Body::Full(Arc::new(value.to_string().into_bytes())),
            delay: Duration::ZERO,
        }
    }

    /// A raw response.
    pub fn raw(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self::shared(status, content_type, Arc::new(body))
    }

    /// A raw response of a body that is not copied (an artifact).
    pub fn shared(status: u16, content_type: &'static str, body: Arc<Vec<u8>>) -> Self {
        Response { status, headers: Vec::new(), content_type, body: Body::Full(body), delay: Duration::ZERO }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Percent-decodes a query component (`+` is a space).
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length.min(16 << 20)];
    reader.read_exact(&mut body)?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q),
        None => (target.clone(), ""),
    };
    let query = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect();
    Ok(Some(Request { method, path, query, headers, body }))
}

fn write_response(stream: &mut TcpStream, response: Response) -> std::io::Result<()> {
    std::thread::sleep(response.delay);
    let total = match &response.body {
        Body::Full(b) | Body::Slow(b, _, _) | Body::CutOff(b, _) => b.len(),
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {total}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.content_type
    );
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    match response.body {
        Body::Full(b) => stream.write_all(b.as_slice())?,
        Body::Slow(b, pieces, pause) => {
            let size = b.len().div_ceil(pieces.max(1)).max(1);
            for chunk in b.chunks(size) {
                std::thread::sleep(pause);
                stream.write_all(chunk)?;
                stream.flush()?;
            }
        }
        Body::CutOff(b, keep) => {
            stream.write_all(&b[..keep.min(b.len())])?;
            stream.flush()?;
            stream.shutdown(std::net::Shutdown::Both)?;
        }
    }
    stream.flush()
}

/// A running server; stops when dropped.
pub struct Server {
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Serves `handler` on 127.0.0.1 at an ephemeral port (or `port`).
    pub fn start(port: u16, handler: Arc<dyn Fn(Request) -> Response + Send + Sync>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        std::thread::Builder::new().name("emulator-accept".into()).spawn(move || {
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    if let Ok(Some(request)) = read_request(&mut stream) {
                        let response = handler(request);
                        let _ = write_response(&mut stream, response);
                    }
                });
            }
        })?;
        Ok(Server { addr, stop })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_query_components() {
        assert_eq!(super::decode("feature%2Fx+y"), "feature/x y");
        assert_eq!(super::decode("%zz%"), "%zz%");
        assert_eq!(super::decode("%é1"), "%é1");
    }
}
