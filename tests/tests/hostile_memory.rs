//! The host process stays within a stated memory bound while the hostile
//! component tries every way to make it spend (one attempt after another, in
//! a process of its own so that no other test's memory counts), and then
//! still runs a normal sync.

mod common;

use std::time::Duration;

use common::SyncAndRead;
use common::hostile::{attempt_with, configure, instantiate, small_policy};
use common::{Bench, options};
use model_sync_host::{Origin, SandboxPolicy, api};

/// The bound on the host process's peak resident memory, MiB: the component
/// and wasmtime, the emulator with jaffle-shop, one instance at its 64 MiB
/// cap, and the events the test keeps.
const BOUND_MIB: u64 = 256;

/// A kernel memory figure of this process (`VmHWM`, `VmRSS`), MiB.
fn status_mib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

#[tokio::test]
async fn every_attempt_together_stays_within_the_memory_bound() {
    if status_mib("VmHWM:").is_none() {
        println!("skipped: /proc/self/status is not available on this system");
        return;
    }
    let bench = Bench::jaffle("bound");
    let mut session = bench.configured().await;
    session.sync(&options()).await.expect("a first sync");
    let before = status_mib("VmHWM:").unwrap_or(0);
    let authority = bench.emulator.url().trim_start_matches("http://").to_string();
    let online = SandboxPolicy {
        allowed: vec![Origin::parse(&bench.emulator.url()).expect("url")],
        allow_http_loopback: true,
        call_timeout: Duration::from_secs(30),
        ..small_policy()
    };
    let mut rows = Vec::new();
    for attempt in [
        "alloc",
        "spin",
        "handles",
        "headers",
        "concurrent",
        "progress-flood",
        "deny-flood",
        "flood-log",
        "kv-huge-key",
        "kv-huge-value",
        "outside",
    ] {
        let policy = if attempt == "spin" { small_policy() } else { online.clone() };
        let mut a = attempt_with(policy).await;
        let outcome = match configure(&mut a, attempt, Some(authority.clone())).await {
            Ok(_) => "returned".to_string(),
            Err(e) => e.kind().to_string(),
        };
        rows.push((attempt, outcome, status_mib("VmHWM:").unwrap_or(0)));
    }
    bench.emulator.clear_requests(); // the hostile GET / requests
    let (started, _, _) = instantiate(small_policy(), &["hostile/spin-at-start"]).await;
    rows.push((
        "spin-at-start",
        started.err().map(|e| e.kind().to_string()).unwrap_or_default(),
        status_mib("VmHWM:").unwrap_or(0),
    ));
    let mut fresh = bench.configured().await;
    let report = fresh.sync(&api::SyncOptions { force: true, ..options() }).await.expect("a normal sync after all");
    assert_eq!(report.sync.status, api::SyncStatus::Succeeded);
    let peak = status_mib("VmHWM:").unwrap_or(0);
    println!("| attempt | outcome | host peak RSS so far, MiB |\n|---|---|---:|");
    for (attempt, outcome, hwm) in &rows {
        println!("| {attempt} | {outcome} | {hwm} |");
    }
    println!("peak RSS before the attempts {before} MiB, after them and a sync {peak} MiB (bound {BOUND_MIB} MiB)");
    assert!(peak <= BOUND_MIB, "the host peaked at {peak} MiB, over the bound of {BOUND_MIB} MiB");
}
