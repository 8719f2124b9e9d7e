//! The sandbox policy of a plugin instance, and the one hook every outbound
//! request passes through: destination allowlist, timeouts, response size cap.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::events::{Event, EventSink, MAX_LOG_LINE, Reached};
use crate::limits::Limit;
use crate::redact::Redactor;

/// A destination a plugin may reach: exact scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `https` or `http`.
    pub scheme: String,
    /// Lower-case host name or IP.
    pub host: String,
    /// Port (443 / 80 when the URL has none).
    pub port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]` (a path is ignored).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let uri: http::Uri = url.parse()?;
        let scheme = uri.scheme_str().ok_or_else(|| anyhow::anyhow!("`{url}` has no scheme"))?.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            anyhow::bail!("`{url}`: only http and https destinations exist");
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            anyhow::bail!(
                "a destination with a user name or password (`user@host`) is refused: credentials go in the token"
            );
        }
        let host = uri.host().ok_or_else(|| anyhow::anyhow!("`{url}` has no host"))?.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
        Ok(Origin { scheme, host, port })
    }

    /// The origin of a dbt Cloud access URL as a user gives it: a bare host
    /// (`ab123.us1.dbt.com`, https assumed) or any URL on it, such as one
    /// copied from the browser (its path is ignored).
    ///
    /// ```
    /// use model_sync_host::Origin;
    /// let o = Origin::from_access_url("ab123.us1.dbt.com/deploy/1/projects/2/jobs").unwrap();
    /// assert_eq!(o.to_string(), "https://ab123.us1.dbt.com:443");
    /// assert!(Origin::from_access_url("https://me:pw@ab123.us1.dbt.com").is_err(), "no userinfo");
    /// ```
    pub fn from_access_url(input: &str) -> anyhow::Result<Self> {
        let input = input.trim();
        if input.contains("://") { Self::parse(input) } else { Self::parse(&format!("https://{input}")) }
    }

    /// Whether the host is the local machine (the plugin's one definition:
    /// `localhost`, 127.0.0.0/8 or `::1`).
    pub fn is_loopback(&self) -> bool {
        model_sync_plugin::settings::is_loopback(&self.host)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// What a plugin instance may do and how much it may use.
#[derive(Debug, Clone)]
pub struct SandboxPolicy {
    /// Destinations allowed; empty allows nothing.
    pub allowed: Vec<Origin>,
    /// Whether plain http is allowed (to loopback destinations only).
    pub allow_http_loopback: bool,
    /// The cap on the sum of all the instance's linear memories, bytes.
    pub max_memory_bytes: usize,
    /// How many linear memories the component may create (it needs one).
    pub max_memories: usize,
    /// How many tables the component may create.
    pub max_tables: usize,
    /// The cap on the sum of the elements of all its tables.
    pub max_table_elements: usize,
    /// How many core instances the component may create.
    pub max_instances: usize,
    /// Host resources (fields, requests, responses, streams, pollables)
    /// alive at once; each holds host memory.
    pub max_handles: usize,
    /// The in-memory size of one set of HTTP headers the plugin builds
    /// (wasmtime's measure: names, values and their bookkeeping).
    pub max_header_bytes: usize,
    /// Outgoing HTTP requests in flight at once; more get
    /// `connection-limit-reached`.
    pub max_concurrent_requests: usize,
    /// Log lines per instance; further lines are dropped.
    pub max_log_lines: u64,
    /// Progress events per instance; further events are dropped.
    pub max_progress_events: u64,
    /// Denied requests reported per instance; further denials are still
    /// refused, without a report.
    pub max_denial_lines: u64,
    /// Wall-clock deadline of one call.
    pub call_timeout: Duration,
    /// HTTP connect timeout (the plugin may ask for less, never more).
    pub connect_timeout: Duration,
    /// Time to the response head.
    pub first_byte_timeout: Duration,
    /// Longest pause inside a response body.
    pub between_bytes_timeout: Duration,
    /// Total response body bytes per instance.
    pub max_response_bytes: u64,
    /// The most one call may copy out of the plugin into the host: a call's
    /// result, or the values of one store call. The plugin pages catalogs
    /// and batches its writes to stay far below the default of 64 MiB.
    pub max_copy_bytes: usize,
    /// The largest value the plugin may store under one key.
    pub max_value_bytes: u64,
}

impl Default for SandboxPolicy {
    fn default() -> Self {
        SandboxPolicy {
            allowed: Vec::new(),
            allow_http_loopback: false,
            max_memory_bytes: 1 << 30,
            max_memories: 1,
            max_tables: 8,
            max_table_elements: 100_000,
            max_instances: 16,
            max_handles: 2_048,
            max_header_bytes: 16 << 10,
            max_concurrent_requests: 16,
            max_log_lines: 10_000,
            max_progress_events: 10_000,
            max_denial_lines: 100,
            call_timeout: Duration::from_secs(2 * 3600),
            connect_timeout: Duration::from_secs(15),
            first_byte_timeout: Duration::from_secs(120),
            between_bytes_timeout: Duration::from_secs(60),
            max_response_bytes: 4 << 30,
            max_copy_bytes: 64 << 20,
            max_value_bytes: 16 << 20,
        }
    }
}

impl SandboxPolicy {
    /// This policy, also allowing the origin of the access URL a user
    /// configured (see [`Origin::from_access_url`]). Plain http is allowed
    /// only when that origin is on loopback, as for a local emulator.
    ///
    /// ```
    /// use model_sync_host::SandboxPolicy;
    /// let p = SandboxPolicy::default().allowing_access_url("https://ab123.us1.dbt.com").unwrap();
    /// assert_eq!(p.check(&"https://ab123.us1.dbt.com/api/v2/accounts/".parse().unwrap()), None);
    /// assert!(p.check(&"https://example.com/".parse().unwrap()).is_some(), "anything else is refused");
    /// ```
    pub fn allowing_access_url(mut self, access_url: &str) -> anyhow::Result<Self> {
        let origin = Origin::from_access_url(access_url)?;
        self.allow_http_loopback |= origin.scheme == "http" && origin.is_loopback();
        self.allowed.push(origin);
        Ok(self)
    }

    /// Why a request to `uri` is refused, or none when it is allowed.
    pub fn check(&self, uri: &http::Uri) -> Option<String> {
        let Ok(origin) = Origin::parse(&uri.to_string()) else {
            return Some(format!("`{uri}` is not an absolute http(s) URL"));
        };
        if origin.scheme == "http" && !(self.allow_http_loopback && origin.is_loopback()) {
            return Some(format!(
                "plain http to {origin} is not allowed (only https; http only to loopback when the embedder enables it)"
            ));
        }
        if !self.allowed.contains(&origin) {
            let allowed: Vec<String> = self.allowed.iter().map(|o| o.to_string()).collect();
            return Some(format!(
                "{origin} is not in the sandbox policy (allowed: {}); configure the access URL of that host to allow it",
                if allowed.is_empty() { "nothing".to_string() } else { allowed.join(", ") }
            ));
        }
        None
    }
}

/// The `wasi:http` hooks of one instance.
pub struct PolicyHooks {
    policy: Arc<SandboxPolicy>,
    received: Arc<AtomicU64>,
    in_flight: Arc<AtomicUsize>,
    denials: u64,
    events: EventSink,
    redactor: Redactor,
    reached: Arc<Reached>,
}

impl PolicyHooks {
    /// Hooks enforcing `policy`; denials are reported to `events` (secrets
    /// taken out) and caps reached to `reached`.
    pub(crate) fn new(
        policy: Arc<SandboxPolicy>,
        events: EventSink,
        redactor: Redactor,
        reached: Arc<Reached>,
    ) -> Self {
        PolicyHooks {
            policy,
            received: Arc::new(AtomicU64::new(0)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            denials: 0,
            events,
            redactor,
            reached,
        }
    }

    /// Takes `secret` out of the denials reported from now on.
    pub(crate) fn add_secret(&mut self, secret: &str) {
        self.redactor.add(secret);
    }

    fn deny(&mut self, line: String) {
        self.denials = self.denials.saturating_add(1);
        if self.denials > self.policy.max_denial_lines {
            self.reached.hit(Limit::DenialLines(self.policy.max_denial_lines));
        } else {
            (self.events)(Event::Denied(self.redactor.redact_cut(&line, MAX_LOG_LINE)));
        }
    }
}

/// One request in flight; dropped with its response body, or with the
/// request when it fails.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Counts a request in, unless `max` are already in flight.
    fn start(count: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).ok()?;
        Some(InFlight(count.clone()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn clamp(asked: Option<Duration>, cap: Duration) -> Option<Duration> {
    Some(asked.map_or(cap, |a| a.min(cap)))
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        drop(fut);
        if let Some(reason) = self.policy.check(request.uri()) {
            self.deny(format!("denied {} {}: {reason}", request.method(), request.uri()));
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let Some(in_flight) = InFlight::start(&self.in_flight, self.policy.max_concurrent_requests) else {
            self.reached.hit(Limit::ConcurrentRequests(self.policy.max_concurrent_requests));
            return Box::new(async { Err(wasmtime_wasi_http::Error::ConnectionLimitReached) });
        };
        let asked = options.unwrap_or_default();
        let options = RequestOptions {
            connect_timeout: clamp(asked.connect_timeout, self.policy.connect_timeout),
            first_byte_timeout: clamp(asked.first_byte_timeout, self.policy.first_byte_timeout),
            between_bytes_timeout: clamp(asked.between_bytes_timeout, self.policy.between_bytes_timeout),
        };
        let received = self.received.clone();
        let reached = self.reached.clone();
        let cap = self.policy.max_response_bytes;
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            let response = response.map(|body| {
                CappedBody { inner: body.boxed_unsync(), received, reached, cap, _in_flight: in_flight }.boxed_unsync()
            });
            Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

/// A response body that fails once the instance's total exceeds the cap,
/// and counts as a request in flight until dropped.
struct CappedBody {
    inner: WasiBody,
    received: Arc<AtomicU64>,
    reached: Arc<Reached>,
    cap: u64,
    _in_flight: InFlight,
}

impl http_body::Body for CappedBody {
    type Data = bytes::Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let len = data.len() as u64;
            let total = self.received.fetch_add(len, Ordering::Relaxed).saturating_add(len);
            if total > self.cap {
                self.reached.hit(Limit::ResponseBytes(self.cap));
                return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpResponseBodySize(Some(self.cap)))));
            }
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_exact_origins_only() {
        let mut p =
            SandboxPolicy { allowed: vec![Origin::parse("https://ab1.us1.dbt.com").unwrap()], ..Default::default() };
        assert_eq!(p.check(&"https://ab1.us1.dbt.com/api/v2/".parse().unwrap()), None);
        assert!(p.check(&"https://ab1.us1.dbt.com:8443/".parse().unwrap()).is_some());
        assert!(p.check(&"https://evil.example/".parse().unwrap()).is_some());
        assert!(p.check(&"http://ab1.us1.dbt.com/".parse().unwrap()).is_some());
        p.allowed.push(Origin::parse("http://127.0.0.1:9000").unwrap());
        assert!(p.check(&"http://127.0.0.1:9000/".parse().unwrap()).is_some(), "http needs the embedder's consent");
        p.allow_http_loopback = true;
        assert_eq!(p.check(&"http://127.0.0.1:9000/x".parse().unwrap()), None);
    }

    #[test]
    fn an_access_url_allows_its_origin_and_http_only_on_loopback() {
        let p = SandboxPolicy::default().allowing_access_url("ab1.us1.dbt.com/deploy/1/projects/2").unwrap();
        assert_eq!(p.allowed, vec![Origin::parse("https://ab1.us1.dbt.com").unwrap()]);
        assert!(!p.allow_http_loopback);
        let p = SandboxPolicy::default().allowing_access_url("http://127.0.0.1:8080/deploy/1").unwrap();
        assert!(p.allow_http_loopback && p.check(&"http://127.0.0.1:8080/api".parse().unwrap()).is_none());
        let p = SandboxPolicy::default().allowing_access_url("http://cloud.getdbt.com").unwrap();
        assert!(p.check(&"http://cloud.getdbt.com/api".parse().unwrap()).is_some(), "no plain http elsewhere");
        assert!(Origin::parse("https://user:pw@ab1.us1.dbt.com").is_err(), "userinfo is refused");
        assert!(SandboxPolicy::default().allowing_access_url("me@ab1.us1.dbt.com").is_err());
        assert!(p.check(&"http://x@127.0.0.1:8080/api".parse().unwrap()).is_some());
        let mut p = SandboxPolicy::default().allowing_access_url("http://127.0.0.1.nip.example:8080").unwrap();
        assert!(!p.allow_http_loopback, "a name that starts with 127. is not loopback");
        p.allow_http_loopback = true;
        assert!(p.check(&"http://127.0.0.1.nip.example:8080/api".parse().unwrap()).is_some());
    }
}
