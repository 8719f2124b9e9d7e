//! dbt Cloud as it really is: pagination, run selection, retries, trigger and
//! wait, through the real component in the real host.

use crate::common;

use common::SyncAndRead;

use common::{Bench, options};
use dbt_cloud_emulator::FaultKind;
use dbt_cloud_emulator::world::{Job, Run, World, ids, jaffle};
use model_sync_host::{CallError, api};

fn docs_job(world: &World) -> Job {
    world.jobs.iter().find(|j| j.id == ids::DOCS_JOB).cloned().expect("docs job")
}

#[tokio::test]
async fn the_latest_usable_run_is_found_on_the_third_page() {
    let mut world = World::jaffle_shop();
    let job = docs_job(&world);
    world.runs.retain(|r| r.job_id != ids::DOCS_JOB);
    let first = 80_000_000_000_000u64;
    for i in 0..250u64 {
        let mut run = Run::finished(first + i, &job, 10, 1 + (i / 10) as u32);
        run.finished_at = Some(format!("2026-10-01 00:00:00.{:06}+00:00", i));
        if i >= 247 {
            run.status = 20; // the newest three failed
        }
        if i == 40 {
            run = run.with_docs(jaffle::MANIFEST, jaffle::RUN_RESULTS, None);
            run.finished_at = Some(format!("2026-10-01 00:00:00.{:06}+00:00", i));
        }
        world.runs.push(run);
    }
    let bench = Bench::new("api-pages", world);
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync");
    assert_eq!(report.sync.runs[0].run_id, first + 40);
    let offsets: Vec<String> = bench
        .emulator
        .requests()
        .iter()
        .filter(|r| {
            r.path.ends_with("/runs/")
                && r.query.iter().any(|(k, v)| k == "job_definition_id" && v == &ids::DOCS_JOB.to_string())
        })
        .flat_map(|r| r.query.iter().filter(|(k, _)| k == "offset").map(|(_, v)| v.clone()).collect::<Vec<_>>())
        .collect();
    assert!(offsets.contains(&"200".to_string()), "pages read: {offsets:?}");
    for r in bench.emulator.requests() {
        let limit = r.query.iter().find(|(k, _)| k == "limit").map(|(_, v)| v.parse::<u32>().expect("numeric"));
        assert!(limit.is_none_or(|l| l <= 100));
    }
}

#[tokio::test]
async fn jobs_are_inferred_from_a_thousand_jobs_when_the_project_sets_none() {
    let mut world = World::jaffle_shop();
    world.projects[0].docs_job_id = None;
    world.projects[0].freshness_job_id = None;
    let template = docs_job(&world);
    let mut filler: Vec<Job> = (0..1000u64)
        .map(|i| Job {
            id: 60_000_000_000_000 + i,
            name: format!("job {i}"),
            generate_docs: false,
            execute_steps: vec!["dbt run".into()],
            ..template.clone()
        })
        .collect();
    world.jobs.append(&mut filler);
    let bench = Bench::new("api-infer", world);
    let mut session = bench.session().await;
    let c = session.configure(&bench.settings()).await.expect("configure");
    let docs = c.docs_job.expect("a docs job was inferred");
    assert_eq!((docs.id, docs.chosen_by.as_str()), (ids::DOCS_JOB, "inferred"));
    assert_eq!(c.freshness_job.expect("freshness job inferred").id, ids::FRESHNESS_JOB);
    assert!(c.warnings.iter().any(|w| w.contains("inferred")), "{:?}", c.warnings);
    let pages = bench.emulator.requests().iter().filter(|r| r.path.ends_with("/jobs/")).count();
    assert!(pages >= 11, "all pages of jobs were read: {pages}");
}

