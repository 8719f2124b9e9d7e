//! A sandbox a workbench can trust: a deliberately hostile component
//! (`tests/hostile`) tries to escape or exhaust its instance; each attempt is
//! contained with a clear error, and the host then runs a normal sync.

use crate::common;

use common::SyncAndRead;

use std::time::Duration;

use common::hostile::{attempt_with, configure, instantiate, small_policy};
use common::{Bench, options};
use model_sync_host::{CallError, Event, Limit, Origin, SandboxPolicy, api};

/// After every hostile attempt, the real plugin still syncs in this process.
async fn a_normal_sync_still_works(name: &str) {
    let bench = Bench::jaffle(name);
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("a normal sync after the attack");
    assert_eq!(report.sync.status, api::SyncStatus::Succeeded);
}

#[tokio::test]
async fn requests_outside_the_policy_are_denied() {
    let bench = Bench::jaffle("hostile-outside");
    let mut a = attempt_with(SandboxPolicy {
        allowed: vec![Origin::parse(&bench.emulator.url()).expect("url")],
        allow_http_loopback: true,
        ..small_policy()
    })
    .await;
    let authority = bench.emulator.url().trim_start_matches("http://").to_string();
    let seen = configure(&mut a, "outside", Some(authority)).await.expect("returns");
    assert!(seen[0].contains("HttpRequestDenied"), "{seen:?}");
    assert!(seen[1].contains("got HTTP"), "the allowed host is reachable: {seen:?}");
    let denied = a.events(|e| match e {
        Event::Denied(m) => Some(m.clone()),
        _ => None,
    });
    assert!(denied.iter().any(|m| m.contains("example.com")), "{denied:?}");
    let reached: Vec<String> = bench.emulator.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(reached, vec!["GET /"], "only the allowed origin was reached, with the hostile GET /");
    bench.emulator.clear_requests();
    a_normal_sync_still_works("after-outside").await;
}

#[tokio::test]
async fn no_ambient_capabilities_reach_the_component() {
    let bench = Bench::jaffle("hostile-ambient");
    let mut a = attempt_with(small_policy()).await;
    let authority = bench.emulator.url().trim_start_matches("http://").to_string();
    let seen = configure(&mut a, "ambient", Some(authority)).await.expect("returns");
    assert_eq!(seen[0], "env=0", "{seen:?}");
    assert_eq!(seen[1], "args=0", "{seen:?}");
    assert!(seen[2].starts_with("fs=Err"), "{seen:?}");
    assert!(seen[3].starts_with("file=Err"), "{seen:?}");
    assert!(seen[4].starts_with("socket=Err"), "{seen:?}");
    assert!(seen[5] == "stdin=Ok(0)" || seen[5].starts_with("stdin=Err"), "{seen:?}");
    assert!(bench.emulator.requests().is_empty(), "a raw socket reached the emulator");
}

