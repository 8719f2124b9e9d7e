//! `configure` against the emulator, through the real component in the real host.

use crate::common;

use common::Bench;
use dbt_cloud_emulator::world::ids;
use model_sync_host::{CallError, api};

#[tokio::test]
async fn configure_finds_account_project_and_jobs() {
    let bench = Bench::jaffle("configure-ok");
    let mut session = bench.session().await;
    let c = session.configure(&bench.settings()).await.expect("configure succeeds");
    assert_eq!((c.account_id, c.project_id), (ids::ACCOUNT, ids::PROJECT));
    assert_eq!(c.project_name, "jaffle_shop");
    let docs = c.docs_job.expect("docs job");
    assert_eq!((docs.id, docs.chosen_by.as_str()), (ids::DOCS_JOB, "project"));
    // The newest docs run failed and another is running: the latest usable one is older.
    assert_eq!(docs.latest_run_id, Some(ids::DOCS_RUN));
    assert_eq!(c.freshness_job.expect("freshness job").latest_run_id, Some(ids::FRESHNESS_RUN));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let requests = bench.emulator.requests();
    assert!(requests.iter().all(|r| r.routed), "unexpected requests: {requests:?}");
    for r in &requests {
        let auth = r.headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str());
        assert_eq!(auth, Some("Bearer dbtc_demo_service_token"));
        let agent = r.headers.iter().find(|(k, _)| k == "user-agent").map(|(_, v)| v.as_str()).unwrap_or("");
        assert!(agent.starts_with("model-sync/"), "{agent}");
    }
}

#[tokio::test]
async fn a_pasted_url_gives_account_and_project() {
    let bench = Bench::jaffle("configure-url");
    let mut session = bench.session().await;
    let settings = model_sync_host::ConnectionSettings {
        access_url: Some(format!(
            "{}/next/deploy/{}/projects/{}/jobs",
            bench.emulator.url(),
            ids::ACCOUNT,
            ids::PROJECT
        )),
        account_id: None,
        project_id: None,
        ..bench.settings()
    };
    let c = session.configure(&settings).await.expect("configure succeeds");
    assert_eq!((c.account_id, c.project_id), (ids::ACCOUNT, ids::PROJECT));
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized() {
    let bench = Bench::jaffle("configure-401");
    let mut session = bench.session().await;
    let settings = model_sync_host::ConnectionSettings { api_token: "dbtc_wrong".into(), ..bench.settings() };
    match session.configure(&settings).await {
        Err(CallError::Plugin(api::Error::Unauthorized(m))) => {
            assert!(m.contains("Invalid token"), "{m}");
            assert!(!m.contains("dbtc_wrong"), "the token leaked: {m}");
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_project_is_not_found() {
    let bench = Bench::jaffle("configure-404");
    let mut session = bench.session().await;
    let settings = model_sync_host::ConnectionSettings { project_id: Some(999), ..bench.settings() };
    match session.configure(&settings).await {
        Err(CallError::Plugin(api::Error::NotFound(m))) => {
            assert!(m.contains("project 999"), "{m}")
        }
        other => panic!("expected not-found, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_account_is_not_found() {
    let bench = Bench::jaffle("configure-404-account");
    let mut session = bench.session().await;
    let settings = model_sync_host::ConnectionSettings { account_id: Some(12345), ..bench.settings() };
    match session.configure(&settings).await {
        Err(CallError::Plugin(api::Error::NotFound(m))) => {
            assert!(m.contains("account 12345"), "{m}")
        }
        other => panic!("expected not-found, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_freshness_job_is_a_warning() {
    let mut world = dbt_cloud_emulator::World::jaffle_shop();
    world.projects[0].freshness_job_id = None;
    world.jobs.retain(|j| j.id != ids::FRESHNESS_JOB);
    let bench = Bench::new("configure-no-freshness", world);
    let mut session = bench.session().await;
    let c = session.configure(&bench.settings()).await.expect("configure succeeds");
    assert!(c.freshness_job.is_none());
    assert!(c.warnings.iter().any(|w| w.contains("freshness")), "{:?}", c.warnings);
}

#[tokio::test]
async fn bad_settings_are_refused_before_any_request() {
    let bench = Bench::jaffle("configure-invalid");
    let base = bench.settings();
    let url = |u: &str| model_sync_host::ConnectionSettings { access_url: Some(u.to_string()), ..base.clone() };
    let token = |t: &str| model_sync_host::ConnectionSettings { api_token: t.into(), ..base.clone() };
    let long_url = format!("https://{}.us1.dbt.com", "a".repeat(3000));
    let cases: Vec<(&str, model_sync_host::ConnectionSettings)> = vec![
        ("api-token", token("")),
        ("api-token", token("dbtc_abc def")),
        ("api-token", token("dbtc_abc\n")),
        ("api-token", token("dbtc_abc\r\nX-Injected: 1")),
        ("api-token", token("dbtc_tökén")),
        ("api-token", token(&"t".repeat(5000))),
        ("access-url", url("ftp://cloud.getdbt.com")),
        ("access-url", url("file:///etc/passwd")),
        ("access-url", url("javascript:alert(1)")),
        ("access-url", url("http://cloud.getdbt.com")),
        ("access-url", url("http://[2001:db8::1]:8080")),
        ("access-url", url("https://user:secret@cloud.getdbt.com")),
        ("access-url", url("https://clоud.getdbt.com")),
        ("access-url", url("https://cloud.getdbt.com/deploy/../../etc/passwd")),
        ("access-url", url("https://cloud.getdbt.com/%2e%2e/%2e%2e/")),
        ("access-url", url("https://cloud.getdbt .com")),
        ("access-url", url("https://cloud.getdbt.com\u{0}/")),
        ("access-url", url(&long_url)),
        ("access-url", url("https://")),
        ("access-url", url("https://cloud.getdbt.com/deploy/12a/projects/3/")),
        ("access-url", url("https://cloud.getdbt.com/deploy/99999999999999999999999/projects/3/")),
        ("account-id", model_sync_host::ConnectionSettings { account_id: Some(0), ..base.clone() }),
        ("project-id", model_sync_host::ConnectionSettings { project_id: Some(0), ..base.clone() }),
        ("docs-job-id", model_sync_host::ConnectionSettings { docs_job_id: Some(0), ..base.clone() }),
        ("project-id", model_sync_host::ConnectionSettings { project_id: None, ..base.clone() }),
        ("account-id", model_sync_host::ConnectionSettings { account_id: None, access_url: None, ..base.clone() }),
        (
            "account-id",
            model_sync_host::ConnectionSettings {
                access_url: Some(format!("{}/deploy/1/projects/{}/", bench.emulator.url(), ids::PROJECT)),
                ..base.clone()
            },
        ),
    ];
    assert!(cases.len() >= 20);
    for (field, settings) in cases {
        let mut session = bench.session().await;
        match session.configure(&settings).await {
            Err(CallError::Plugin(api::Error::InvalidSetting(p))) => {
                assert_eq!(p.field, field, "{:?}: {}", settings.access_url, p.message);
                assert!(!p.message.is_empty());
                if field == "api-token" && !settings.api_token.expose().is_empty() {
                    assert!(!p.message.contains(settings.api_token.expose()), "the token is echoed");
                }
            }
            other => panic!("{field} {:?}: expected invalid-setting, got {other:?}", settings.access_url),
        }
    }
    assert!(bench.emulator.requests().is_empty(), "requests were sent: {:?}", bench.emulator.requests());
}
