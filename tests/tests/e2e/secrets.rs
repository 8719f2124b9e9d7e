//! The API token never leaves: servers that echo it back in every place a
//! server can (a 200 body, an error message, an HTML page, a `Location`, a
//! run's status message and step log, an artifact) find it nowhere: not in
//! errors, log lines, progress, the sync history on disk, or the CLI's output.
//! The host is given no secrets here, so what is proved is the plugin's own
//! scrubbing; the host's is proved with the hostile component.

use crate::common;

use std::sync::Arc;

use common::hostile::small_policy;
use common::{Bench, SyncAndRead, options};
use dbt_cloud_emulator::FaultKind;
use model_sync_host::{Event, Origin, SandboxPolicy, Session, api};

/// A session of `bench` whose host knows no secret.
async fn session(bench: &Bench) -> Session {
    let options = model_sync_host::SessionOptions { secrets: vec![], ..bench.options(bench.policy()) };
    common::runtime().instantiate(options).await.expect("instantiates")
}

fn token(bench: &Bench) -> String {
    bench.emulator.with_world(|w| w.token.clone())
}

/// Where the token was found: in `texts`, the events, or the state directory's files.
fn leaks(bench: &Bench, texts: &[String]) -> Vec<String> {
    let token = token(bench);
    let mut found: Vec<String> = texts.iter().filter(|t| t.contains(&token)).cloned().collect();
    for e in bench.events.lock().expect("events").iter() {
        let text = match e {
            Event::Log { message, .. } => message.clone(),
            Event::Progress { step, .. } => step.clone(),
            Event::Denied(m) => m.clone(),
            Event::LimitReached(l) => l.to_string(),
        };
        if text.contains(&token) {
            found.push(format!("event: {text}"));
        }
    }
    for file in std::fs::read_dir(&bench.dir).expect("state dir").flatten() {
        let bytes = std::fs::read(file.path()).unwrap_or_default();
        if bytes.windows(token.len()).any(|w| w == token.as_bytes()) {
            found.push(format!("file: {}", file.path().display()));
        }
    }
    found
}

/// The text a failed configure gives, or the connection's warnings.
async fn configure_texts(bench: &Bench) -> Vec<String> {
    let mut s = session(bench).await;
    match s.configure(&bench.settings()).await {
        Ok(c) => c.warnings,
        Err(e) => vec![e.to_string()],
    }
}

