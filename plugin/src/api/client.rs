//! The dbt Cloud API client: one typed method per endpoint the plugin uses,
//! the envelope, pagination, retries with backoff and `Retry-After`, and
//! typed errors. No other module formats an API path.

use std::cell::RefCell;
use std::io::Read;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::models::{Account, Envelope, Job, Project, Run, status};
use super::retry::{Jitter, RetryPolicy, parse_retry_after};
use crate::error::{Error, Result};
use crate::http::{Method, Request, Response, Started, Transport, TransportError};
use crate::log::Logger;
use crate::settings::Settings;
use crate::time::Clock;

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("model-sync/", env!("CARGO_PKG_VERSION"));

/// The largest page the API allows (`limit` above 100 is a 400).
pub const PAGE_SIZE: u64 = 100;

/// The most pages read of one list, against a `total_count` that keeps moving.
pub const MAX_PAGES: u64 = 1000;

/// The most bytes read of an error response body.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// The most bytes read of an enveloped JSON response.
const ENVELOPE_LIMIT: u64 = 256 * 1024 * 1024;

/// What dbt Cloud answers (with a 401) when the account's plan includes no
/// API access, word for word (`dbt-cloud-api/NOTES.md`, b.2).
const UNPAID_ACCOUNT_MESSAGE: &str = "The API is not accessible to unpaid accounts.";

/// Which runs of a job to look through, and in what order.
#[derive(Debug, Clone)]
pub struct RunsQuery {
    /// Whose runs: a job's or a whole project's.
    pub of: RunsOf,
    /// Only runs that succeeded (status 10), newest finished first; otherwise
    /// every run, newest created first.
    pub successful_only: bool,
    /// Include each run's trigger (to find a run by its cause).
    pub with_trigger: bool,
    /// Stop after this many pages.
    pub max_pages: u64,
}

/// Whose runs a [`RunsQuery`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunsOf {
    /// The runs of one job definition.
    Job(u64),
    /// The runs of every job of a project (to find a pull request's CI run).
    Project(u64),
}

impl RunsQuery {
    /// The successful runs of `job_id`, newest finished first, to the end.
    pub fn successful(job_id: u64) -> Self {
        RunsQuery { of: RunsOf::Job(job_id), successful_only: true, with_trigger: false, max_pages: MAX_PAGES }
    }

    /// The newest page of runs of `job_id` with their triggers.
    pub fn newest_with_trigger(job_id: u64) -> Self {
        RunsQuery { of: RunsOf::Job(job_id), successful_only: false, with_trigger: true, max_pages: 1 }
    }

    /// The successful runs of every job of `project_id` with their triggers,
    /// newest finished first, at most `max_pages` pages.
    pub fn project_with_trigger(project_id: u64, max_pages: u64) -> Self {
        RunsQuery { of: RunsOf::Project(project_id), successful_only: true, with_trigger: true, max_pages }
    }
}

/// A POST that failed, and whether dbt Cloud may have acted on it anyway.
#[derive(Debug, Clone, PartialEq)]
pub struct PostFailure {
    /// What to tell the user.
    pub error: Error,
    /// True when the request may have reached dbt Cloud (the connection broke
    /// after sending, a 5xx, an unreadable success): repeating it could start
    /// a second run.
    pub may_have_arrived: bool,
}

/// A client bound to one account on one host.
pub struct Client<'a> {
    transport: &'a dyn Transport,
    clock: &'a dyn Clock,
    settings: &'a Settings,
    log: &'a Logger<'a>,
    retry: RetryPolicy,
    jitter: RefCell<Jitter>,
}

impl<'a> Client<'a> {
    /// A client for `settings` over `transport`, waiting on `clock`.
    pub fn new(
        transport: &'a dyn Transport,
        clock: &'a dyn Clock,
        settings: &'a Settings,
        log: &'a Logger<'a>,
    ) -> Self {
        let seed = clock.unix_millis() ^ (clock.monotonic().as_nanos() as u64);
        Client {
            transport,
            clock,
            settings,
            log,
            retry: RetryPolicy::default(),
            jitter: RefCell::new(Jitter::seeded(seed)),
        }
    }

