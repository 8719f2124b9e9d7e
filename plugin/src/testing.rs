//! Test doubles for native tests of the orchestration: a scripted transport
//! that fails the test on any request it was not told to expect, an in-memory
//! store, and a harness that wires them to a client with a [`FakeClock`].

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};

use crate::api::Client;
use crate::history::{KvStore, StoreOp};
use crate::http::{Method, Request, Response, Transport, TransportError};
use crate::log::{Logger, NullSink};
use crate::settings::{RawSettings, Settings, validate};
use crate::time::FakeClock;

/// The access URL of the test settings.
pub const BASE: &str = "https://ab123.us1.dbt.com";
/// The token of the test settings.
pub const TOKEN: &str = "dbtc_native_test_token";

/// What the fake answers to one expected request.
pub enum Reply {
    /// A status, headers and a body.
    Http(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// No response: the transport failed.
    Fail(TransportError),
}

impl Reply {
    /// A 200 with the dbt Cloud envelope around `data`.
    pub fn data(data: Value) -> Self {
        Reply::json(200, json!({"status": {"code": 200, "is_success": true}, "data": data}))
    }

    /// A 200 list page: `items` of `total` in all.
    pub fn page(items: Vec<Value>, total: usize) -> Self {
        Reply::json(
            200,
            json!({"status": {"code": 200}, "data": items, "extra": {"pagination": {"count": items.len(), "total_count": total}}}),
        )
    }

    /// An error envelope with `status` and `user_message`.
    pub fn error(status: u16, user_message: &str) -> Self {
        Reply::json(
            status,
            json!({"status": {"code": status, "is_success": false, "user_message": user_message}, "data": null}),
        )
    }

    /// Any JSON document with `status`.
    pub fn json(status: u16, doc: Value) -> Self {
        Reply::Http(status, Vec::new(), doc.to_string().into_bytes())
    }

    /// Adds a header to an HTTP reply.
    pub fn with_header(self, name: &'static str, value: &str) -> Self {
        match self {
            Reply::Http(s, mut h, b) => {
                h.push((name, value.to_string()));
                Reply::Http(s, h, b)
            }
            fail => fail,
        }
    }
}

/// A request as the fake saw it: method, path with query, body.
pub type Sent = (Method, String, Option<Vec<u8>>);

struct Expected {
    method: Method,
    path: String,
    reply: Reply,
}

/// A transport that answers a script of expected requests, in order. Any
/// other request, or an expected one never sent, fails the test.
#[derive(Default)]
pub struct FakeTransport {
    script: RefCell<VecDeque<Expected>>,
    sent: RefCell<Vec<Sent>>,
    /// What happened, in order: `start PATH` for a request started ahead,
    /// `send PATH` when one is sent (a started one when it is waited for).
    events: RefCell<Vec<String>>,
}

impl FakeTransport {
    /// Expects `GET {BASE}{path}` (path with its query) next.
    pub fn get(&self, path: &str, reply: Reply) -> &Self {
        self.expect(Method::Get, path, reply)
    }

    /// Expects `POST {BASE}{path}` next.
    pub fn post(&self, path: &str, reply: Reply) -> &Self {
        self.expect(Method::Post, path, reply)
    }

    fn expect(&self, method: Method, path: &str, reply: Reply) -> &Self {
        self.script.borrow_mut().push_back(Expected { method, path: path.to_string(), reply });
        self
    }

    /// Every request sent so far: method, path and body.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.borrow().clone()
    }

    /// Starts and sends in order (see the field).
    pub fn events(&self) -> Vec<String> {
        self.events.borrow().clone()
    }

    /// How many requests with `method` were sent.
    pub fn count(&self, method: Method) -> usize {
        self.sent.borrow().iter().filter(|(m, _, _)| *m == method).count()
    }
}

impl Transport for FakeTransport {
    fn send(&self, request: Request) -> Result<Response, TransportError> {
        let path = request.url.strip_prefix(BASE).unwrap_or(&request.url).to_string();
        let auth = request.headers.iter().find(|(k, _)| *k == "authorization").map(|(_, v)| v.as_str());
        assert_eq!(auth, Some(format!("Bearer {TOKEN}").as_str()), "every request carries the token");
        self.sent.borrow_mut().push((request.method, path.clone(), request.body.clone()));
        self.events.borrow_mut().push(format!("send {path}"));
        let Some(next) = self.script.borrow_mut().pop_front() else {
            panic!("unexpected request {:?} {path}: the test expected no more requests", request.method);
        };
        assert!(
            next.method == request.method && next.path == path,
            "unexpected request {:?} {path}; the test expected {:?} {}",
            request.method,
            next.method,
            next.path
        );
        match next.reply {
            Reply::Http(status, headers, body) => Ok(Response {
                status,
                headers: headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                body: Box::new(std::io::Cursor::new(body)),
            }),
            Reply::Fail(e) => Err(e),
        }
    }

