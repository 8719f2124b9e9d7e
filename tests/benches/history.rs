//! What the catalog history costs: the state's size after 1, 2 and 10 syncs
//! of a 5,000-model project (unchanged; 1% of the models changed each time;
//! a new run each time), the time of a diff between two syncs, and what
//! `prune` frees. Uses the 5,000-model project dbt-core compiled
//! (`../shared/dbt-artifacts/generated/5000-models/`) when it is there, else
//! the generator's (with a note). `cargo bench -p model-sync-e2e --bench history`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dbt_cloud_emulator::world::ids;
use dbt_cloud_emulator::{Emulator, World, generate};
use model_sync_host::{Origin, Runtime, SandboxPolicy, Session, SessionOptions, SqliteStore, api};
use serde_json::Value;

const SYNCS: usize = 10;

fn gunzip(path: &Path) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file).read_to_end(&mut out).ok()?;
    Some(out)
}

/// The manifest and run_results of the project, and where they come from.
fn project() -> (Value, Value, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/dbt-artifacts/generated/5000-models");
    if let (Some(m), Some(r)) = (gunzip(&dir.join("manifest.json.gz")), gunzip(&dir.join("run_results.json.gz"))) {
        let label = format!("the 5,000-model project compiled by dbt-core ({:.0} MB manifest)", m.len() as f64 / 1e6);
        return (
            serde_json::from_slice(&m).expect("manifest"),
            serde_json::from_slice(&r).expect("run_results"),
            label,
        );
    }
    println!("note: {} is absent; using the generator's 5,000-model project instead", dir.display());
    let g = generate::project(5_000, 42);
    let label = format!("the generator's 5,000-model project ({:.0} MB manifest)", g.manifest.len() as f64 / 1e6);
    (
        serde_json::from_slice(&g.manifest).expect("manifest"),
        serde_json::from_slice(&g.run_results).expect("results"),
        label,
    )
}

fn serve(emulator: &Emulator, manifest: &Value, run_results: &Value) {
    let (m, r) = (serde_json::to_vec(manifest).expect("JSON"), serde_json::to_vec(run_results).expect("JSON"));
    emulator.with_world(|w| {
        for run in w.runs.iter_mut().filter(|run| run.id == ids::DOCS_RUN) {
            run.artifacts.clear();
            run.save("manifest.json", None, m.clone());
            run.save("run_results.json", Some(4), r.clone());
        }
    });
}

/// Changes the description of the `round`th 1% of the models.
fn change_one_percent(manifest: &mut Value, round: usize) -> usize {
    let nodes = manifest["nodes"].as_object_mut().expect("nodes");
    let models: Vec<String> = nodes.keys().filter(|k| k.starts_with("model.")).cloned().collect();
    let share = models.len() / 100;
    for id in models.iter().skip(round * share).take(share) {
        nodes[id]["description"] = format!("changed in round {round}").into();
    }
    share
}

/// Gives every result other timings, as a new run of the same project would.
fn new_run(run_results: &mut Value, round: usize) {
    for r in run_results["results"].as_array_mut().expect("results") {
        r["execution_time"] = (0.1 + round as f64 / 7.0).into();
    }
}

struct Bench {
    emulator: Emulator,
    runtime: Runtime,
    token: String,
    tokio: tokio::runtime::Runtime,
}

impl Bench {
    async fn session(&self, state: &Path) -> Session {
        let policy = SandboxPolicy {
            allowed: vec![Origin::parse(&self.emulator.url()).expect("url")],
            allow_http_loopback: true,
            max_memory_bytes: 4 << 30,
            call_timeout: Duration::from_secs(900),
            ..SandboxPolicy::default()
        };
        let store = Arc::new(SqliteStore::open(&state.join("history.sqlite")).expect("store"));
        let mut session = self
            .runtime
            .instantiate(SessionOptions { policy, store, events: Arc::new(|_| {}), secrets: vec![] })
            .await
            .expect("instance");
        let settings = model_sync_host::ConnectionSettings {
            api_token: self.token.clone().into(),
            access_url: Some(self.emulator.url()),
            account_id: Some(ids::ACCOUNT),
            project_id: Some(ids::PROJECT),
            docs_job_id: None,
            freshness_job_id: None,
        };
        session.configure(&settings).await.expect("configure");
        session
    }
}