    /// The settings the client uses.
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// The clock the client waits on (also for callers that poll).
    pub fn clock(&self) -> &'a dyn Clock {
        self.clock
    }

    /// `GET /api/v2/accounts/{account}/`: the account.
    pub fn account(&self) -> Result<Account> {
        self.get_data(&self.v2("/"), &format!("account {}", self.settings.account_id))
    }

    /// `GET /api/v3/accounts/{account}/projects/{project}/`: the configured project.
    pub fn project(&self) -> Result<Project> {
        let s = self.settings;
        let path = format!("/api/v3/accounts/{}/projects/{}/", s.account_id, s.project_id);
        self.get_data(&path, &format!("project {} of account {}", s.project_id, s.account_id))
    }

    /// `GET .../jobs/{id}/`: one job; `role` names it in errors ("docs job 12").
    pub fn job(&self, id: u64, role: &str) -> Result<Job> {
        self.get_data(&self.v2(&format!("/jobs/{id}/")), &format!("{role} job {id}"))
    }

    /// `GET .../jobs/`: every job of the configured project with its
    /// environment, newest first, all pages.
    pub fn jobs(&self) -> Result<Vec<Job>> {
        let project = self.settings.project_id;
        let query = [
            ("project_id", project.to_string()),
            ("order_by", "-id".into()),
            ("include_related", "environment".into()),
        ];
        let mut all = Vec::new();
        self.each_page(&self.v2("/jobs/"), &query, &format!("the jobs of project {project}"), MAX_PAGES, |page| {
            all.extend(page);
            true
        })?;
        Ok(all)
    }

    /// `GET .../runs/`: the first run, in the query's order, that `keep` accepts.
    pub fn find_run(&self, query: &RunsQuery, mut keep: impl FnMut(&Run) -> bool) -> Result<Option<Run>> {
        let (mut params, what) = match query.of {
            RunsOf::Job(id) => (vec![("job_definition_id", id.to_string())], format!("the runs of job {id}")),
            RunsOf::Project(id) => (vec![("project_id", id.to_string())], format!("the runs of project {id}")),
        };
        if query.successful_only {
            params.push(("status", status::SUCCESS.to_string()));
            params.push(("order_by", "-finished_at".into()));
        } else {
            params.push(("order_by", "-id".into()));
        }
        if query.with_trigger {
            params.push(("include_related", "trigger".into()));
        }
        let mut found = None;
        self.each_page(&self.v2("/runs/"), &params, &what, query.max_pages, |page: Vec<Run>| {
            found = page.into_iter().find(|r| keep(r));
            found.is_none()
        })?;
        Ok(found)
    }

    /// `GET .../runs/{id}/`: one run with its steps and job.
    pub fn run(&self, id: u64) -> Result<Run> {
        self.get_data(
            &self.v2(&format!("/runs/{id}/?include_related={}", encode("run_steps,job,trigger"))),
            &format!("run {id}"),
        )
    }

    /// `GET .../runs/{run}/artifacts/{name}`: an artifact (of `step`, or of the
    /// run's last step), asked for gzipped, handed to `read` as the stream
    /// received with its announced length (a `Content-Length` that is a
    /// number; only for progress, never trusted for sizes) and whether it is
    /// gzipped (see [`crate::artifacts::decoded`]); none when the run has no such file.
    pub fn artifact<R>(
        &self,
        run: u64,
        name: &str,
        step: Option<u32>,
        read: impl FnOnce(&mut dyn Read, Option<u64>, bool) -> Result<R>,
    ) -> Result<Option<R>> {
        let what = format!("{name} of run {run}");
        let response = self.send_get(&self.artifact_path(run, name, step), Accept::Artifact, &what, true)?;
        self.deliver(response, &what, read)
    }

    /// Starts the GET of an artifact without waiting for it, so that a
    /// sync's artifacts download together; [`Client::read_artifact`] reads it.
    pub fn start_artifact(&self, run: u64, name: &str, step: Option<u32>) -> Ahead<'a> {
        let request = self.request(Method::Get, &self.artifact_path(run, name, step), Accept::Artifact, None);
        Ahead { run, name: name.to_string(), step, started: self.transport.start(request) }
    }

    /// Reads an artifact started ahead as [`Client::artifact`] would: its
    /// response when it is one to read (a success, or a 404: none), else the
    /// request again with the usual retries.
    pub fn read_artifact<R>(
        &self,
        ahead: Ahead<'_>,
        read: impl FnOnce(&mut dyn Read, Option<u64>, bool) -> Result<R>,
    ) -> Result<Option<R>> {
        let what = format!("{} of run {}", ahead.name, ahead.run);
        match (ahead.started)() {
            Ok(r) if (200..300).contains(&r.status) || r.status == 404 => self.deliver(r, &what, read),
            _ => self.artifact(ahead.run, &ahead.name, ahead.step, read),
        }
    }

    fn artifact_path(&self, run: u64, name: &str, step: Option<u32>) -> String {
        let mut path = self.v2(&format!("/runs/{run}/artifacts/{name}"));
        if let Some(step) = step {
            path.push_str(&format!("?step={step}"));
        }
        path
    }

    /// Hands an artifact's response to `read` (none for a 404).
    fn deliver<R>(
        &self,
        mut response: Response,
        what: &str,
        read: impl FnOnce(&mut dyn Read, Option<u64>, bool) -> Result<R>,
    ) -> Result<Option<R>> {
        if response.status == 404 {
            return Ok(None);
        }
        let length = response.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let gzip = match response.header("content-encoding").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "identity") => false,
            Some("gzip" | "x-gzip") => true,
            Some(other) => {
                return Err(Error::Upstream(format!(
                    "dbt Cloud sent {what} encoded as `{}`, which the plugin did not ask for",
                    other.chars().take(40).collect::<String>()
                )));
            }
        };
        read(&mut response.body, length, gzip).map(Some)
    }

    /// `POST .../jobs/{job}/run/`: starts a run of `job`, once. `cause` is
    /// stored with the run, so that a run whose response was lost can be found.
    pub fn trigger(&self, job: u64, cause: &str) -> Result<Run, PostFailure> {
        self.post_data(
            &self.v2(&format!("/jobs/{job}/run/")),
            &serde_json::json!({ "cause": cause }),
            &format!("starting job {job}"),
        )
    }

    /// `POST .../runs/{run}/cancel/`: cancels a run.
    pub fn cancel(&self, run: u64) -> Result<Run> {
        self.post_data(
            &self.v2(&format!("/runs/{run}/cancel/")),
            &serde_json::json!({}),
            &format!("cancelling run {run}"),
        )
        .map_err(|f| f.error)
    }

    fn v2(&self, rest: &str) -> String {
        format!("/api/v2/accounts/{}{rest}", self.settings.account_id)
    }

    fn request(&self, method: Method, path: &str, accept: Accept, body: Option<Vec<u8>>) -> Request {
        let mut headers = vec![
            ("authorization", self.settings.token.authorization()),
            ("accept", (if accept == Accept::Json { "application/json" } else { "*/*" }).to_string()),
            ("user-agent", USER_AGENT.to_string()),
        ];
        if accept == Accept::Artifact {
            headers.push(("accept-encoding", "gzip".to_string()));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json".to_string()));
        }
        Request { method, url: format!("{}{}", self.settings.base_url, path), headers, body }
    }

    /// GETs `path` and returns the envelope's `data`. `what` names the object
    /// for errors ("project 12").
    fn get_data<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T> {
        let env: Envelope<T> = self.get_envelope(path, what)?;
        env.data.ok_or_else(|| Error::Upstream(format!("dbt Cloud returned no data for {what}")))
    }

    /// Reads a list endpoint page by page (`limit`/`offset`), to the end or
    /// `max_pages`; `visit` returns false to stop early. The one pagination loop.
    fn each_page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        max_pages: u64,
        mut visit: impl FnMut(Vec<T>) -> bool,
    ) -> Result<()> {
        let mut offset = 0u64;
        for _ in 0..max_pages {
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
            if len < PAGE_SIZE || total.is_some_and(|t| offset >= t) {
                return Ok(());
            }
        }
        if max_pages == MAX_PAGES {
            self.log.warn(&format!("stopped reading {what} after {MAX_PAGES} pages"));
        }
        Ok(())
    }

    fn get_envelope<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<Envelope<T>> {
        let mut response = self.send_get(path, Accept::Json, what, false)?;
        let body = response.read_limited(ENVELOPE_LIMIT).map_err(|e| self.body_error(&e, what))?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::Upstream(format!(
                "dbt Cloud answered {what} with a body that is not the expected JSON ({e}): {}",
                snippet(&body)
            ))
        })
    }

    /// POSTs a JSON body once (never retried: the caller decides what a
    /// failure that may have arrived means) and returns the envelope's `data`.
    fn post_data<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        what: &str,
    ) -> Result<T, PostFailure> {
        let unsent = |error| PostFailure { error, may_have_arrived: false };
        let maybe_sent = |error| PostFailure { error, may_have_arrived: true };
        let bytes = serde_json::to_vec(body).map_err(|e| unsent(Error::Other(e.to_string())))?;
        let request = self.request(Method::Post, path, Accept::Json, Some(bytes));
        let mut response = self.transport.send(request).map_err(|e| PostFailure {
            may_have_arrived: e.may_have_arrived(),
            error: e.to_error(what, &self.settings.base_url),
        })?;
        if !(200..300).contains(&response.status) {
            let error = self.status_error(&mut response, what);
            return Err(if response.status >= 500 { maybe_sent(error) } else { unsent(error) });
        }
        let body = response.read_limited(16 * 1024 * 1024).map_err(|e| maybe_sent(self.body_error(&e, what)))?;
        let env: Envelope<T> = serde_json::from_slice(&body).map_err(|e| {
            maybe_sent(Error::Upstream(format!("dbt Cloud answered {what} with unexpected JSON ({e})")))
        })?;
        env.data.ok_or_else(|| maybe_sent(Error::Upstream(format!("dbt Cloud returned no data for {what}"))))
    }

    /// Sends a GET, retrying 429, 5xx and transient transport failures within
    /// the policy. A 404 is returned as a response when `missing_ok`, and is
    /// an error otherwise, as every other non-2xx status.
    fn send_get(&self, path: &str, accept: Accept, what: &str, missing_ok: bool) -> Result<Response> {
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.transport.send(self.request(Method::Get, path, accept, None));
            let (error, asked) = match outcome {
                Ok(r) if (200..300).contains(&r.status) || (r.status == 404 && missing_ok) => return Ok(r),
                Ok(mut r) if r.status == 429 => (self.status_error(&mut r, what), retry_after(&r, self.clock)),
                Ok(mut r) if r.status >= 500 => (self.status_error(&mut r, what), None),
                Ok(mut r) => return Err(self.status_error(&mut r, what)),
                Err(e) if e.is_transient() => (e.to_error(what, &self.settings.base_url), None),
                Err(e) => return Err(e.to_error(what, &self.settings.base_url)),
            };
            let wait = asked.unwrap_or_else(|| self.retry.backoff(attempt, self.jitter.borrow_mut().next_u64()));
            let total = waited.checked_add(wait);
            if attempt >= self.retry.max_attempts || total.is_none_or(|t| t > self.retry.budget) {
                return Err(error);
            }
            self.log.warn(&format!(
                "{what}: {} (attempt {attempt}); retrying in {:.1}s",
                error.message(),
                wait.as_secs_f64()
            ));
            self.clock.sleep(wait);
            waited += wait;
        }
    }

    /// The error of a failed body read: the transport's, when it was one.
    fn body_error(&self, e: &std::io::Error, what: &str) -> Error {
        TransportError::of_io(e, what, &self.settings.base_url)
    }

    /// Turns a non-2xx response into the error a user can act on.
    fn status_error(&self, response: &mut Response, what: &str) -> Error {
        let status = response.status;
        let body = response.read_limited(ERROR_BODY_LIMIT).unwrap_or_default();
        let said = ServerMessage::parse(&body);
        let detail = said.describe(status);
        let base = &self.settings.base_url;
        match status {
            401 if said.user == UNPAID_ACCOUNT_MESSAGE => Error::ApiNotEnabled(format!(
                "{what}: the account's plan does not include API access ({detail}); API access needs a Team or Enterprise plan"
            )),
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
                retry_after_secs: retry_after(response, self.clock).map(|d| d.as_secs().min(u32::MAX as u64) as u32),
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
/// An artifact request sent ahead of being read ([`Client::start_artifact`]).
pub struct Ahead<'a> {
    run: u64,
    name: String,
    step: Option<u32>,
    started: Started<'a>,
}

impl Ahead<'_> {
    /// The artifact's file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The run it belongs to.
    pub fn run(&self) -> u64 {
        self.run
    }
}