#[tokio::test]
async fn a_spinning_plugin_hits_the_deadline_and_is_discarded() {
    let mut a = attempt_with(small_policy()).await;
    let started = std::time::Instant::now();
    match configure(&mut a, "spin", None).await {
        Err(e @ CallError::Deadline(_)) => assert!(e.to_string().contains("2s"), "{e}"),
        other => panic!("expected the deadline, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(matches!(a.session.list_syncs(None).await, Err(CallError::Poisoned)));
    a_normal_sync_still_works("after-spin").await;
}

#[tokio::test]
async fn an_allocating_plugin_hits_the_memory_cap() {
    let mut a = attempt_with(small_policy()).await;
    match configure(&mut a, "alloc", None).await {
        Err(e @ CallError::MemoryLimit(_)) => assert!(e.to_string().contains("64 MiB"), "{e}"),
        other => panic!("expected the memory limit, got {other:?}"),
    }
    a_normal_sync_still_works("after-alloc").await;
}

#[tokio::test]
async fn a_log_flood_is_capped() {
    let mut a = attempt_with(SandboxPolicy { call_timeout: Duration::from_secs(60), ..small_policy() }).await;
    configure(&mut a, "flood-log", None).await.expect("returns");
    let lines = a.events(|e| match e {
        Event::Log { message, .. } => Some(message.len()),
        _ => None,
    });
    assert_eq!(
        lines.len() as u64,
        SandboxPolicy::default().max_log_lines,
        "the first lines pass, the rest are dropped"
    );
    assert!(lines.iter().all(|len| *len <= model_sync_host::events::MAX_LOG_LINE));
    assert_eq!(a.limits_reached(), vec![Limit::LogLines(10_000)], "reported once");
}

#[tokio::test]
async fn an_enormous_error_string_is_cut() {
    let mut a = attempt_with(SandboxPolicy { max_memory_bytes: 512 << 20, ..small_policy() }).await;
    match configure(&mut a, "huge-string", None).await {
        Err(CallError::Plugin(api::Error::Other(m))) => {
            assert!(m.len() <= model_sync_host::error::MAX_ERROR_MESSAGE + 100, "{} bytes", m.len());
            assert!(m.ends_with("cut by the host)"));
        }
        other => panic!("expected a cut error, got {:?}", other.map(|_| ()).map_err(|e| e.kind())),
    }
}

#[tokio::test]
async fn the_store_refuses_huge_keys_values_and_escapes() {
    let mut a = attempt_with(small_policy()).await;
    assert!(configure(&mut a, "kv-huge-key", None).await.expect("returns")[0].contains("InvalidKey"));
    let mut a2 = attempt_with(small_policy()).await;
    assert!(configure(&mut a2, "kv-huge-value", None).await.expect("returns")[0].contains("QuotaExceeded"));
    let mut a3 = attempt_with(small_policy()).await;
    assert!(configure(&mut a3, "kv-escape", None).await.expect("returns")[0].contains("InvalidKey"));
    assert!(!a3.dir.join("escaped").exists() && !a3.dir.parent().expect("parent").join("escaped").exists());
    a_normal_sync_still_works("after-kv").await;
}

#[tokio::test]
async fn the_real_plugin_reports_a_denied_host_as_network_denied() {
    let bench = Bench::jaffle("denied");
    let policy = SandboxPolicy {
        allowed: vec![Origin::parse("https://ab123.us1.dbt.com").expect("url")],
        ..SandboxPolicy::default()
    };
    let mut session = bench.session_with(policy).await;
    match session.configure(&bench.settings()).await {
        Err(CallError::Plugin(api::Error::NetworkDenied(m))) => {
            assert!(m.contains("127.0.0.1"), "{m}")
        }
        other => panic!("expected network-denied, got {other:?}"),
    }
    assert!(bench.emulator.requests().is_empty());
}

#[tokio::test]
async fn the_response_cap_trips_with_its_value() {
    let bench = Bench::jaffle("response-cap");
    let mut session = bench.session_with(SandboxPolicy { max_response_bytes: 20_000, ..bench.policy() }).await;
    session.configure(&bench.settings()).await.expect("configure is small");
    match session.sync(&options()).await {
        Err(e @ CallError::ResponseLimit(20_000)) => {
            assert!(e.to_string().contains("limit of 20000 bytes"), "{e}")
        }
        other => panic!("expected the response limit, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_download_hits_the_call_deadline_and_a_new_instance_works() {
    let bench = Bench::jaffle("slow-download");
    bench.emulator.fault("manifest.json", 1, dbt_cloud_emulator::FaultKind::Delay(Duration::from_secs(5)));
    let mut session =
        bench.session_with(SandboxPolicy { call_timeout: Duration::from_secs(1), ..bench.policy() }).await;
    session.configure(&bench.settings()).await.expect("configure");
    assert!(matches!(session.sync(&options()).await, Err(CallError::Deadline(_))));
    let mut fresh = bench.configured().await;
    fresh.sync(&options()).await.expect("a new instance syncs");
}

#[tokio::test]
async fn the_first_byte_timeout_of_the_policy_holds_and_trips() {
    let bench = Bench::jaffle("first-byte");
    let policy = SandboxPolicy { first_byte_timeout: Duration::from_millis(800), ..bench.policy() };
    // Held: a 50 ms answer is within the limit.
    bench.emulator.fault("/accounts/", 1, dbt_cloud_emulator::FaultKind::Delay(Duration::from_millis(50)));
    let mut session = bench.session_with(policy.clone()).await;
    session.configure(&bench.settings()).await.expect("a 50 ms answer is in time");
    // Exceeded: every answer takes 2 s; the plugin retries, then reports a timeout.
    bench.emulator.fault("/accounts/", 10, dbt_cloud_emulator::FaultKind::Delay(Duration::from_secs(2)));
    let mut session = bench.session_with(policy).await;
    match session.configure(&bench.settings()).await {
        Err(CallError::Plugin(api::Error::Timeout(m))) => assert!(m.contains("in time"), "{m}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let bench = Bench::jaffle("redirect");
    bench.emulator.fault("/accounts/", 1, dbt_cloud_emulator::FaultKind::Redirect("https://example.com/steal".into()));
    let mut session = bench.session().await;
    match session.configure(&bench.settings()).await {
        Err(CallError::Plugin(api::Error::Upstream(m))) => {
            assert!(m.contains("redirected to https://example.com/steal"), "{m}")
        }
        other => panic!("expected upstream, got {other:?}"),
    }
    let events = bench.events.lock().expect("events");
    assert!(!events.iter().any(|e| matches!(e, Event::Denied(_))), "no request went to the redirect target");
}

#[tokio::test]
async fn the_between_bytes_timeout_of_the_policy_holds_and_trips() {
    let bench = Bench::jaffle("between-bytes");
    let policy = SandboxPolicy { between_bytes_timeout: Duration::from_millis(800), ..bench.policy() };
    let mut session = bench.session_with(policy.clone()).await;
    session.configure(&bench.settings()).await.expect("configure");
    // Held: the manifest arrives in 4 pieces 100 ms apart.
    let slow = |pause| dbt_cloud_emulator::FaultKind::Slow { pieces: 4, pause: Duration::from_millis(pause) };
    bench.emulator.fault("manifest.json", 1, slow(100));
    session.sync(&options()).await.expect("pauses of 100 ms are within 800 ms");
    // Exceeded: pauses of 2.5 s break the download off.
    bench.emulator.fault("manifest.json", 1, slow(2500));
    let started = std::time::Instant::now();
    let forced = api::SyncOptions { force: true, ..options() };
    match session.sync(&forced).await {
        Err(CallError::Plugin(api::Error::Network(m))) => {
            assert!(m.contains("manifest.json") && m.contains("between-bytes timeout"), "{m}");
            assert!(!m.contains("backtrace") && m.len() < 300, "no host debug text: {m}");
        }
        other => panic!("expected the download to break off, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn host_resource_handles_are_capped() {
    let mut a = attempt_with(small_policy()).await;
    match configure(&mut a, "handles", None).await {
        Err(e @ CallError::Limit(Limit::Handles(2048))) => {
            assert_eq!(e.kind(), "sandbox-limit");
            assert!(e.to_string().contains("max_handles"), "{e}");
        }
        other => panic!("expected the handle cap, got {:?}", other.map_err(|e| e.to_string())),
    }
    assert!(matches!(a.session.list_syncs(None).await, Err(CallError::Poisoned)));
    a_normal_sync_still_works("after-handles").await;
}

#[tokio::test]
async fn header_bytes_are_capped() {
    let mut a = attempt_with(small_policy()).await;
    match configure(&mut a, "headers", None).await {
        Err(e @ CallError::Limit(Limit::HeaderBytes(16384))) => assert!(e.to_string().contains("max_header_bytes")),
        other => panic!("expected the header cap, got {:?}", other.map_err(|e| e.to_string())),
    }
}

#[tokio::test]
async fn requests_in_flight_are_capped() {
    let bench = Bench::jaffle("hostile-concurrent");
    let mut a = attempt_with(SandboxPolicy {
        allowed: vec![Origin::parse(&bench.emulator.url()).expect("url")],
        allow_http_loopback: true,
        call_timeout: Duration::from_secs(30),
        ..small_policy()
    })
    .await;
    let authority = bench.emulator.url().trim_start_matches("http://").to_string();
    match configure(&mut a, "concurrent", Some(authority)).await {
        Err(e @ CallError::Limit(Limit::ConcurrentRequests(16))) => {
            assert!(e.to_string().contains("max_concurrent_requests"), "{e}")
        }
        other => panic!("expected the cap on requests in flight, got {:?}", other.map_err(|e| e.to_string())),
    }
    assert_eq!(bench.emulator.requests().len(), 16, "the other 84 requests never left the host");
    bench.emulator.clear_requests();
    a_normal_sync_still_works("after-concurrent").await;
}

#[tokio::test]
async fn progress_and_denial_floods_are_capped() {
    let mut a = attempt_with(SandboxPolicy { call_timeout: Duration::from_secs(60), ..small_policy() }).await;
    configure(&mut a, "progress-flood", None).await.expect("returns");
    let progress = a.events(|e| matches!(e, Event::Progress { .. }).then_some(()));
    assert_eq!(progress.len(), 10_000);
    assert_eq!(a.limits_reached(), vec![Limit::ProgressEvents(10_000)]);

    let mut a = attempt_with(SandboxPolicy { call_timeout: Duration::from_secs(60), ..small_policy() }).await;
    let seen = configure(&mut a, "deny-flood", None).await.expect("returns");
    assert_eq!(seen, vec!["denied=1000"], "every request is still refused");
    let denials = a.events(|e| matches!(e, Event::Denied(_)).then_some(()));
    assert_eq!(denials.len(), 100, "only the first are reported");
    assert_eq!(a.limits_reached(), vec![Limit::DenialLines(100)]);
}

#[tokio::test]
async fn a_start_function_that_spins_hits_the_deadline() {
    let started = std::time::Instant::now();
    let (session, _, _) = instantiate(small_policy(), &["hostile/spin-at-start"]).await;
    match session {
        Err(e @ CallError::Deadline(_)) => assert!(e.to_string().contains("2s"), "{e}"),
        other => panic!("expected the deadline during instantiation, got {:?}", other.map(|_| ())),
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    let (session, _, _) = instantiate(small_policy(), &[]).await;
    assert!(session.is_ok(), "the same component instantiates when its start function returns");
    a_normal_sync_still_works("after-start-spin").await;
}

#[tokio::test]
async fn memories_tables_and_instances_are_capped_at_instantiation() {
    let bench = Bench::jaffle("counts");
    let cases = [
        (SandboxPolicy { max_memories: 0, ..bench.policy() }, Limit::Memories(0)),
        (SandboxPolicy { max_tables: 0, ..bench.policy() }, Limit::Tables(0)),
        (SandboxPolicy { max_instances: 1, ..bench.policy() }, Limit::Instances(1)),
        (SandboxPolicy { max_table_elements: 10, ..bench.policy() }, Limit::TableElements(10)),
        (SandboxPolicy { max_memory_bytes: 64 << 10, ..bench.policy() }, Limit::Memory(64 << 10)),
    ];
    for (policy, expected) in cases {
        match common::runtime().instantiate(bench.options(policy)).await {
            Err(CallError::Limit(limit)) => assert_eq!(limit, expected),
            Err(CallError::MemoryLimit(b)) => assert_eq!(Limit::Memory(b), expected),
            other => panic!("{expected:?}: got {:?}", other.map(|_| ()).map_err(|e| e.to_string())),
        }
    }
    let mut session = bench.session().await;
    session.configure(&bench.settings()).await.expect("the defaults are what the plugin needs");
}
