//! Sync throughput and memory on generated projects of 1,000, 5,000 and 20,000
//! models, through the emulator, the real component and the real host.
//! `cargo bench -p dbt-cloud-emulator --bench sync` prints a table; each size
//! runs in its own process so that the host's peak RSS is its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dbt_cloud_emulator::world::ids;
use dbt_cloud_emulator::{Emulator, World, generate};
use model_sync_host::{Origin, Runtime, SandboxPolicy, SessionOptions, SqliteStore, api};

const SIZES: [usize; 3] = [1_000, 5_000, 20_000];

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn one(models: usize) {
    let generated = generate::project(models, 42);
    let artifact_bytes = generated.manifest.len() + generated.run_results.len();
    let mut world = World::jaffle_shop();
    for run in world.runs.iter_mut().filter(|r| r.id == ids::DOCS_RUN) {
        run.artifacts.clear();
        run.save("manifest.json", None, generated.manifest.clone());
        run.save("run_results.json", Some(4), generated.run_results.clone());
    }
    let token = world.token.clone();
    drop(generated.manifest);
    drop(generated.run_results);
    let emulator = Emulator::start(world).expect("emulator");
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let state = target.join(format!("bench-state-{models}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let wasm = model_sync_host::bundled::PLUGIN_WASM.expect("bundled plugin");
    let runtime = Runtime::new(wasm, Some(&target.join("bench-cache"))).expect("runtime");
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    let rss_before = rss_kib("VmRSS:");
    let (elapsed, peak_linear, entries) = tokio.block_on(async {
        let mut session = runtime
            .instantiate(SessionOptions {
                policy: SandboxPolicy {
                    allowed: vec![Origin::parse(&emulator.url()).expect("url")],
                    allow_http_loopback: true,
                    max_memory_bytes: 4 << 30,
                    call_timeout: Duration::from_secs(600),
                    ..SandboxPolicy::default()
                },
                store: Arc::new(SqliteStore::open(&state.join("history.sqlite")).expect("store")),
                events: Arc::new(|_| {}),
                secrets: vec![],
            })
            .await
            .expect("instance");
        let settings = model_sync_host::ConnectionSettings {
            api_token: token.into(),
            access_url: Some(emulator.url()),
            account_id: Some(ids::ACCOUNT),
            project_id: Some(ids::PROJECT),
            docs_job_id: None,
            freshness_job_id: None,
        };
        session.configure(&settings).await.expect("configure");
        let options = api::SyncOptions { force: true, exclude_code: true, ..model_sync_host::sync_options("bench") };
        let started = Instant::now();
        let record = session.trigger_sync(&options).await.expect("sync");
        let entries: u32 = record.counts.iter().map(|c| c.count).sum();
        (started.elapsed(), session.peak_memory_bytes(), entries as usize)
    });
    assert_eq!(entries, generated.entries, "every entry catalogued");
    let mb = artifact_bytes as f64 / 1e6;
    println!(
        "| {models:>6} | {entries:>6} | {mb:>8.1} | {:>7.2} | {:>6.1} | {:>9.0} | {:>9.0} | {:>9.0} |",
        elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64(),
        peak_linear as f64 / (1 << 20) as f64,
        rss_before as f64 / 1024.0,
        rss_kib("VmHWM:") as f64 / 1024.0,
    );
    let _ = std::fs::remove_dir_all(&state);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--one") {
        let models = args.get(i + 1).and_then(|m| m.parse().ok()).expect("--one N");
        one(models);
        return;
    }
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec());
    println!("sync of a generated project (manifest v12 + run_results v6), code left out of the catalog");
    println!(
        "| models | entries | artifact MB | sync s | MB/s | component peak MiB | host RSS before MiB | host peak RSS MiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let me = std::env::current_exe().expect("bench binary");
    for models in sizes {
        let status = std::process::Command::new(&me).args(["--one", &models.to_string()]).status().expect("runs");
        assert!(status.success(), "size {models} failed");
    }
}