#[tokio::test]
async fn the_latest_run_on_a_branch() {
    let mut world = World::jaffle_shop();
    let job = docs_job(&world);
    let mut run = Run::finished(ids::DOCS_RUN - 5, &job, 10, 19).with_docs(jaffle::MANIFEST, jaffle::RUN_RESULTS, None);
    run.git_branch = "release/2026-11".into();
    world.runs.push(run);
    let bench = Bench::new("api-branch", world);
    let mut session = bench.configured().await;
    let opts = api::SyncOptions { git_branch: Some("release/2026-11".into()), ..options() };
    let report = session.sync(&opts).await.expect("sync");
    assert_eq!(report.sync.runs[0].run_id, ids::DOCS_RUN - 5);
    let missing = api::SyncOptions { git_branch: Some("nope".into()), ..options() };
    assert!(matches!(session.sync(&missing).await, Err(CallError::Plugin(api::Error::NotFound(_)))));
}

#[tokio::test]
async fn too_many_requests_twice_then_success() {
    let bench = Bench::jaffle("api-429");
    bench.emulator.fault("/projects/", 2, FaultKind::Status { status: 429, retry_after: Some(1) });
    let mut session = bench.session().await;
    let started = std::time::Instant::now();
    session.configure(&bench.settings()).await.expect("configure succeeds after two 429s");
    assert!(started.elapsed() >= std::time::Duration::from_secs(2), "Retry-After was honoured");
    let hits = bench.emulator.requests().iter().filter(|r| r.path.contains("/projects/")).count();
    assert_eq!(hits, 3);
    assert!(bench.log_lines().iter().any(|l| l.contains("retrying")), "{:?}", bench.log_lines());
}

#[tokio::test]
async fn service_unavailable_then_success() {
    let bench = Bench::jaffle("api-503");
    bench.emulator.fault("manifest.json", 1, FaultKind::Status { status: 503, retry_after: None });
    bench.emulator.fault("/runs/", 1, FaultKind::Html);
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync succeeds after a 503 and an HTML 502");
    assert_eq!(report.sync.status, api::SyncStatus::Succeeded);
}

#[tokio::test]
async fn a_persistent_html_error_page_is_an_upstream_error() {
    let bench = Bench::jaffle("api-html");
    bench.emulator.fault("/accounts/", 10, FaultKind::Html);
    let mut session = bench.session().await;
    match session.configure(&bench.settings()).await {
        Err(CallError::Plugin(api::Error::Upstream(m))) => assert!(m.contains("502"), "{m}"),
        other => panic!("expected upstream, got {other:?}"),
    }
}

