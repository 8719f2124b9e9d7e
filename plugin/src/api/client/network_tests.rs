//! Numbers from the network are not trusted: thousands of seeded random
//! responses (statuses, `Retry-After` values from negative to past
//! `u64::MAX` and dates in year 9999, bodies with ids, counts and totals of
//! every extreme and type, truncated, empty and deeply nested documents) to
//! every call of the client. Nothing panics, every failure is a typed error
//! with a message, no single wait exceeds a minute, and every call ends
//! after a bounded number of requests.

use std::cell::{Cell, RefCell};
use std::io::Read;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::api::retry::Jitter;
use crate::http::{Request, Response, Transport, TransportError};
use crate::testing::Harness;

/// Field names the client reads, so that random documents hit its parsers.
const FIELDS: &[&str] = &[
    "id",
    "name",
    "status",
    "finished_at",
    "created_at",
    "job_definition_id",
    "project_id",
    "account_id",
    "environment_id",
    "run_steps",
    "logs",
    "index",
    "artifacts_saved",
    "href",
    "git_branch",
    "git_sha",
    "execute_steps",
    "triggers",
    "settings",
    "status_message",
    "trigger",
    "cause",
    "job",
    "job_type",
    "docs_job_id",
    "freshness_job_id",
    "plan",
    "state",
    "count",
    "total_count",
    "pagination",
    "extra",
    "is_success",
    "code",
    "user_message",
    "developer_message",
    "data",
    "in_progress",
    "dbt_version",
];

/// Numbers and strings of every extreme a server could send.
const SCALARS: &[&str] = &[
    "0",
    "-1",
    "1",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "1e300",
    "-1e300",
    "1.5",
    "4294967296",
    "null",
    "true",
    "\"\"",
    "\"x\"",
    "\"2026-11-23 06:00:00.000000+00:00\"",
    "\"9999-12-31T23:59:59Z\"",
    "\"-1\"",
    "\"18446744073709551616\"",
    "[]",
    "{}",
];

struct Rng(RefCell<Jitter>);

impl Rng {
    fn below(&self, n: usize) -> usize {
        (self.0.borrow_mut().next_u64() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn value(&self, depth: u32) -> Value {
        match self.below(if depth == 0 { 2 } else { 5 }) {
            0 | 1 => serde_json::from_str(self.pick::<&str>(SCALARS)).unwrap_or(Value::Null),
            2 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
            _ => {
                let mut map = serde_json::Map::new();
                for _ in 0..self.below(8) {
                    map.insert(self.pick(FIELDS).to_string(), self.value(depth - 1));
                }
                Value::Object(map)
            }
        }
    }

    fn body(&self) -> Vec<u8> {
        let data = self.value(3);
        let total: Value = serde_json::from_str(self.pick::<&str>(SCALARS)).unwrap_or(Value::Null);
        match self.below(8) {
            0 => Vec::new(),
            1 => b"<html><body>502 Bad Gateway</body></html>".to_vec(),
            2 => "[".repeat(100_000).into_bytes(),
            3 => {
                let doc = json!({"status": {"code": 200}, "data": data}).to_string().into_bytes();
                doc[..self.below(doc.len())].to_vec()
            }
            4 => json!({"status": {"code": 200}, "data": [data], "extra": {"pagination": {"count": 1, "total_count": total}}})
                .to_string()
                .into_bytes(),
            5 => (0..self.below(300)).map(|_| self.below(256) as u8).collect(),
            _ => json!({"status": {"code": 200, "is_success": true, "user_message": self.value(1)}, "data": data})
                .to_string()
                .into_bytes(),
        }
    }
}

/// Answers every request with a random response; fails the connection once
/// in a while.
struct Hostile {
    rng: Rng,
    sent: Cell<usize>,
}

impl Transport for Hostile {
    fn send(&self, _: Request) -> Result<Response, TransportError> {
        self.sent.set(self.sent.get() + 1);
        let rng = &self.rng;
        if rng.below(12) == 0 {
            return Err(TransportError::Unreachable("refused".into()));
        }
        let status = *rng.pick(&[200, 200, 200, 200, 201, 204, 302, 400, 401, 403, 404, 429, 500, 502, 503, 0, 999]);
        let mut headers = Vec::new();
        if rng.below(3) == 0 {
            let after = rng.pick(&[
                "0",
                "-1",
                "2",
                "18446744073709551615",
                "99999999999999999999999",
                "1e10",
                "NaN",
                "",
                "Mon, 23 Nov 2026 00:00:30 GMT",
                "Fri, 31 Dec 9999 23:59:59 GMT",
                "Thu, 01 Jan 1970 00:00:00 GMT",
            ]);
            headers.push(("retry-after".to_string(), after.to_string()));
        }
        if rng.below(4) == 0 {
            headers.push(("location".to_string(), "https://elsewhere.example/x".to_string()));
        }
        let body: Box<dyn Read> = Box::new(std::io::Cursor::new(rng.body()));
        Ok(Response { status, headers, body })
    }
}

fn check(outcome: std::result::Result<(), crate::error::Error>) {
    if let Err(e) = outcome {
        assert!(!e.message().is_empty(), "{e:?}");
        assert!(!e.message().contains("panicked"), "{e:?}");
    }
}

#[test]
fn random_responses_to_every_call_give_typed_errors_bounded_waits_and_an_end() {
    for seed in 0..1000u64 {
        let h = Harness::default();
        let hostile = Hostile { rng: Rng(RefCell::new(Jitter::seeded(0xC11E_0000 + seed))), sent: Cell::new(0) };
        let client = Client::new(&hostile, &h.clock, &h.settings, &h.log);
        check(client.account().map(|_| ()));
        check(client.project().map(|_| ()));
        check(client.job(3, "docs").map(|_| ()));
        check(client.jobs().map(|_| ()));
        check(client.find_run(&RunsQuery::successful(3), |_| seed % 2 == 0).map(|_| ()));
        check(client.run(5).map(|_| ()));
        check(
            client
                .artifact(5, "manifest.json", Some(2), |r, _, _| {
                    let mut sink = Vec::new();
                    r.take(1 << 20).read_to_end(&mut sink).map_err(|e| crate::error::Error::Network(e.to_string()))?;
                    Ok(())
                })
                .map(|_| ()),
        );
        match client.trigger(3, "model-sync sync 1 (test)") {
            Ok(_) => {}
            Err(f) => assert!(!format!("{f:?}").is_empty()),
        }
        check(client.cancel(5).map(|_| ()));
        assert!(hostile.sent.get() < 5_000, "seed {seed}: {} requests", hostile.sent.get());
        for slept in h.clock.sleeps() {
            assert!(slept <= Duration::from_secs(60), "seed {seed}: one wait of {slept:?}");
        }
    }
}