fn size(state: &Path) -> (u64, u64) {
    let store = SqliteStore::open(&state.join("history.sqlite")).expect("store");
    store.checkpoint().expect("checkpoint");
    (store.data_bytes().expect("size"), store.file_bytes())
}

fn mb(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / 1e6)
}

fn main() {
    let (manifest, run_results, label) = project();
    let world = World::jaffle_shop();
    let token = world.token.clone();
    let emulator = Emulator::start(world).expect("emulator");
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let wasm = model_sync_host::bundled::PLUGIN_WASM.expect("bundled plugin");
    let runtime = Runtime::new(wasm, Some(&target.join("bench-cache"))).expect("runtime");
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    let bench = Bench { emulator, runtime, token, tokio };
    println!(
        "catalog history of {label}, {SYNCS} forced syncs per scenario (sizes in MB: stored data / SQLite file)\n"
    );
    println!("| scenario | 1 sync | 2 syncs | {SYNCS} syncs | each further sync | diff of the last two, s |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut pruned = None;
    for scenario in ["unchanged", "1% of the models changed", "a new run (all timings differ)"] {
        let state = target.join(format!("bench-history-{}-{}", scenario.len(), std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        let (mut m, mut r) = (manifest.clone(), run_results.clone());
        let mut sizes = Vec::new();
        let mut diff_secs = 0.0;
        for round in 0..SYNCS {
            if round > 0 {
                match scenario {
                    "unchanged" => {}
                    "1% of the models changed" => {
                        change_one_percent(&mut m, round);
                    }
                    _ => new_run(&mut r, round),
                }
            }
            serve(&bench.emulator, &m, &r);
            let record = bench.tokio.block_on(async {
                let mut session = bench.session(&state).await;
                let options = api::SyncOptions { force: true, ..model_sync_host::sync_options("bench") };
                let record = session.trigger_sync(&options).await.expect("sync");
                if round == SYNCS - 1 {
                    let started = Instant::now();
                    session.read_changes(None, record.id).await.expect("changes");
                    diff_secs = started.elapsed().as_secs_f64();
                }
                record
            });
            assert!(record.has_catalog);
            sizes.push(size(&state));
        }
        let each = (sizes[SYNCS - 1].0 - sizes[1].0) / (SYNCS as u64 - 2);
        let cell = |i: usize| format!("{} / {}", mb(sizes[i].0), mb(sizes[i].1));
        println!(
            "| {scenario} | {} | {} | {} | +{} ({:.2}% of the first) | {diff_secs:.3} |",
            cell(0),
            cell(1),
            cell(SYNCS - 1),
            mb(each),
            each as f64 * 100.0 / sizes[0].0 as f64
        );
        if scenario == "a new run (all timings differ)" {
            let report = bench.tokio.block_on(async { bench.session(&state).await.prune(1).await.expect("prune") });
            pruned = Some((report, sizes[SYNCS - 1], size(&state)));
        }
        if pruned.is_none() {
            let _ = std::fs::remove_dir_all(&state);
        }
    }
    if let Some((report, before, after)) = pruned {
        println!(
            "\nprune --keep 1 after the {SYNCS} new runs: {} catalogs dropped, {} stored parts deleted, {} MB freed \
             (data {} -> {} MB, file {} -> {} MB)",
            report.pruned,
            report.entries_deleted,
            mb(report.bytes_freed),
            mb(before.0),
            mb(after.0),
            mb(before.1),
            mb(after.1)
        );
    }
}
