//! The dbt Cloud API client: the envelope, pagination, retries with backoff and
//! `Retry-After`, and typed errors.

use std::cell::RefCell;
use std::io::Read;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::models::Envelope;
use super::retry::{Jitter, RetryPolicy, now_unix, parse_retry_after};
use crate::error::{Error, Result};
use crate::http::{Method, Request, Response, Transport, TransportError};
use crate::log::{Level, Logger};
use crate::settings::Settings;

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("model-sync/", env!("CARGO_PKG_VERSION"));

/// The largest page the API allows.
pub const PAGE_SIZE: u64 = 100;

/// The most pages read of one list, against a `total_count` that keeps moving.
pub const MAX_PAGES: u64 = 1000;

/// The most bytes read of an error response body.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// A client bound to one account on one host.
pub struct Client<'a> {
    transport: &'a dyn Transport,
    settings: &'a Settings,
    log: &'a Logger<'a>,
    retry: RetryPolicy,
    jitter: RefCell<Jitter>,
}

impl<'a> Client<'a> {
    /// A client for `settings` over `transport`.
    pub fn new(transport: &'a dyn Transport, settings: &'a Settings, log: &'a Logger<'a>) -> Self {
        Client { transport, settings, log, retry: RetryPolicy::default(), jitter: RefCell::new(Jitter::from_clock()) }
    }

    /// The settings the client uses.
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// `/api/v2/accounts/{account}` (no trailing slash).
    pub fn v2(&self) -> String {
        format!("/api/v2/accounts/{}", self.settings.account_id)
    }

    /// `/api/v3/accounts/{account}` (no trailing slash).
    pub fn v3(&self) -> String {
        format!("/api/v3/accounts/{}", self.settings.account_id)
    }

    fn request(&self, method: Method, path: &str, accept: &str, body: Option<Vec<u8>>) -> Request {
        let mut headers = vec![
            ("authorization", self.settings.token.authorization()),
            ("accept", accept.to_string()),
            ("user-agent", USER_AGENT.to_string()),
        ];
        if body.is_some() {
            headers.push(("content-type", "application/json".to_string()));
        }
        Request { method, url: format!("{}{}", self.settings.base_url, path), headers, body }
    }

    /// GETs `path` and returns the envelope's `data`. `what` names the object for
    /// a not-found error ("project 12").
    pub fn get_data<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T> {
        let env: Envelope<T> = self.get_envelope(path, what)?;
        env.data.ok_or_else(|| Error::Upstream(format!("dbt Cloud returned no data for {what}")))
    }