#[tokio::test]
async fn forbidden_says_which_permission() {
    let bench = Bench::jaffle("api-403");
    bench.emulator.fault("/projects/", 1, FaultKind::Status { status: 403, retry_after: None });
    let mut session = bench.session().await;
    match session.configure(&bench.settings()).await {
        Err(CallError::Plugin(api::Error::Forbidden(m))) => {
            assert!(m.contains("permission"), "{m}")
        }
        other => panic!("expected forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn run_job_waits_for_a_slow_run() {
    let bench = Bench::jaffle("api-run-job");
    bench.emulator.with_world(|w| w.polls_until_done = 3);
    let mut session = bench.configured().await;
    let report = session.sync(&api::SyncOptions { run_job: true, ..options() }).await.expect("sync");
    let run_id = report.sync.runs[0].run_id;
    assert!(run_id > ids::DOCS_RUN + 30, "a new run: {run_id}");
    let requests = bench.emulator.requests();
    let posts: Vec<_> = requests.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&posts[0].body).expect("JSON body");
    assert!(body["cause"].as_str().unwrap_or("").starts_with("model-sync sync 1"), "{body}");
    assert!(posts[0].headers.iter().any(|(k, v)| k == "content-length" && v == &posts[0].body.len().to_string()));
    let polls = requests.iter().filter(|r| r.path.ends_with(&format!("/runs/{run_id}/"))).count();
    assert!(polls >= 3, "polled {polls} times");
}

#[tokio::test]
async fn run_job_deadline_gives_the_run_and_cancels_it() {
    let bench = Bench::jaffle("api-deadline");
    bench.emulator.with_world(|w| w.polls_until_done = 10_000);
    let mut session = bench.configured().await;
    let opts = api::SyncOptions { run_job: true, wait_timeout_secs: Some(2), cancel_on_timeout: true, ..options() };
    let run_id = match session.sync(&opts).await {
        Err(CallError::Plugin(api::Error::Timeout(m))) => {
            assert!(m.contains("did not finish within 2s") && m.contains("/runs/") && m.contains("cancelled"), "{m}");
            bench.emulator.with_world(|w| w.runs.iter().map(|r| r.id).max().expect("runs"))
        }
        other => panic!("expected timeout, got {other:?}"),
    };
    let status = bench.emulator.with_world(|w| w.runs.iter().find(|r| r.id == run_id).map(|r| r.status));
    assert_eq!(status, Some(30), "the run was cancelled");
}

#[tokio::test]
async fn a_failed_triggered_run_is_reported_with_its_message() {
    let bench = Bench::jaffle("api-run-error");
    bench.emulator.with_world(|w| {
        w.polls_until_done = 1;
        w.triggered_status = 20;
    });
    let mut session = bench.configured().await;
    match session.sync(&api::SyncOptions { run_job: true, ..options() }).await {
        Err(CallError::Plugin(api::Error::RunFailed(m))) => {
            assert!(m.contains("Database Error") && m.contains("in step `Invoke dbt with `dbt build``"), "{m}")
        }
        other => panic!("expected run-failed, got {other:?}"),
    }
    let log = bench.log_lines().join("\n");
    assert!(log.contains("relation \"raw.orders\" does not exist"), "the failing step's log tail is shown: {log}");
}

#[tokio::test]
async fn a_trigger_whose_response_was_lost_is_not_sent_twice() {
    let bench = Bench::jaffle("api-lost-trigger");
    bench.emulator.with_world(|w| w.polls_until_done = 1);
    bench.emulator.fault("/run/", 1, FaultKind::CutOff(0));
    let mut session = bench.configured().await;
    let report = session.sync(&api::SyncOptions { run_job: true, ..options() }).await.expect("sync");
    let posts = bench.emulator.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1, "the run was found by its cause instead of being started again");
    assert!(report.sync.runs[0].run_id > ids::DOCS_RUN + 30);
}

#[tokio::test]
async fn an_account_without_api_access_says_so() {
    let bench = Bench::jaffle("api-plan");
    bench.emulator.fault(
        "/accounts/",
        1,
        FaultKind::Error { status: 401, message: "The API is not accessible to unpaid accounts.".into() },
    );
    let mut session = bench.session().await;
    match session.configure(&bench.settings()).await {
        Err(CallError::Plugin(api::Error::ApiNotEnabled(m))) => assert!(m.contains("Team or Enterprise"), "{m}"),
        other => panic!("expected api-not-enabled, got {other:?}"),
    }
}

#[tokio::test]
async fn an_inferred_job_prefers_the_production_environment() {
    let mut world = World::jaffle_shop();
    world.projects[0].docs_job_id = None;
    let staging = Job {
        id: ids::DOCS_JOB + 100,
        name: "Staging docs".into(),
        deployment_type: Some("staging".into()),
        ..docs_job(&world)
    };
    // The staging job has the newest successful run.
    let run =
        Run::finished(ids::DOCS_RUN + 50, &staging, 10, 23).with_docs(jaffle::MANIFEST, jaffle::RUN_RESULTS, None);
    world.jobs.push(staging);
    world.runs.push(run);
    let bench = Bench::new("api-production", world);
    let mut session = bench.session().await;
    let c = session.configure(&bench.settings()).await.expect("configure");
    assert_eq!(c.docs_job.expect("docs job").id, ids::DOCS_JOB);
}

#[tokio::test]
async fn a_failed_run_can_be_synced_when_asked_for_by_id() {
    let bench = Bench::jaffle("api-failed-run");
    let mut session = bench.configured().await;
    let failed = ids::DOCS_RUN + 10;
    let report = session.sync(&api::SyncOptions { run_id: Some(failed), ..options() }).await.expect("sync");
    assert_eq!(report.sync.runs[0].run_id, failed);
    assert!(report.catalog.nodes.iter().any(|n| n.last_run.is_some()), "its run_results are read");
}