/// What a GET asks for: an API document, or an artifact (any type, gzip welcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accept {
    Json,
    Artifact,
}

fn retry_after(response: &Response, clock: &dyn Clock) -> Option<Duration> {
    response
        .header("retry-after")
        .or_else(|| response.header("x-rate-limit-retry-after-seconds"))
        .and_then(|v| parse_retry_after(v, clock.unix_millis() / 1000))
}

/// What an error body says: the envelope's messages, or a snippet of a body
/// that is not an envelope.
#[derive(Debug, Default, PartialEq)]
struct ServerMessage {
    user: String,
    developer: String,
    snippet: String,
}

impl ServerMessage {
    fn parse(body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct ErrorEnvelope {
            status: Option<super::models::Status>,
        }
        match serde_json::from_slice::<ErrorEnvelope>(body) {
            Ok(ErrorEnvelope { status: Some(s) }) => ServerMessage {
                user: s.user_message.unwrap_or_default().trim().to_string(),
                developer: s.developer_message.unwrap_or_default().trim().to_string(),
                snippet: String::new(),
            },
            _ => ServerMessage { snippet: snippet(body), ..ServerMessage::default() },
        }
    }

    /// `HTTP 404: Not found. (detail)` (the token is scrubbed where the
    /// error leaves the plugin, and from snippets before they are cut).
    fn describe(&self, status: u16) -> String {
        let said = if !self.snippet.is_empty() {
            format!("non-JSON body: {}", self.snippet)
        } else if self.developer.is_empty() || self.developer == self.user {
            self.user.clone()
        } else {
            format!("{} ({})", self.user, self.developer)
        };
        if said.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {said}") }
    }
}

/// The first 120 characters of a body, on one line, without the token (taken
/// out before the cut, so that no prefix of it survives).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(480 + 4096)]);
    let text = crate::secrets::scrub(&text);
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
mod network_tests;
#[cfg(test)]
mod tests;