    /// GETs a list endpoint to the end, `limit`/`offset` paging, and returns every item.
    pub fn get_all<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)], what: &str) -> Result<Vec<T>> {
        let mut all = Vec::new();
        self.for_each_page(path, query, what, |page: Vec<T>| {
            all.extend(page);
            true
        })?;
        Ok(all)
    }

    /// Reads a list endpoint page by page; `visit` returns false to stop early.
    pub fn for_each_page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        mut visit: impl FnMut(Vec<T>) -> bool,
    ) -> Result<()> {
        let mut offset = 0u64;
        for _ in 0..MAX_PAGES {
            let mut q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
            q.push(format!("limit={PAGE_SIZE}"));
            q.push(format!("offset={offset}"));
            let env: Envelope<Vec<T>> = self.get_envelope(&format!("{path}?{}", q.join("&")), what)?;
            let page = env.data.unwrap_or_default();
            let len = page.len() as u64;
            let total = env.extra.and_then(|e| e.pagination).and_then(|p| p.total_count);
            if !visit(page) {
                return Ok(());
            }
            offset += len;
            let done = len == 0 || len < PAGE_SIZE || total.is_some_and(|t| offset >= t);
            if done {
                return Ok(());
            }
        }
        self.log.warn(&format!("stopped reading {what} after {MAX_PAGES} pages"));
        Ok(())
    }

    fn get_envelope<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<Envelope<T>> {
        let mut response = self.send_get(path, "application/json", what)?;
        let body = response
            .read_limited(256 * 1024 * 1024)
            .map_err(|e| Error::Network(format!("reading the response for {what} failed: {e}")))?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::Upstream(format!(
                "dbt Cloud answered {what} with a body that is not the expected JSON ({e}): {}",
                snippet(&body)
            ))
        })
    }

    /// GETs a raw (non-enveloped) file such as a run artifact and hands its body
    /// to `read` as a stream.
    pub fn get_stream<R>(&self, path: &str, what: &str, read: impl FnOnce(&mut dyn Read) -> Result<R>) -> Result<R> {
        let mut response = self.send_get(path, "*/*", what)?;
        read(&mut response.body)
    }

    /// POSTs a JSON body once (never retried: the caller decides what an
    /// ambiguous failure means) and returns the envelope's `data`.
    pub fn post_data<T: DeserializeOwned>(&self, path: &str, body: &serde_json::Value, what: &str) -> Result<T> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Other(e.to_string()))?;
        let request = self.request(Method::Post, path, "application/json", Some(bytes));
        let mut response = self.transport.send(request).map_err(|e| self.transport_error(e, what))?;
        if !(200..300).contains(&response.status) {
            return Err(self.status_error(&mut response, what));
        }
        let body = response
            .read_limited(16 * 1024 * 1024)
            .map_err(|e| Error::Network(format!("reading the response for {what} failed: {e}")))?;
        let env: Envelope<T> = serde_json::from_slice(&body)
            .map_err(|e| Error::Upstream(format!("dbt Cloud answered {what} with unexpected JSON ({e})")))?;
        env.data.ok_or_else(|| Error::Upstream(format!("dbt Cloud returned no data for {what}")))
    }

    /// Sends a GET, retrying 429, 5xx and transport failures within the policy.
    fn send_get(&self, path: &str, accept: &str, what: &str) -> Result<Response> {
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.max_attempts;
            let outcome = self.transport.send(self.request(Method::Get, path, accept, None));
            let (error, wait) = match outcome {
                Ok(r) if (200..300).contains(&r.status) => return Ok(r),
                Ok(mut r) if r.status == 429 => {
                    let asked = retry_after(&r);
                    let e = self.status_error(&mut r, what);
                    let wait =
                        asked.unwrap_or_else(|| self.retry.backoff(attempt, self.jitter.borrow_mut().next_u64()));
                    (e, wait)
                }
                Ok(mut r) if r.status >= 500 => {
                    let e = self.status_error(&mut r, what);
                    (e, self.retry.backoff(attempt, self.jitter.borrow_mut().next_u64()))
                }
                Ok(mut r) => return Err(self.status_error(&mut r, what)),
                Err(e @ (TransportError::Timeout(_) | TransportError::Connect(_) | TransportError::Ambiguous(_))) => {
                    (self.transport_error(e, what), self.retry.backoff(attempt, self.jitter.borrow_mut().next_u64()))
                }
                Err(e) => return Err(self.transport_error(e, what)),
            };
            if last || waited + wait > self.retry.budget {
                return Err(error);
            }
            self.log.log(
                Level::Warn,
                &format!("{what}: {} (attempt {attempt}); retrying in {:.1}s", error.message(), wait.as_secs_f64()),
            );
            std::thread::sleep(wait);
            waited += wait;
        }
    }

    fn transport_error(&self, e: TransportError, what: &str) -> Error {
        let base = &self.settings.base_url;
        match e {
            TransportError::Denied(m) => Error::NetworkDenied(format!(
                "the host's sandbox policy does not allow requests to {base} ({m}); allow this host in the plugin's network policy"
            )),
            TransportError::Timeout(m) => Error::Timeout(format!("{what}: {base} did not answer in time ({m})")),
            TransportError::Connect(m) => {
                Error::Network(format!("{what}: could not reach {base} ({m}); check the access URL and the network"))
            }
            TransportError::Ambiguous(m) => Error::Network(format!("{what}: the request to {base} broke off ({m})")),
            TransportError::Other(m) => Error::Network(format!("{what}: request to {base} failed ({m})")),
        }
    }

    /// Turns a non-2xx response into the error a user can act on.
    fn status_error(&self, response: &mut Response, what: &str) -> Error {
        let status = response.status;
        let body = response.read_limited(ERROR_BODY_LIMIT).unwrap_or_default();
        let said = server_message(&body);
        let said = self.settings.token.scrub(&said);
        let detail = if said.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {said}") };
        let lower = said.to_ascii_lowercase();
        let base = &self.settings.base_url;
        match status {
            401 | 403 if lower.contains("unpaid") || lower.contains("not accessible") || lower.contains("plan") => {
                Error::ApiNotEnabled(format!(
                    "{what}: the account's plan does not include API access ({detail}); API access needs a Team or Enterprise plan"
                ))
            }
            401 if self.settings.on_legacy_host() => Error::Unauthorized(format!(
                "{what}: {base} refused the token ({detail}). Accounts with their own access URL \
                 (e.g. https://ab123.us1.dbt.com, under Account settings > Access URLs) must use it: \
                 set it as the access URL. Otherwise check that the token is valid and not revoked."
            )),
            401 => Error::Unauthorized(format!(
                "{what}: {base} refused the token ({detail}); check that it is valid, not expired or revoked, and belongs to account {}",
                self.settings.account_id
            )),
            403 => Error::Forbidden(format!(
                "{what}: the token may not do this ({detail}); give it a permission set that includes it (Job Viewer or Read-Only reads; Job Runner triggers runs)"
            )),
            404 => Error::NotFound(format!(
                "{what} was not found on {base} ({detail}); check the id, and that the token may see it"
            )),
            429 => Error::RateLimited {
                retry_after_secs: retry_after(response).map(|d| d.as_secs().min(u32::MAX as u64) as u32),
                message: format!("{what}: dbt Cloud is rate limiting requests ({detail}); try again in a few minutes"),
            },
            s if s >= 500 => Error::Upstream(format!("{what}: dbt Cloud failed ({detail}); try again later")),
            300..=399 => Error::Upstream(format!(
                "{what}: {base} redirected to {}; redirects are not followed: if that is your dbt Cloud host, use it as the access URL",
                response.header("location").unwrap_or("an unnamed location")
            )),
            _ => Error::Other(format!("{what}: dbt Cloud refused the request ({detail})")),
        }
    }
}

