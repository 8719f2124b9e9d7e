//! Whole syncs, run natively over a scripted dbt Cloud and an in-memory
//! history: run choice, reuse of the previous catalog, trigger and wait.

use serde_json::{Value, json};

use super::*;
use crate::api::models::{Account, Job, Project};
use crate::connect::{ChosenBy, JobSummary};
use crate::history::KvStore;
use crate::http::{Method, Phase, TransportError};
use crate::testing::{Harness, MemStore, Reply, run_json, run_with_steps};

const DOCS_JOB: u64 = 10;
const RUNS: &str = "/api/v2/accounts/1/runs/";

fn connection() -> Connection {
    let job: Job = serde_json::from_value(json!({"id": DOCS_JOB, "name": "Nightly", "project_id": 2})).expect("job");
    Connection {
        api_base_url: crate::testing::BASE.into(),
        account: serde_json::from_value::<Account>(json!({"id": 1, "name": "Acme"})).expect("account"),
        project: serde_json::from_value::<Project>(json!({"id": 2, "name": "shop"})).expect("project"),
        docs_job: Some(JobSummary {
            job,
            chosen_by: ChosenBy::Project,
            latest_run_id: None,
            latest_run_finished_at: None,
        }),
        freshness_job: None,
        warnings: Vec::new(),
    }
}

fn manifest() -> Value {
    json!({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
      "nodes": {
        "model.shop.orders": {"unique_id": "model.shop.orders", "resource_type": "model", "name": "orders",
          "raw_code": "select * from {{ ref('stg') }}", "columns": {"id": {"name": "id"}}},
        "test.shop.unique_orders_id.1": {"unique_id": "test.shop.unique_orders_id.1", "resource_type": "test",
          "name": "unique_orders_id", "attached_node": "model.shop.orders", "column_name": "id",
          "test_metadata": {"name": "unique"}}}})
}

fn run_results() -> Value {
    json!({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"},
      "args": {"which": "build"},
      "results": [{"unique_id": "model.shop.orders", "status": "success"},
                  {"unique_id": "test.shop.unique_orders_id.1", "status": "fail", "failures": 2}]})
}

/// Expects the choice of run 100 of the docs job: its list, then the run.
fn expect_choice(h: &Harness) {
    h.transport
        .get(
            &format!("{RUNS}?job_definition_id={DOCS_JOB}&status=10&order_by=-finished_at&limit=100&offset=0"),
            Reply::page(vec![run_json(100, DOCS_JOB, 10, 21)], 1),
        )
        .get(
            &format!("{RUNS}100/?include_related=run_steps,job,trigger"),
            Reply::data(run_with_steps(100, DOCS_JOB, 10, &["build", "docs generate"])),
        );
}

/// Expects the downloads of run 100: the manifest, the build step's results, no catalog.json.
fn expect_downloads(h: &Harness) {
    h.transport
        .get(&format!("{RUNS}100/artifacts/manifest.json"), Reply::json(200, manifest()))
        .get(&format!("{RUNS}100/artifacts/run_results.json?step=2"), Reply::json(200, run_results()))
        .get(&format!("{RUNS}100/artifacts/catalog.json"), Reply::error(404, "No artifact catalog.json"));
}

fn options(force: bool) -> SyncOptions {
    SyncOptions { force, triggered_by: "test".into(), ..SyncOptions::default() }
}

#[test]
fn a_sync_reads_the_build_steps_results_and_records_what_it_used() {
    let (h, store) = (Harness::default(), MemStore::default());
    expect_choice(&h);
    expect_downloads(&h);
    let history = History::new(&store);
    let record = run(&h.client(), &connection(), &options(false), &history, &h.log).expect("sync");
    let catalog = history.catalog(record.id).expect("readable").expect("stored");
    assert_eq!(
        record.status,
        SyncStatus::SucceededWithWarnings,
        "no freshness job is a warning: {:?}",
        record.warnings
    );
    assert_eq!(record.started_at, "2026-11-23T00:00:00.000Z", "timestamps come from the clock");
    assert_eq!(record.runs[0].artifacts, vec!["manifest.json", "run_results.json"]);
    let orders = catalog.nodes.iter().find(|n| n.unique_id == "model.shop.orders").expect("orders");
    assert_eq!(orders.raw_code.as_deref(), Some("select * from {{ ref('stg') }}"), "code is kept by default");
    // The artifacts' requests all go out before the first is read.
    let events = h.transport.events();
    let artifacts: Vec<&str> = events.iter().map(String::as_str).filter(|e| e.contains("/artifacts/")).collect();
    let (m, r, c) = (
        format!("{RUNS}100/artifacts/manifest.json"),
        format!("{RUNS}100/artifacts/run_results.json?step=2"),
        format!("{RUNS}100/artifacts/catalog.json"),
    );
    assert_eq!(
        artifacts,
        [
            format!("start {m}"),
            format!("start {r}"),
            format!("start {c}"),
            format!("send {m}"),
            format!("send {r}"),
            format!("send {c}")
        ]
    );
    assert_eq!(orders.test_outcomes[0].status.as_deref(), Some("fail"));
    assert!(orders.columns[0].primary_key);
}

