//! `configure` against the emulator, through the real component in the real host.

mod common;

use common::Bench;
use dbt_cloud_emulator::world::ids;
use model_sync_host::{CallError, api};

#[tokio::test]
async fn configure_finds_account_project_and_jobs() {
    let bench = Bench::jaffle("configure-ok");
    let mut session = bench.session().await;
    let c = session
        .configure(&bench.settings())
        .await
        .expect("configure succeeds");
    assert_eq!((c.account_id, c.project_id), (ids::ACCOUNT, ids::PROJECT));
    assert_eq!(c.project_name, "jaffle_shop");
    let docs = c.docs_job.expect("docs job");
    assert_eq!(
        (docs.id, docs.chosen_by.as_str()),
        (ids::DOCS_JOB, "project")
    );
    // The newest docs run failed and another is running: the latest usable one is older.
    assert_eq!(docs.latest_run_id, Some(ids::DOCS_RUN));
    assert_eq!(
        c.freshness_job.expect("freshness job").latest_run_id,
        Some(ids::FRESHNESS_RUN)
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let requests = bench.emulator.requests();
    assert!(
        requests.iter().all(|r| r.routed),
        "unexpected requests: {requests:?}"
    );
    for r in &requests {
        let auth = r
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.as_str());
        assert_eq!(auth, Some("Bearer dbtc_demo_service_token"));
        let agent = r
            .headers
            .iter()
            .find(|(k, _)| k == "user-agent")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        assert!(agent.starts_with("model-sync/"), "{agent}");
    }
}

#[tokio::test]
async fn a_pasted_url_gives_account_and_project() {
    let bench = Bench::jaffle("configure-url");
    let mut session = bench.session().await;
    let settings = api::Settings {
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
    let c = session
        .configure(&settings)
        .await
        .expect("configure succeeds");
    assert_eq!((c.account_id, c.project_id), (ids::ACCOUNT, ids::PROJECT));
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized() {
    let bench = Bench::jaffle("configure-401");
    let mut session = bench.session().await;
    let settings = api::Settings {
        api_token: "dbtc_wrong".into(),
        ..bench.settings()
    };
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
    let settings = api::Settings {
        project_id: Some(999),
        ..bench.settings()
    };
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
    let settings = api::Settings {
        account_id: Some(12345),
        ..bench.settings()
    };
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
    let c = session
        .configure(&bench.settings())
        .await
        .expect("configure succeeds");
    assert!(c.freshness_job.is_none());
    assert!(
        c.warnings.iter().any(|w| w.contains("freshness")),
        "{:?}",
        c.warnings
    );
}

#[tokio::test]
async fn bad_settings_are_refused_before_any_request() {
    let bench = Bench::jaffle("configure-invalid");
    let base = bench.settings();
    let cases: Vec<(&str, api::Settings)> = vec![
        (
            "api-token",
            api::Settings {
                api_token: String::new(),
                ..base.clone()
            },
        ),
        (
            "api-token",
            api::Settings {
                api_token: "a token".into(),
                ..base.clone()
            },
        ),
        (
            "access-url",
            api::Settings {
                access_url: Some("ftp://example.com".into()),
                ..base.clone()
            },
        ),
        (
            "access-url",
            api::Settings {
                access_url: Some("http://cloud.getdbt.com".into()),
                ..base.clone()
            },
        ),
        (
            "access-url",
            api::Settings {
                access_url: Some("https://u:p@cloud.getdbt.com".into()),
                ..base.clone()
            },
        ),
        (
            "project-id",
            api::Settings {
                project_id: None,
                ..base.clone()
            },
        ),
        (
            "account-id",
            api::Settings {
                account_id: Some(0),
                ..base.clone()
            },
        ),
    ];
    for (field, settings) in cases {
        let mut session = bench.session().await;
        match session.configure(&settings).await {
            Err(CallError::Plugin(api::Error::InvalidSetting(p))) => assert_eq!(p.field, field),
            other => panic!("{field}: expected invalid-setting, got {other:?}"),
        }
    }
    assert!(bench.emulator.requests().is_empty(), "requests were sent");
}