/// How long a 429 asks us to wait: `Retry-After` (seconds or HTTP date), or
/// dbt Cloud's `x-rate-limit-retry-after-seconds`.
fn retry_after(response: &Response) -> Option<Duration> {
    response
        .header("retry-after")
        .or_else(|| response.header("x-rate-limit-retry-after-seconds"))
        .and_then(|v| parse_retry_after(v, now_unix()))
}

/// The message of an error envelope, or a short snippet of a non-JSON body.
fn server_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorEnvelope {
        status: Option<super::models::Status>,
    }
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope { status: Some(s) }) => {
            let user = s.user_message.unwrap_or_default();
            let dev = s.developer_message.unwrap_or_default();
            if dev.is_empty() || dev == user { user } else { format!("{user} ({dev})") }
        }
        _ if body.is_empty() => String::new(),
        _ => format!("non-JSON body: {}", snippet(body)),
    }
}

/// The first 120 characters of a body, on one line.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(480)]);
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(120).collect();
    one_line.trim().to_string()
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b',') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_short_messages() {
        let env = br#"{"status":{"code":404,"is_success":false,"user_message":"Not found.","developer_message":""},"data":null}"#;
        assert_eq!(server_message(env), "Not found.");
        assert_eq!(
            server_message(b"<html><body>Bad gateway</body></html>"),
            "non-JSON body: <html><body>Bad gateway</body></html>"
        );
        assert_eq!(server_message(b""), "");
        assert_eq!(encode("feature/x y"), "feature%2Fx%20y");
    }
}