#[test]
fn unchanged_runs_reuse_the_previous_catalog_and_force_downloads_again() {
    let (h, store) = (Harness::default(), MemStore::default());
    let history = History::new(&store);
    expect_choice(&h);
    expect_downloads(&h);
    let first = run(&h.client(), &connection(), &options(false), &history, &h.log).expect("first sync");
    let parts = || (store.list("blob/").expect("list").len(), store.list("chunk/").expect("list").len());
    let stored = parts();
    // The same runs: no artifact is requested (the fake fails on any).
    expect_choice(&h);
    let second = run(&h.client(), &connection(), &options(false), &history, &h.log).expect("second sync");
    assert_eq!((second.id, &second.runs, &second.counts), (2, &first.runs, &first.counts));
    assert_eq!(history.catalog(2).expect("read"), history.catalog(1).expect("read"));
    assert_eq!(parts(), stored, "a reused catalog costs a record and an index root, no entries");
    let changes = second.changes.expect("compared");
    assert_eq!((changes.previous_sync_id, changes.added, changes.removed, changes.modified), (1, 0, 0, 0));
    assert!(h.logged("reusing its catalog"));
    expect_choice(&h);
    expect_downloads(&h);
    let third = run(&h.client(), &connection(), &options(true), &history, &h.log).expect("forced sync");
    assert_eq!(third.changes, Some(ChangeSummary::unchanged(2)), "the same artifacts: nothing changed");
    assert_eq!(parts(), stored, "the same entries are not stored again");
    assert_eq!(history.list(None).expect("history").len(), 3);
}

#[test]
fn a_failed_sync_is_recorded_and_keeps_the_history() {
    let (h, store) = (Harness::default(), MemStore::default());
    let history = History::new(&store);
    expect_choice(&h);
    expect_downloads(&h);
    run(&h.client(), &connection(), &options(false), &history, &h.log).expect("first sync");
    expect_choice(&h);
    h.transport.get(&format!("{RUNS}100/artifacts/manifest.json"), Reply::Http(200, vec![], b"{\"nodes\": [".to_vec()));
    let e = run(&h.client(), &connection(), &options(true), &history, &h.log).expect_err("truncated manifest");
    assert_eq!(e.kind(), "bad-artifact");
    let failed = history.get(2).expect("read").expect("recorded");
    assert_eq!((failed.status, failed.error.map(|e| e.kind())), (SyncStatus::Failed, Some("bad-artifact")));
    assert_eq!(history.latest_with_catalog(None).expect("read").map(|r| r.id), Some(1));
    assert!(history.catalog(1).expect("read").is_some());
}

#[test]
fn a_trigger_whose_response_was_lost_is_found_by_its_cause_not_sent_again() {
    let (h, store) = (Harness::default(), MemStore::default());
    let cause = "model-sync sync 1 (test)";
    let mut started = run_json(300, DOCS_JOB, 1, 22);
    started["trigger"] = json!({"cause": cause});
    h.transport
        .post(
            "/api/v2/accounts/1/jobs/10/run/",
            Reply::Fail(TransportError::BrokenOff { phase: Phase::FirstByte, detail: "closed".into() }),
        )
        .get(
            &format!("{RUNS}?job_definition_id=10&order_by=-id&include_related=trigger&limit=100&offset=0"),
            Reply::page(vec![started, run_json(299, DOCS_JOB, 10, 21)], 2),
        )
        .get(
            &format!("{RUNS}300/?include_related=run_steps,job,trigger"),
            Reply::data(run_with_steps(300, DOCS_JOB, 3, &["build"])),
        )
        .get(
            &format!("{RUNS}300/?include_related=run_steps,job,trigger"),
            Reply::data(run_with_steps(300, DOCS_JOB, 10, &["build"])),
        )
        .get(&format!("{RUNS}300/artifacts/manifest.json"), Reply::json(200, manifest()))
        .get(&format!("{RUNS}300/artifacts/run_results.json?step=2"), Reply::json(200, run_results()))
        .get(&format!("{RUNS}300/artifacts/catalog.json"), Reply::error(404, "none"));
    let opts = SyncOptions { run_job: true, ..options(false) };
    let record = run(&h.client(), &connection(), &opts, &History::new(&store), &h.log).expect("sync");
    assert_eq!(record.runs[0].run_id, 300);
    assert_eq!(h.transport.count(Method::Post), 1, "the run was started once");
    let polls: Vec<u128> = h.clock.sleeps().iter().map(|d| d.as_millis()).collect();
    assert_eq!(polls, vec![500], "polls wait without sleeping for real");
}

#[test]
fn a_run_that_outlasts_the_wait_is_cancelled_when_asked() {
    let (h, store) = (Harness::default(), MemStore::default());
    h.transport.post("/api/v2/accounts/1/jobs/10/run/", Reply::data(run_json(301, DOCS_JOB, 1, 22)));
    // 2 s of waiting: polls after 0, 0.5, 1.25 and 2 s (the last pause is cut to the deadline).
    for _ in 0..4 {
        h.transport.get(
            &format!("{RUNS}301/?include_related=run_steps,job,trigger"),
            Reply::data(run_json(301, DOCS_JOB, 3, 22)),
        );
    }
    h.transport.post("/api/v2/accounts/1/runs/301/cancel/", Reply::data(run_json(301, DOCS_JOB, 30, 22)));
    let opts = SyncOptions { run_job: true, wait_timeout_secs: Some(2), cancel_on_timeout: true, ..options(false) };
    let e = run(&h.client(), &connection(), &opts, &History::new(&store), &h.log).expect_err("times out");
    assert_eq!(e.kind(), "timeout");
    assert!(e.message().contains("did not finish within 2s") && e.message().contains("was cancelled"), "{e}");
}
