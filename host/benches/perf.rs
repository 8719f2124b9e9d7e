//! The performance of a whole sync, printed as tables (see BENCHMARKS.md):
//!
//! 1. the `model-sync` CLI syncing generated projects of 5,000 and 20,000
//!    models and dbt-core's own 5,000-model project (first sync, re-sync with
//!    `--force`), next to Python's `json.load` of the same manifest, with the
//!    CLI process's peak RSS;
//! 2. parse and map in the component against the same code compiled natively;
//! 3. the downloads next to curl fetching the same bytes;
//! 4. a 50,000-model project under the default memory cap;
//! 5. start-up: a cached load plus instantiate, and `model-sync syncs`;
//! 6. N concurrent syncs in one host process.
//!
//! `cargo bench -p model-sync-host --bench perf`. `BENCH_QUICK=1` runs small
//! sizes only; `BENCH_LARGE=0` leaves out the 50,000-model project. The
//! dbt-core project is read from `../shared/dbt-artifacts/generated/` and
//! skipped with a note when absent, as is the Python column without python3
//! and the curl column without curl.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dbt_cloud_emulator::world::ids;
use dbt_cloud_emulator::{Emulator, World, generate};
use model_sync_host::{ConnectionSettings, Origin, Runtime, SandboxPolicy, SessionOptions, SqliteStore};
use model_sync_plugin::artifacts::manifest::{KeepCode, Manifest};
use model_sync_plugin::artifacts::run_results::RunResults;
use model_sync_plugin::artifacts::{self};
use model_sync_plugin::catalog::{self, Inputs};

const CLI: &str = env!("CARGO_BIN_EXE_model-sync");
const MB: f64 = 1e6;

/// A project's artifacts on disk and served by an emulator.
struct Project {
    label: String,
    dir: PathBuf,
    manifest_bytes: u64,
    emulator: Emulator,
}

fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-perf")
}

fn serve(label: &str, manifest: Vec<u8>, run_results: Vec<u8>) -> Project {
    let dir = work_dir().join(label.replace([' ', ','], "-"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    std::fs::write(dir.join("manifest.json"), &manifest).expect("write manifest");
    std::fs::write(dir.join("run_results.json"), &run_results).expect("write run_results");
    let manifest_bytes = manifest.len() as u64;
    let mut world = World::jaffle_shop();
    for run in world.runs.iter_mut().filter(|r| r.id == ids::DOCS_RUN) {
        run.artifacts.clear();
        run.save("manifest.json", None, manifest.clone());
        // The build step's results (the docs run's last step is `docs generate`).
        run.save("run_results.json", Some(4), run_results.clone());
    }
    // Gzip made now, so that the first sync measures the transfer.
    world.gzip_artifacts();
    let emulator = Emulator::start(world).expect("emulator");
    Project { label: label.into(), dir, manifest_bytes, emulator }
}

fn generated(models: usize) -> Project {
    let g = generate::project(models, 42);
    serve(&format!("generated {models}"), g.manifest, g.run_results)
}

/// dbt-core's own 5,000-model project, when `../shared` is beside the repository.
fn dbt_core() -> Option<Project> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/dbt-artifacts/generated/5000-models");
    let gunzip = |name: &str| -> Option<Vec<u8>> {
        let file = std::fs::File::open(dir.join(name)).ok()?;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(file).read_to_end(&mut out).ok()?;
        Some(out)
    };
    match (gunzip("manifest.json.gz"), gunzip("run_results.json.gz")) {
        (Some(m), Some(r)) => Some(serve("dbt-core 5000", m, r)),
        _ => {
            println!("note: ../shared/dbt-artifacts/generated/5000-models is absent: the dbt-core project is skipped");
            None
        }
    }
}

/// Seconds Python's `json.load` takes on `path` (interpreter start-up left out).
fn json_load(path: &Path) -> Option<f64> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys,time\nt=time.perf_counter()\njson.load(open(sys.argv[1]))\nprint(time.perf_counter()-t)",
        ])
        .arg(path)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// What one CLI run took: wall time, peak RSS, stderr.
struct Ran {
    secs: f64,
    peak_rss_mb: f64,
    stderr: String,
}

/// The peak RSS of process `pid` since its exec (`VmHWM`), MB. Not the
/// child's rusage: that counts the pages it shared with this (large) process
/// between fork and exec.
fn hwm_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0 / MB)
}

