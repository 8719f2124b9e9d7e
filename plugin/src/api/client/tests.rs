//! The client over a scripted transport and a clock that does not sleep.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::http::Phase;
use crate::testing::{Harness, Reply, run_json};

const ACCOUNT: &str = "/api/v2/accounts/1/";

#[test]
fn server_messages_become_short_descriptions() {
    let env =
        br#"{"status":{"code":404,"is_success":false,"user_message":"Not found.","developer_message":""},"data":null}"#;
    crate::token::ApiToken::new("dbtc_t0ken").expect("token");
    assert_eq!(ServerMessage::parse(env).describe(404), "HTTP 404: Not found.");
    let html = ServerMessage::parse(b"<html><body>Bad gateway dbtc_t0ken</body></html>");
    assert_eq!(html.describe(502), "HTTP 502: non-JSON body: <html><body>Bad gateway <redacted></body></html>");
    assert_eq!(ServerMessage::parse(b"").describe(500), "HTTP 500");
    // A token straddling the snippet's cut is taken out whole, not left as a prefix.
    let long = format!("{}dbtc_t0ken", "x".repeat(115));
    let cut = ServerMessage::parse(long.as_bytes()).describe(502);
    assert!(!cut.contains("dbtc_") && cut.contains("xxx<re"), "{cut}");
    assert_eq!(encode("feature/x y"), "feature%2Fx%20y");
}

#[test]
fn a_429_waits_as_retry_after_says_in_seconds_or_as_a_date() {
    let h = Harness::default();
    let in_30_secs = "Mon, 23 Nov 2026 00:00:30 GMT"; // the harness clock reads 2026-11-23T00:00:00Z
    h.transport
        .get(ACCOUNT, Reply::error(429, "Slow down").with_header("retry-after", "2"))
        .get(ACCOUNT, Reply::error(429, "Slow down").with_header("retry-after", in_30_secs))
        .get(ACCOUNT, Reply::data(json!({"id": 1, "name": "Acme"})));
    assert_eq!(h.client().account().expect("third time lucky").name, "Acme");
    // The date is absolute: after the first 2 s pause, 28 s remain.
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(2), Duration::from_secs(28)]);
    assert!(h.logged("retrying in 2.0s"));
}

#[test]
fn a_retry_after_beyond_the_budget_gives_up_at_once_without_overflow() {
    let h = Harness::default();
    h.transport.get(ACCOUNT, Reply::error(429, "Slow down").with_header("retry-after", &u64::MAX.to_string()));
    match h.client().account() {
        Err(Error::RateLimited { retry_after_secs, .. }) => assert_eq!(retry_after_secs, Some(u32::MAX)),
        other => panic!("expected rate-limited, got {other:?}"),
    }
    assert!(h.clock.sleeps().is_empty());
}

#[test]
fn transient_failures_back_off_until_the_attempts_run_out_and_keep_their_phase() {
    let h = Harness::default();
    for _ in 0..5 {
        h.transport.get(ACCOUNT, Reply::Fail(TransportError::Timeout(Phase::FirstByte)));
    }
    let e = h.client().account().expect_err("five timeouts");
    assert_eq!(e.kind(), "timeout");
    assert!(e.message().contains("first-byte timeout") && e.message().contains(BASE_HOST), "{e}");
    let sleeps = h.clock.sleeps();
    assert_eq!(sleeps.len(), 4, "{sleeps:?}");
    assert!(sleeps.windows(2).all(|w| w[1] >= w[0] / 2 * 2 / 2), "backoff grows: {sleeps:?}");
    assert!(sleeps.iter().all(|s| *s <= RetryPolicy::default().cap));
}

const BASE_HOST: &str = "ab123.us1.dbt.com";

#[test]
fn a_denied_request_and_a_404_are_not_retried() {
    let h = Harness::default();
    h.transport.get(ACCOUNT, Reply::Fail(TransportError::Denied));
    assert_eq!(h.client().account().expect_err("denied").kind(), "network-denied");
    h.transport.get("/api/v2/accounts/1/jobs/9/", Reply::error(404, "The requested resource was not found."));
    let e = h.client().job(9, "docs").expect_err("missing");
    assert_eq!(e.kind(), "not-found");
    assert!(e.message().starts_with("docs job 9 was not found"), "{e}");
    assert!(h.clock.sleeps().is_empty());
}

#[test]
fn api_access_missing_from_the_plan_is_told_by_the_documented_message_only() {
    let h = Harness::default();
    h.transport.get(ACCOUNT, Reply::error(401, "The API is not accessible to unpaid accounts."));
    assert_eq!(h.client().account().expect_err("unpaid").kind(), "api-not-enabled");
    h.transport.get(ACCOUNT, Reply::error(401, "Invalid token for this plan."));
    assert_eq!(h.client().account().expect_err("bad token").kind(), "unauthorized", "no guessing from words");
}