#[tokio::test]
async fn a_token_echoed_in_a_body_where_a_number_belongs_is_scrubbed() {
    let bench = Bench::jaffle("echo-body");
    let body = format!(r#"{{"status":{{"code":200,"is_success":true}},"data":{{"id":"{}","name":1}}}}"#, token(&bench));
    bench.emulator.fault("/accounts/", 1, FaultKind::Body(body.into_bytes()));
    let texts = configure_texts(&bench).await;
    assert!(texts[0].contains("<redacted>"), "the serde error quoted it: {texts:?}");
    assert_eq!(leaks(&bench, &texts), Vec::<String>::new());
}

#[tokio::test]
async fn a_token_echoed_in_an_error_message_is_scrubbed() {
    let bench = Bench::jaffle("echo-error");
    let message = format!("no account for token {}", token(&bench));
    bench.emulator.fault("/accounts/", 1, FaultKind::Error { status: 404, message });
    let texts = configure_texts(&bench).await;
    assert!(texts[0].contains("no account for token <redacted>"), "{texts:?}");
    assert_eq!(leaks(&bench, &texts), Vec::<String>::new());
}

#[tokio::test]
async fn a_token_echoed_in_an_html_page_is_scrubbed_before_the_snippet_is_cut() {
    let bench = Bench::jaffle("echo-html");
    // The token straddles the 120 characters a snippet keeps.
    let page = format!("<html>{}{} tail</html>", "x".repeat(104), token(&bench));
    bench.emulator.fault("/accounts/", 1, FaultKind::Body(page.into_bytes()));
    let texts = configure_texts(&bench).await;
    assert!(texts[0].contains("xxx<re"), "{texts:?}");
    let log = bench.log_lines().join("\n");
    assert!(!texts[0].contains("dbtc_") && !log.contains("dbtc_"), "no prefix of the token either: {texts:?} {log}");
    assert_eq!(leaks(&bench, &texts), Vec::<String>::new());
}

#[tokio::test]
async fn a_token_echoed_in_a_redirect_target_is_scrubbed() {
    let bench = Bench::jaffle("echo-location");
    let location = format!("https://example.com/steal?t={}", token(&bench));
    bench.emulator.fault("/accounts/", 1, FaultKind::Redirect(location));
    let texts = configure_texts(&bench).await;
    assert!(texts[0].contains("redirected to https://example.com/steal?t=<redacted>"), "{texts:?}");
    assert_eq!(leaks(&bench, &texts), Vec::<String>::new());
}

#[tokio::test]
async fn a_token_echoed_in_a_run_status_and_step_log_is_scrubbed_from_errors_logs_and_history() {
    let bench = Bench::jaffle("echo-run");
    let echo = format!(" (sent with {})", token(&bench));
    bench.emulator.with_world(|w| {
        w.polls_until_done = 1;
        w.triggered_status = 20;
        w.echo = Some(echo);
    });
    let mut s = session(&bench).await;
    s.configure(&bench.settings()).await.expect("configure");
    let error = s.sync(&api::SyncOptions { run_job: true, ..options() }).await.expect_err("the run fails");
    let text = error.to_string();
    assert!(text.contains("sent with <redacted>"), "{text}");
    let detail = s.get_sync(1).await.expect("the failed sync is recorded");
    let mut texts = vec![text, format!("{:?}", detail.sync)];
    texts.extend(detail.log.iter().cloned());
    assert!(detail.log.iter().any(|l| l.contains("sent with <redacted>")), "the log tail is kept, scrubbed");
    assert_eq!(leaks(&bench, &texts), Vec::<String>::new());
}

#[tokio::test]
async fn a_token_echoed_in_an_artifact_is_scrubbed_from_the_catalog() {
    let bench = Bench::jaffle("echo-artifact");
    let token = token(&bench);
    let manifest = String::from_utf8(dbt_cloud_emulator::world::jaffle::MANIFEST.to_vec()).expect("utf-8");
    let manifest = manifest.replacen("\"description\": \"", &format!("\"description\": \"{token} "), 3);
    assert!(manifest.contains(&token), "the fixture has descriptions to put the token in");
    bench.emulator.fault("manifest.json", 1, FaultKind::Body(manifest.into_bytes()));
    let mut s = session(&bench).await;
    s.configure(&bench.settings()).await.expect("configure");
    let report = s.sync(&options()).await.expect("the sync succeeds");
    let nodes: Vec<String> = report.catalog.nodes.iter().map(|n| format!("{n:?}")).collect();
    assert!(nodes.iter().any(|n| n.contains("<redacted>")), "the descriptions kept the rest of their text");
    assert_eq!(leaks(&bench, &nodes), Vec::<String>::new());
}

#[tokio::test]
async fn the_host_scrubs_what_a_component_echoes() {
    let secret = "echo-secret".to_string();
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    let policy =
        SandboxPolicy { allowed: vec![Origin::parse("https://ab1.us1.dbt.com").expect("url")], ..small_policy() };
    let dir = common::temp_dir("echo-host");
    let store = Arc::new(model_sync_host::MemoryStore::default());
    let mut session = common::hostile::hostile()
        .instantiate(model_sync_host::SessionOptions {
            policy,
            store,
            events: Arc::new(move |e| sink.lock().expect("events").push(e)),
            secrets: vec![secret.clone()],
        })
        .await
        .expect("instantiates");
    let error = session.configure(&common::hostile::settings("echo-secret", None)).await.expect_err("it fails");
    let mut texts = vec![error.to_string()];
    for e in events.lock().expect("events").iter() {
        texts.push(format!("{e:?}"));
    }
    assert!(texts.len() >= 4, "log, progress, denial and error: {texts:?}");
    assert!(texts.iter().all(|t| !t.contains(&secret)), "{texts:?}");
    assert!(texts.iter().filter(|t| t.contains("<redacted>")).count() >= 4, "{texts:?}");
    let _ = std::fs::remove_dir_all(dir);
}