/// Runs the CLI with `args` on `project`'s state, sampling its peak RSS
/// every 2 ms until it exits.
fn cli(project: &Project, args: &[&str]) -> Ran {
    let state = project.dir.join("state");
    let started = Instant::now();
    let mut child = Command::new(CLI)
        .args(args)
        .env("MODEL_SYNC_STATE_DIR", &state)
        .env("DBT_CLOUD_API_TOKEN", "dbtc_demo_service_token")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the model-sync CLI runs");
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = pipe.read_to_string(&mut stderr);
        stderr
    });
    let mut peak: f64 = 0.0;
    let status = loop {
        if let Some(mb) = hwm_mb(child.id()) {
            peak = peak.max(mb);
        }
        match child.try_wait().expect("waits") {
            Some(status) => break status,
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let stderr = reader.join().unwrap_or_default();
    assert!(status.success(), "{args:?} failed: {stderr}");
    Ran { secs, peak_rss_mb: peak, stderr }
}

fn configure(project: &Project) {
    let url = project.emulator.url();
    let account = ids::ACCOUNT.to_string();
    let proj = ids::PROJECT.to_string();
    cli(project, &["configure", "-q", "--host", &url, "--account-id", &account, "--project-id", &proj]);
}

/// A step's duration from the sync's debug log (`... in N ms`), seconds.
fn logged_secs(stderr: &str, starts: &str) -> Option<f64> {
    let line = stderr.lines().map(|l| l.trim().trim_start_matches("debug").trim_start_matches("info").trim_start());
    let line = line.into_iter().find(|l| l.starts_with(starts))?;
    let ms = line.rsplit('(').next()?.rsplit(" in ").next()?;
    let ms = ms.trim_end_matches(')').trim_end_matches(" ms").trim().parse::<f64>().ok()?;
    Some(ms / 1000.0)
}

/// Parse and map natively, on the same bytes the component receives (gzipped
/// as the emulator serves them, inflated by the same plugin code): seconds
/// for manifest, run results, catalog.
fn native(project: &Project) -> (f64, f64, f64) {
    let gzipped = |name: &str| {
        let bytes = std::fs::read(project.dir.join(name)).expect("artifact");
        dbt_cloud_emulator::Artifact::new(name, None, bytes).gzipped()
    };
    let (manifest, results) = (gzipped("manifest.json"), gzipped("run_results.json"));
    let t = Instant::now();
    let m: Manifest<KeepCode> =
        artifacts::parse("manifest.json", artifacts::decoded(&manifest[..], true)).expect("parses");
    let parse_manifest = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r: RunResults = artifacts::parse("run_results.json", artifacts::decoded(&results[..], true)).expect("parses");
    let parse_results = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let c = catalog::build(m, Inputs { run_results: Some(r), ..Inputs::default() });
    let build = t.elapsed().as_secs_f64();
    assert!(!c.nodes.is_empty());
    (parse_manifest, parse_results, build)
}

fn curl(project: &Project, compressed: bool) -> Option<f64> {
    let base = format!("{}/api/v2/accounts/{}/runs/{}/artifacts", project.emulator.url(), ids::ACCOUNT, ids::DOCS_RUN);
    let started = Instant::now();
    for name in ["manifest.json", "run_results.json"] {
        let mut c = Command::new("curl");
        c.args(["-sS", "-o", "/dev/null", "-H", "Authorization: Bearer dbtc_demo_service_token"]);
        if compressed {
            c.arg("--compressed");
        }
        let ok = c.arg(format!("{base}/{name}")).status().ok()?.success();
        if !ok {
            return None;
        }
    }
    Some(started.elapsed().as_secs_f64())
}

fn section_sync(projects: &[Project]) {
    println!("\n## 1. Whole CLI sync (configure done; download, parse, map, store, diff) against Python's json.load\n");
    println!(
        "| project | manifest MB | json.load s | first sync s | x json.load | re-sync --force s | x json.load | peak RSS MB | x manifest |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut details = Vec::new();
    for p in projects {
        let load = json_load(&p.dir.join("manifest.json"));
        configure(p);
        let first = cli(p, &["sync", "-q"]);
        let again = cli(p, &["sync", "--force", "-v"]);
        let mb = p.manifest_bytes as f64 / MB;
        let ratio = |s: f64| load.map_or("-".into(), |l| format!("{:.2}", l / s));
        println!(
            "| {} | {mb:.1} | {} | {:.2} | {} | {:.2} | {} | {:.0} | {:.2} |",
            p.label,
            load.map_or("-".into(), |l| format!("{l:.2}")),
            first.secs,
            ratio(first.secs),
            again.secs,
            ratio(again.secs),
            first.peak_rss_mb.max(again.peak_rss_mb),
            first.peak_rss_mb.max(again.peak_rss_mb) / mb,
        );
        details.push((p, again));
    }
    println!("\n## 2. Inflate, parse and map: in the component (re-sync's debug log) against the same code natively\n");
    println!(
        "| project | manifest: component s (incl. download) | native s (from gzip in memory) | run_results: component s | native s | catalog build: component s | native s | component / native throughput |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (p, again) in &details {
        let (nm, nr, nb) = native(p);
        let cm = logged_secs(&again.stderr, "manifest.json:").unwrap_or(f64::NAN);
        let cr = logged_secs(&again.stderr, "run_results.json:").unwrap_or(f64::NAN);
        let cb = logged_secs(&again.stderr, "catalog built").unwrap_or(f64::NAN);
        println!(
            "| {} | {cm:.3} | {nm:.3} | {cr:.3} | {nr:.3} | {cb:.3} | {nb:.3} | {:.0}% |",
            p.label,
            100.0 * (nm + nr + nb) / (cm + cr + cb)
        );
    }
    println!("\n## 3. The sync's other steps (re-sync's debug log), and curl fetching the same two artifacts\n");
    println!(
        "| project | column lineage s | catalog stored s | compared s | whole re-sync s | curl s | curl --compressed s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (p, again) in &details {
        let lineage = logged_secs(&again.stderr, "column lineage").unwrap_or(0.0);
        let stored = logged_secs(&again.stderr, "catalog stored").unwrap_or(f64::NAN);
        let compared = logged_secs(&again.stderr, "compared with").unwrap_or(f64::NAN);
        let show = |s: Option<f64>| s.map_or("-".into(), |s| format!("{s:.3}"));
        println!(
            "| {} | {lineage:.3} | {stored:.3} | {compared:.3} | {:.2} | {} | {} |",
            p.label,
            again.secs,
            show(curl(p, false)),
            show(curl(p, true))
        );
    }
}

fn section_large(models: usize) {
    println!("\n## 4. A {models}-model project under the default memory cap (1024 MiB of linear memory)\n");
    let p = generated(models);
    configure(&p);
    let first = cli(&p, &["sync", "-v"]);
    let mb = p.manifest_bytes as f64 / MB;
    println!("| models | manifest MB | sync s | peak RSS MB | x manifest |");
    println!("|---:|---:|---:|---:|---:|");
    println!("| {models} | {mb:.0} | {:.2} | {:.0} | {:.2} |", first.secs, first.peak_rss_mb, first.peak_rss_mb / mb);
    let _ = std::fs::remove_dir_all(&p.dir);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn section_startup(project: &Project) {
    println!("\n## 5. Start-up\n");
    let wasm = model_sync_host::bundled::PLUGIN_WASM.expect("bundled plugin");
    let cache = work_dir().join("cache");
    drop(Runtime::new(wasm, Some(&cache)).expect("compiles into the cache"));
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let (mut load, mut inst) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = Instant::now();
        let runtime = Runtime::new(wasm, Some(&cache)).expect("loads");
        load.push(t.elapsed().as_secs_f64() * 1000.0);
        let opts = options(project, &work_dir().join("startup.sqlite"));
        let t = Instant::now();
        let session = tokio.block_on(runtime.instantiate(opts));
        inst.push(t.elapsed().as_secs_f64() * 1000.0);
        drop(session.expect("instantiates"));
    }
    let syncs: Vec<f64> = (0..7).map(|_| cli(project, &["syncs"]).secs * 1000.0).collect();
    println!("| cached load ms | instantiate ms | load + instantiate ms | `model-sync syncs` ms (end to end) |");
    println!("|---:|---:|---:|---:|");
    let (l, i) = (median(load), median(inst));
    println!("| {l:.2} | {i:.2} | {:.2} | {:.1} |", l + i, median(syncs));
}

fn options(project: &Project, store: &Path) -> SessionOptions {
    SessionOptions {
        policy: SandboxPolicy {
            allowed: vec![Origin::parse(&project.emulator.url()).expect("url")],
            allow_http_loopback: true,
            ..SandboxPolicy::default()
        },
        store: Arc::new(SqliteStore::open(store).expect("store")),
        events: Arc::new(|_| {}),
        secrets: vec![],
    }
}

fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb * 1024.0 / MB
}

/// In a process of its own: N concurrent syncs of a 1,000-model project.
fn tenants(n: usize) {
    let p = generated(1_000);
    let wasm = model_sync_host::bundled::PLUGIN_WASM.expect("bundled plugin");
    let runtime = Arc::new(Runtime::new(wasm, Some(&work_dir().join("cache"))).expect("runtime"));
    // Instances yield at every 10 ms epoch tick; tokio looks at its timers
    // and sockets every `event_interval` polls (61 by default, 0.6 s of
    // busy instances), so a host that shares its runtime with them asks for 1.
    let tokio = tokio::runtime::Builder::new_multi_thread().event_interval(1).enable_all().build().expect("tokio");
    let before = status_mb("VmRSS:");
    let project = Arc::new(p);
    let (elapsed, worst_tick) = tokio.block_on(async {
        let ticker = tokio::spawn(async {
            loop {
                let t = Instant::now();
                tokio::time::sleep(Duration::from_millis(10)).await;
                let late = t.elapsed().saturating_sub(Duration::from_millis(10));
                TICK_WORST.fetch_max(late.as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..n {
            let (runtime, project) = (runtime.clone(), project.clone());
            tasks.push(tokio::spawn(async move {
                let store = project.dir.join(format!("tenant-{i}.sqlite"));
                let mut session = runtime.instantiate(options(&project, &store)).await.expect("instance");
                let settings = ConnectionSettings {
                    api_token: "dbtc_demo_service_token".to_string().into(),
                    access_url: Some(project.emulator.url()),
                    account_id: Some(ids::ACCOUNT),
                    project_id: Some(ids::PROJECT),
                    docs_job_id: None,
                    freshness_job_id: None,
                };
                session.configure(&settings).await.expect("configure");
                session.trigger_sync(&model_sync_host::sync_options("bench")).await.expect("sync");
            }));
        }
        for t in tasks {
            t.await.expect("tenant");
        }
        let elapsed = started.elapsed();
        ticker.abort();
        (elapsed, Duration::from_micros(TICK_WORST.load(std::sync::atomic::Ordering::Relaxed)))
    });
    let peak = status_mb("VmHWM:");
    println!(
        "| {n} | {:.2} | {:.1} | {:.0} | {:.1} | {:.0} |",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        peak,
        (peak - before) / n as f64,
        worst_tick.as_secs_f64() * 1000.0
    );
    let _ = std::fs::remove_dir_all(&project.dir);
}

static TICK_WORST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn section_tenants(counts: &[usize]) {
    println!("\n## 6. N concurrent syncs of a 1,000-model project in one host process (one process per N)\n");
    println!("| N | wall s | syncs/s | peak RSS MB | MB per instance | worst delay of a 10 ms timer, ms |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let me = std::env::current_exe().expect("bench binary");
    for n in counts {
        let status = Command::new(&me).args(["--tenants", &n.to_string()]).status().expect("runs");
        assert!(status.success(), "{n} tenants failed");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--tenants") {
        tenants(args.get(i + 1).and_then(|n| n.parse().ok()).expect("--tenants N"));
        return;
    }
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let large = !quick && std::env::var("BENCH_LARGE").map_or(true, |v| v != "0");
    println!("# model-sync performance ({})", if quick { "quick" } else { "full" });
    if Command::new("python3").arg("-V").output().is_err() {
        println!("note: python3 is absent: no json.load column");
    }
    let sizes: &[usize] = if quick { &[500, 2_000] } else { &[5_000, 20_000] };
    let mut projects: Vec<Project> = sizes.iter().map(|&n| generated(n)).collect();
    if !quick {
        projects.extend(dbt_core());
    }
    section_sync(&projects);
    if large {
        section_large(50_000);
    }
    section_startup(&projects[0]);
    section_tenants(if quick { &[1, 4] } else { &[1, 10, 100] });
    for p in &projects {
        let _ = std::fs::remove_dir_all(&p.dir);
    }
}