    fn start<'a>(&'a self, request: Request) -> crate::http::Started<'a> {
        let path = request.url.strip_prefix(BASE).unwrap_or(&request.url).to_string();
        self.events.borrow_mut().push(format!("start {path}"));
        Box::new(move || self.send(request))
    }
}

impl Drop for FakeTransport {
    fn drop(&mut self) {
        let left: Vec<String> = self.script.borrow().iter().map(|e| format!("{:?} {}", e.method, e.path)).collect();
        if !left.is_empty() && !std::thread::panicking() {
            panic!("expected requests were never sent: {left:?}");
        }
    }
}

/// The host's store, in memory; it remembers the size of each batch sent.
#[derive(Default)]
pub struct MemStore {
    values: RefCell<BTreeMap<String, Vec<u8>>>,
    batches: RefCell<Vec<usize>>,
}

impl MemStore {
    /// The bytes of every batch so far, in order.
    pub fn batches(&self) -> Vec<usize> {
        self.batches.borrow().clone()
    }

    /// The bytes of every key and value stored.
    pub fn bytes(&self) -> u64 {
        self.values.borrow().iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
    }
}

impl KvStore for MemStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.values.borrow().get(key).cloned())
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        Ok(self.values.borrow().keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }
    fn batch(&self, ops: Vec<StoreOp>) -> Result<(), String> {
        let mut values = self.values.borrow_mut();
        let mut bytes = 0;
        for op in ops {
            match op {
                StoreOp::Set(k, v) => {
                    bytes += k.len() + v.len();
                    values.insert(k, v);
                }
                StoreOp::Delete(k) => {
                    bytes += k.len();
                    values.remove(&k);
                }
            }
        }
        self.batches.borrow_mut().push(bytes);
        Ok(())
    }
}

static NULL_SINK: NullSink = NullSink;

/// A fake transport, a fake clock at 2026-11-23T00:00:00Z, settings for
/// account 1 and project 2 on [`BASE`], and a logger that keeps its lines.
pub struct Harness {
    /// The scripted transport.
    pub transport: FakeTransport,
    /// The clock; its sleeps return at once and are recorded.
    pub clock: FakeClock,
    /// Validated settings.
    pub settings: Settings,
    /// The logger; `lines()` gives what was logged.
    pub log: Logger<'static>,
}

impl Default for Harness {
    /// A harness with no request expected yet.
    fn default() -> Self {
        let raw = RawSettings {
            api_token: TOKEN.into(),
            access_url: Some(BASE.into()),
            account_id: Some(1),
            project_id: Some(2),
            ..RawSettings::default()
        };
        Harness {
            transport: FakeTransport::default(),
            clock: FakeClock::at_unix_millis(1_795_392_000_000),
            settings: validate(&raw).expect("valid settings").0,
            log: Logger::new(&NULL_SINK),
        }
    }
}

impl Harness {
    /// A client over the harness's transport and clock.
    pub fn client(&self) -> Client<'_> {
        Client::new(&self.transport, &self.clock, &self.settings, &self.log)
    }

    /// Whether any logged line contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log.lines().iter().any(|l| l.contains(text))
    }
}

/// A run of job `job` with `status` (10 success), finished on 2026-11-`day`.
pub fn run_json(id: u64, job: u64, status: i64, day: u32) -> Value {
    json!({"id": id, "job_definition_id": job, "project_id": 2, "status": status,
           "finished_at": format!("2026-11-{day:02} 06:00:00.000000+00:00"), "artifacts_saved": true,
           "href": format!("{BASE}/deploy/1/projects/2/runs/{id}/"), "git_branch": "main"})
}

/// [`run_json`] with its steps: clone, then each dbt command given.
pub fn run_with_steps(id: u64, job: u64, status: i64, commands: &[&str]) -> Value {
    let mut r = run_json(id, job, status, 20);
    let mut steps = vec![json!({"index": 1, "name": "Clone git repository", "status": 10})];
    for (i, c) in commands.iter().enumerate() {
        steps.push(json!({"index": i + 2, "name": format!("Invoke dbt with `dbt {c}`"), "status": status}));
    }
    r["run_steps"] = json!(steps);
    r
}