#[test]
fn lists_are_read_to_the_end() {
    let h = Harness::default();
    let jobs = |from: u64, n: u64| (from..from + n).map(|i| json!({"id": i, "name": format!("job {i}")})).collect();
    let q = "/api/v2/accounts/1/jobs/?project_id=2&order_by=-id&include_related=environment&limit=100";
    h.transport
        .get(&format!("{q}&offset=0"), Reply::page(jobs(1, 100), 250))
        .get(&format!("{q}&offset=100"), Reply::page(jobs(101, 100), 250))
        .get(&format!("{q}&offset=200"), Reply::page(jobs(201, 50), 250));
    let all = h.client().jobs().expect("jobs");
    assert_eq!((all.len(), all[249].id), (250, 250));
}

#[test]
fn finding_a_run_stops_at_the_page_that_has_it() {
    let h = Harness::default();
    let q = "/api/v2/accounts/1/runs/?job_definition_id=7&status=10&order_by=-finished_at&limit=100";
    let unusable: Vec<_> = (0..100).map(|i| json!({"id": 1000 - i, "status": 10, "artifacts_saved": false})).collect();
    h.transport
        .get(&format!("{q}&offset=0"), Reply::page(unusable, 500))
        .get(&format!("{q}&offset=100"), Reply::page(vec![run_json(800, 7, 10, 3), run_json(799, 7, 10, 2)], 500));
    let found = h.client().find_run(&RunsQuery::successful(7), |r| r.artifacts_saved != Some(false));
    assert_eq!(found.expect("found").map(|r| r.id), Some(800));
}

#[test]
fn a_post_is_sent_once_and_says_whether_it_may_have_arrived() {
    let h = Harness::default();
    let broken = TransportError::BrokenOff { phase: Phase::FirstByte, detail: "the connection was closed".into() };
    h.transport.post("/api/v2/accounts/1/jobs/7/run/", Reply::Fail(broken));
    let failure = h.client().trigger(7, "model-sync sync 1").expect_err("broken off");
    assert!(failure.may_have_arrived);
    h.transport.post("/api/v2/accounts/1/jobs/7/run/", Reply::error(400, "The request was invalid."));
    assert!(!h.client().trigger(7, "x").expect_err("refused").may_have_arrived);
    h.transport.post("/api/v2/accounts/1/jobs/7/run/", Reply::Fail(TransportError::Unreachable("refused".into())));
    assert!(!h.client().trigger(7, "x").expect_err("unreachable").may_have_arrived);
    let (_, _, body) = &h.transport.sent()[0];
    assert_eq!(body.as_deref(), Some(&br#"{"cause":"model-sync sync 1"}"#[..]));
    assert!(h.clock.sleeps().is_empty(), "a POST is never retried by the client");
}

#[test]
fn a_missing_artifact_is_none_and_a_present_one_is_streamed() {
    let h = Harness::default();
    h.transport.get("/api/v2/accounts/1/runs/5/artifacts/catalog.json", Reply::error(404, "No artifact")).get(
        "/api/v2/accounts/1/runs/5/artifacts/run_results.json?step=3",
        Reply::json(200, json!({"x": 1})).with_header("content-length", "7"),
    );
    let read = |body: &mut dyn Read, length: Option<u64>, gzip: bool| {
        let mut s = String::new();
        body.read_to_string(&mut s).map_err(|e| Error::Other(e.to_string()))?;
        Ok((s, length, gzip))
    };
    assert_eq!(h.client().artifact(5, "catalog.json", None, read).expect("404 is none"), None);
    let read_back = h.client().artifact(5, "run_results.json", Some(3), read).expect("read");
    assert_eq!(read_back, Some((r#"{"x":1}"#.to_string(), Some(7), false)), "the body and its announced length");
}

#[test]
fn an_artifact_says_whether_it_is_gzipped_and_an_encoding_not_asked_for_is_refused() {
    let h = Harness::default();
    let path = "/api/v2/accounts/1/runs/5/artifacts/manifest.json";
    h.transport
        .get(path, Reply::json(200, json!({})).with_header("content-encoding", " GZIP "))
        .get(path, Reply::json(200, json!({})).with_header("content-encoding", "br"));
    let gzip = h.client().artifact(5, "manifest.json", None, |_, _, gzip| Ok(gzip)).expect("read");
    assert_eq!(gzip, Some(true));
    let refused = h.client().artifact(5, "manifest.json", None, |_, _, _| Ok(())).unwrap_err();
    assert_eq!(refused.kind(), "upstream", "{refused}");
    assert!(refused.message().contains("`br`"), "{refused}");
}

#[test]
fn an_artifact_started_ahead_that_fails_is_asked_for_again_with_the_usual_retries() {
    let h = Harness::default();
    let path = "/api/v2/accounts/1/runs/5/artifacts/manifest.json";
    h.transport.get(path, Reply::error(503, "Busy")).get(path, Reply::json(200, json!({"x": 2})));
    let client = h.client();
    let ahead = client.start_artifact(5, "manifest.json", None);
    let body = client
        .read_artifact(ahead, |body, _, _| {
            let mut s = String::new();
            body.read_to_string(&mut s).map_err(|e| Error::Other(e.to_string()))?;
            Ok(s)
        })
        .expect("read on the second request");
    assert_eq!(body.as_deref(), Some(r#"{"x":2}"#));
    let events = h.transport.events();
    assert_eq!(events, [format!("start {path}"), format!("send {path}"), format!("send {path}")]);
}
