//! Crash safety of the sync history: a host killed mid-sync leaves a readable
//! history; concurrent syncs of one state directory lose nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dbt_cloud_emulator::world::ids;
use dbt_cloud_emulator::{Emulator, FaultKind, World};
use serde_json::Value;

fn cli(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_model-sync"));
    c.arg("--state-dir")
        .arg(dir)
        .args(args)
        .env("DBT_CLOUD_API_TOKEN", "dbtc_demo_service_token")
        .env("MODEL_SYNC_CACHE_DIR", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache"));
    c
}

fn configured(name: &str, emulator: &Emulator) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("{}/deploy/{}/projects/{}/", emulator.url(), ids::ACCOUNT, ids::PROJECT);
    let out = cli(&dir, &["configure", "--url", &url]).output().expect("configure runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

fn syncs(dir: &Path) -> Vec<Value> {
    let out = cli(dir, &["--json", "syncs"]).output().expect("syncs runs");
    assert!(out.status.success(), "the history is readable: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).expect("JSON").as_array().cloned().expect("array")
}

#[test]
fn killing_the_host_mid_sync_leaves_a_readable_history() {
    let emulator = Emulator::start(World::jaffle_shop()).expect("emulator");
    let dir = configured("kill", &emulator);
    assert!(cli(&dir, &["sync"]).output().expect("runs").status.success());
    // The next download stalls; kill the host while it waits.
    emulator.fault("manifest.json", 1, FaultKind::Slow { pieces: 50, pause: Duration::from_millis(200) });
    let mut child =
        cli(&dir, &["sync", "--force"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawns");
    let started = Instant::now();
    // The emulator logs a request when it starts answering it.
    while emulator.requests().iter().filter(|r| r.path.ends_with("manifest.json")).count() < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "the sync never reached the download");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let history = syncs(&dir);
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["status"], "running", "the interrupted sync shows as such");
    assert_eq!(history[0]["interrupted"], true);
    assert_eq!(history[1]["interrupted"], false);
    assert_eq!(history[1]["status"], "succeeded");
    // No temporary files are taken for records, and the next sync works.
    let out = cli(&dir, &["--json", "sync", "--force"]).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(syncs(&dir).len(), 3);
}

#[test]
fn concurrent_syncs_of_one_state_directory_lose_no_record() {
    let emulator = Emulator::start(World::jaffle_shop()).expect("emulator");
    let dir = configured("concurrent", &emulator);
    let children: Vec<_> = (0..4)
        .map(|_| {
            cli(&dir, &["--json", "sync", "--force"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawns")
        })
        .collect();
    let mut ids = Vec::new();
    for child in children {
        let out = child.wait_with_output().expect("finishes");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        ids.push(doc["id"].as_u64().expect("id"));
    }
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2, 3, 4], "each sync got its own record");
    let history = syncs(&dir);
    assert_eq!(history.len(), 4);
    assert!(history.iter().all(|r| r["status"] == "succeeded"));
}

/// Serves a generated project of `models` models (built with `seed`) as the docs run's artifacts.
fn serve_generated(emulator: &Emulator, models: usize, seed: u64) -> usize {
    let generated = dbt_cloud_emulator::generate::project(models, seed);
    emulator.with_world(|w| {
        for run in w.runs.iter_mut().filter(|r| r.id == ids::DOCS_RUN) {
            run.artifacts.clear();
            run.save("manifest.json", None, generated.manifest.clone());
            run.save("run_results.json", Some(4), generated.run_results.clone());
        }
    });
    generated.entries
}

/// Starts `sync --force` and returns once it has recorded the sync (its
/// first log line, `sync N of project ...`), with that moment; the rest of
/// its stderr is drained in the background.
fn sync_started(dir: &Path) -> (std::process::Child, Instant) {
    use std::io::{BufRead, BufReader};
    let mut child =
        cli(dir, &["sync", "--force"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawns");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    for line in lines.by_ref() {
        if line.map(|l| l.contains(" of project ")).unwrap_or(true) {
            break;
        }
    }
    let started = Instant::now();
    std::thread::spawn(move || lines.for_each(drop));
    (child, started)
}

#[test]
fn killing_the_host_at_any_point_of_a_sync_keeps_the_history_whole() {
    let emulator = Emulator::start(World::jaffle_shop()).expect("emulator");
    let entries = serve_generated(&emulator, 2_000, 1);
    let dir = configured("kill-anywhere", &emulator);
    let out = cli(&dir, &["--json", "sync"]).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Time a sync like the ones killed below from the moment it has recorded
    // itself (its first log line) to its end: the host's start-up (loading or
    // compiling the component) varies too much from machine to machine.
    serve_generated(&emulator, 2_000, 2);
    let (mut child, started) = sync_started(&dir);
    assert!(child.wait().expect("reaped").success());
    let whole = started.elapsed();
    // Kill syncs of new content at points spread over a whole sync: choosing
    // runs, downloading, parsing, and writing entries to the database.
    for (attempt, fraction) in [0.3, 0.5, 0.7, 0.85, 0.95].into_iter().enumerate() {
        serve_generated(&emulator, 2_000, 10 + attempt as u64);
        let (mut child, started) = sync_started(&dir);
        std::thread::sleep(whole.mul_f64(fraction).saturating_sub(started.elapsed()));
        let _ = child.kill();
        child.wait().expect("reaped");
        let history = syncs(&dir);
        let good = history.iter().find(|r| r["status"] == "succeeded").expect("a successful sync");
        let id = good["id"].as_u64().expect("id").to_string();
        let shown = cli(&dir, &["--json", "show", &id]).output().expect("show runs");
        assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
        let shown: Value = serde_json::from_slice(&shown.stdout).expect("JSON");
        let counted: u64 = shown["counts"].as_object().expect("counts").values().filter_map(Value::as_u64).sum();
        assert!(counted as usize >= entries / 2, "{counted} of about {entries}");
        assert_eq!(
            shown["catalog"]["nodes"].as_array().map(|n| n.len() as u64),
            Some(counted),
            "attempt {attempt}: sync {id}'s catalog is whole"
        );
        assert!(history.iter().all(|r| r["status"] != "running" || r["interrupted"] == true), "{history:?}");
    }
    let interrupted = syncs(&dir).iter().filter(|r| r["interrupted"] == true).count();
    assert!(interrupted >= 3, "most kills landed inside a sync: {interrupted} of 5");
    let out = cli(&dir, &["--json", "sync", "--force"]).output().expect("runs");
    assert!(out.status.success(), "the next sync works: {}", String::from_utf8_lossy(&out.stderr));
    let last: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let id = last["id"].as_u64().expect("id").to_string();
    let diff = cli(&dir, &["--json", "diff", &id]).output().expect("diff runs");
    assert!(diff.status.success(), "{}", String::from_utf8_lossy(&diff.stderr));
}
