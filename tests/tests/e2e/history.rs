//! The catalog history through the real component in the real host: changes
//! entity by entity, entries stored once, retention, and readers beside a
//! writer of the same SQLite database.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{Bench, SyncAndRead, options};
use dbt_cloud_emulator::world::{ids, jaffle};
use dbt_cloud_emulator::{World, generate};
use model_sync_host::{CallError, SqliteStore, api};
use serde_json::Value;

/// Replaces the docs run's artifact `name` with `body`.
fn serve(bench: &Bench, name: &str, body: Vec<u8>) {
    assert!(bench.emulator.with_world(|w| w.replace_artifact(ids::DOCS_RUN, name, body)), "no {name} to replace");
}

/// `bytes` parsed and written again: keys sorted as `serde_json::Value`
/// writes them, so that an edited copy differs from it only by the edit.
fn normalized(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON")
}

/// A world whose docs run has a generated project of `models` models.
fn generated_world(models: usize) -> World {
    let mut generated = generate::project(models, 7);
    generated.manifest = serde_json::to_vec(&normalized(&generated.manifest)).expect("JSON");
    let mut world = World::jaffle_shop();
    for run in world.runs.iter_mut().filter(|r| r.id == ids::DOCS_RUN) {
        run.artifacts.clear();
        run.save("manifest.json", None, generated.manifest.clone());
        run.save("run_results.json", Some(4), generated.run_results.clone());
    }
    world
}

fn store(bench: &Bench) -> SqliteStore {
    SqliteStore::open(&bench.dir.join("history.sqlite")).expect("store")
}

async fn all_changes(session: &mut model_sync_host::Session, from: Option<u64>, to: u64) -> Vec<api::EntityChange> {
    let mut out = Vec::new();
    loop {
        let page = session.get_changes(from, to, out.len() as u32, 2).await.expect("changes");
        let done = page.changes.is_empty();
        out.extend(page.changes);
        if done || out.len() as u32 >= page.total {
            return out;
        }
    }
}

#[tokio::test]
async fn a_diff_lists_exactly_the_entities_and_facets_that_changed() {
    let bench = Bench::jaffle("history-diff");
    serve(&bench, "manifest.json", serde_json::to_vec(&normalized(jaffle::MANIFEST)).expect("JSON"));
    serve(&bench, "catalog.json", serde_json::to_vec(&normalized(jaffle::CATALOG)).expect("JSON"));
    let mut session = bench.configured().await;
    let first = session.trigger_sync(&options()).await.expect("first sync");

    let mut manifest = normalized(jaffle::MANIFEST);
    let nodes = manifest["nodes"].as_object_mut().expect("nodes");
    nodes.remove("model.jaffle_shop.stg_locations").expect("a model to remove");
    let mut added = nodes["model.jaffle_shop.orders"].clone();
    added["unique_id"] = "model.jaffle_shop.orders_copy".into();
    added["name"] = "orders_copy".into();
    nodes.insert("model.jaffle_shop.orders_copy".into(), added);
    nodes["model.jaffle_shop.customers"]["description"] = "Customers, described anew.".into();
    serve(&bench, "manifest.json", serde_json::to_vec(&manifest).expect("JSON"));
    let mut catalog = normalized(jaffle::CATALOG);
    let columns = catalog["nodes"]["model.jaffle_shop.orders"]["columns"].as_object_mut().expect("columns");
    assert_eq!(columns["order_id"]["type"], "VARCHAR");
    columns["order_id"]["type"] = "BIGINT".into();
    serve(&bench, "catalog.json", serde_json::to_vec(&catalog).expect("JSON"));

    let second = session.trigger_sync(&api::SyncOptions { force: true, ..options() }).await.expect("second sync");
    let changes = all_changes(&mut session, None, second.id).await;
    let summary = second.changes.expect("compared with sync 1");
    assert_eq!(
        (summary.previous_sync_id, summary.added, summary.removed, summary.modified),
        (first.id, 1, 1, 3),
        "{changes:?}"
    );
    let listed: Vec<(&str, &str, Vec<&str>)> = changes
        .iter()
        .map(|c| (c.unique_id.as_str(), c.kind.as_str(), c.facets.iter().map(|f| f.as_str()).collect()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("model.jaffle_shop.customers", "modified", vec!["description"]),
            // Its columns' lineage led to stg_locations, which is gone.
            ("model.jaffle_shop.locations", "modified", vec!["columns"]),
            ("model.jaffle_shop.orders", "modified", vec!["columns"]),
            ("model.jaffle_shop.orders_copy", "added", vec![]),
            ("model.jaffle_shop.stg_locations", "removed", vec![]),
        ],
        "order_id's type changed"
    );
    assert!(changes.iter().all(|c| c.resource_type == api::ResourceType::Model));
    assert_eq!(all_changes(&mut session, Some(first.id), second.id).await.len(), 5, "FROM given explicitly");
    let backwards = all_changes(&mut session, Some(second.id), first.id).await;
    assert_eq!(backwards.iter().filter(|c| c.kind == api::ChangeKind::Added).count(), 1, "the removed one comes back");
    let from_nothing = session.get_changes(None, first.id, 0, 1).await.expect("first sync's changes");
    assert_eq!((from_nothing.from_sync, from_nothing.changes[0].kind), (0, api::ChangeKind::Added));
    let entries: u32 = first.counts.iter().map(|c| c.count).sum();
    assert_eq!(from_nothing.total, entries, "against an empty history, everything is added");
}

#[tokio::test]
async fn a_new_run_with_other_timings_changes_last_run_not_the_definition() {
    let bench = Bench::jaffle("history-last-run");
    let mut session = bench.configured().await;
    session.trigger_sync(&options()).await.expect("first sync");
    let mut results: Value = serde_json::from_slice(jaffle::RUN_RESULTS).expect("run_results");
    for r in results["results"].as_array_mut().expect("results") {
        if r["unique_id"] == "model.jaffle_shop.orders" {
            r["execution_time"] = 99.5.into();
        }
    }
    serve(&bench, "run_results.json", serde_json::to_vec(&results).expect("JSON"));
    let second = session.trigger_sync(&api::SyncOptions { force: true, ..options() }).await.expect("second sync");
    let changes = all_changes(&mut session, None, second.id).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].unique_id, "model.jaffle_shop.orders");
    assert_eq!(changes[0].facets, vec![api::Facet::LastRun]);
}

#[tokio::test]
async fn entries_are_stored_once_and_prune_frees_what_no_catalog_uses() {
    let bench = Bench::new("history-growth", generated_world(5_000));
    let mut session = bench.configured().await;
    let db = store(&bench);
    let first = session.trigger_sync(&options()).await.expect("first sync");
    let full = db.data_bytes().expect("size");
    let second = session.trigger_sync(&api::SyncOptions { force: true, ..options() }).await.expect("forced resync");
    let unchanged = db.data_bytes().expect("size") - full;
    println!("5,000 models: first sync {full} bytes, unchanged forced re-sync +{unchanged} bytes");
    assert!(unchanged * 100 < full, "an unchanged re-sync grew the state by {unchanged} of {full} bytes");
    assert_eq!(second.changes.map(|c| c.added + c.removed + c.modified), Some(0));

    // 1% of the models change their description.
    let mut manifest = normalized(&generate::project(5_000, 7).manifest);
    let nodes = manifest["nodes"].as_object_mut().expect("nodes");
    let mut changed = 0;
    for (id, node) in nodes.iter_mut().filter(|(id, _)| id.starts_with("model.")) {
        if changed < 50 && id.len() % 2 == 0 {
            node["description"] = "changed".into();
            changed += 1;
        }
    }
    assert_eq!(changed, 50);
    serve(&bench, "manifest.json", serde_json::to_vec(&manifest).expect("JSON"));
    let before = db.data_bytes().expect("size");
    let third = session.trigger_sync(&api::SyncOptions { force: true, ..options() }).await.expect("1% changed");
    let grown = db.data_bytes().expect("size") - before;
    println!("1% of the models changed: +{grown} bytes ({:.2}% of a full catalog)", grown as f64 * 100.0 / full as f64);
    assert_eq!(third.changes.map(|c| (c.added, c.removed, c.modified)), Some((0, 0, 50)));
    assert!(grown * 100 < full * 3, "1% changed grew the state by {grown} of {full} bytes");

    let before = db.data_bytes().expect("size");
    let report = session.prune(1).await.expect("prune");
    let after = db.data_bytes().expect("size");
    println!("prune --keep 1: {} catalogs, {} bytes freed", report.pruned, report.bytes_freed);
    assert_eq!(report.pruned, 2);
    assert_eq!(report.bytes_freed, before - after, "reports exactly what left the store");
    let listed = session.list_syncs(None).await.expect("records stay");
    assert_eq!(
        listed.iter().map(|r| (r.id, r.has_catalog)).collect::<Vec<_>>(),
        vec![(3, true), (2, false), (1, false)]
    );
    let detail = session.get_sync(first.id).await.expect("a pruned sync keeps its log");
    assert!(!detail.log.is_empty());
    match session.get_catalog(first.id, 0, 10, None).await {
        Err(CallError::Plugin(api::Error::NotFound(m))) => assert!(m.contains("pruned"), "{m}"),
        other => panic!("expected not-found, got {other:?}"),
    }
    assert_eq!(session.read_catalog(third.id, None).await.expect("kept").len() as u64, {
        let n: u32 = third.counts.iter().map(|c| c.count).sum();
        n as u64
    });
}

#[test]
fn a_reader_lists_syncs_while_a_sync_writes() {
    let bench = Arc::new(Bench::new("history-reader", generated_world(3_000)));
    let rt = || tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    rt().block_on(async { bench.configured().await.trigger_sync(&options()).await.expect("first sync") });
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (bench, writing) = (bench.clone(), writing.clone());
        std::thread::spawn(move || {
            let record = rt().block_on(async {
                bench.configured().await.trigger_sync(&api::SyncOptions { force: true, ..options() }).await
            });
            writing.store(false, std::sync::atomic::Ordering::SeqCst);
            record.expect("the sync succeeds beside a reader")
        })
    };
    let mut reads_during_write = 0;
    rt().block_on(async {
        let mut reader = bench.session().await;
        while writing.load(std::sync::atomic::Ordering::SeqCst) {
            let listed = reader.list_syncs(None).await.expect("a reader is never refused");
            assert!(listed.iter().any(|r| r.id == 1 && r.has_catalog), "the committed sync stays readable");
            if writing.load(std::sync::atomic::Ordering::SeqCst) {
                reads_during_write += 1;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let second = writer.join().expect("writer thread");
    assert_eq!(second.id, 2);
    assert!(reads_during_write >= 3, "only {reads_during_write} reads while the sync ran");
}

#[tokio::test]
async fn a_full_store_fails_the_sync_and_loses_nothing_stored() {
    let bench = Bench::new("quota", generated_world(300));
    let mut session = bench.configured().await;
    let first = session.sync(&options()).await.expect("the first sync fits");
    // The quota is what the store holds now: the next sync's new entries do not fit.
    let full = store(&bench);
    full.checkpoint().expect("checkpoint");
    full.set_quota(full.file_bytes()).expect("quota");
    let mut manifest = normalized(&generate::project(300, 7).manifest);
    for node in manifest["nodes"].as_object_mut().expect("nodes").values_mut() {
        node["description"] = Value::String("rewritten by the second run".into());
    }
    serve(&bench, "manifest.json", serde_json::to_vec(&manifest).expect("JSON"));
    let options_full = model_sync_host::SessionOptions { store: Arc::new(full), ..bench.options(bench.policy()) };
    let mut session = common::runtime().instantiate(options_full).await.expect("instantiates");
    session.configure(&bench.settings()).await.expect("configure");
    match session.sync(&api::SyncOptions { force: true, ..options() }).await {
        Err(CallError::Plugin(api::Error::Storage(m))) => {
            assert!(m.contains("quota") && m.contains("prune"), "{m}")
        }
        other => panic!("expected the quota, got {:?}", other.map(|r| r.sync.status)),
    }
    let syncs = session.list_syncs(None).await.expect("the history reads");
    let kept = syncs.iter().find(|s| s.id == first.sync.id).expect("the first sync is kept");
    assert!(kept.has_catalog && kept.status == api::SyncStatus::Succeeded);
    let catalog = session.read_catalog(first.sync.id, None).await.expect("its catalog reads");
    assert_eq!(catalog.len(), first.catalog.nodes.len(), "nothing stored was lost");
    session.prune(1).await.expect("pruning works on a full store");
}

#[tokio::test]
async fn a_pull_requests_sync_is_compared_with_production_and_never_becomes_its_baseline() {
    let bench = Bench::jaffle("history-pr");
    let pr_run = ids::DOCS_RUN + 30;
    serve(&bench, "manifest.json", serde_json::to_vec(&normalized(jaffle::MANIFEST)).expect("JSON"));
    let mut manifest = normalized(jaffle::MANIFEST);
    manifest["nodes"]["model.jaffle_shop.orders"]["description"] = "Orders, as the pull request has them.".into();
    let edited = serde_json::to_vec(&manifest).expect("JSON");
    bench.emulator.with_world(|w| {
        // The CI run of pull request 42 built what production built, with one edit.
        let production = w.runs.iter().find(|r| r.id == ids::DOCS_RUN).expect("docs run").artifacts.clone();
        let run = w.runs.iter_mut().find(|r| r.id == pr_run).expect("the pull request's run");
        run.artifacts = production;
        w.replace_artifact(pr_run, "manifest.json", edited);
    });
    let mut session = bench.configured().await;
    let production = session.trigger_sync(&options()).await.expect("production sync");

    let pr = session.trigger_sync(&api::SyncOptions { pull_request: Some(42), ..options() }).await.expect("PR sync");
    assert_eq!((pr.runs[0].run_id, pr.runs[0].pull_request), (pr_run, Some(42)));
    assert_eq!(pr.runs[0].git_branch.as_deref(), Some("feature/orders"));
    let summary = pr.changes.expect("compared with production");
    assert_eq!((summary.previous_sync_id, summary.added, summary.removed, summary.modified), (production.id, 0, 0, 1));
    let changes = all_changes(&mut session, Some(production.id), pr.id).await;
    let listed: Vec<(&str, Vec<&str>)> =
        changes.iter().map(|c| (c.unique_id.as_str(), c.facets.iter().map(|f| f.as_str()).collect())).collect();
    assert_eq!(listed, [("model.jaffle_shop.orders", vec!["description"])]);

    // Production's next sync is compared with production, not with the pull request.
    let next = session.trigger_sync(&api::SyncOptions { force: true, ..options() }).await.expect("next production");
    assert_eq!(next.changes.map(|c| (c.previous_sync_id, c.modified)), Some((production.id, 0)));

    // A commit's run, by a prefix of its sha.
    let sha = format!("{pr_run:040x}");
    let by_sha = api::SyncOptions { git_sha: Some(sha[..10].to_string()), force: true, ..options() };
    let synced = session.trigger_sync(&by_sha).await.expect("sync of a commit");
    assert_eq!(synced.runs[0].git_sha.as_deref(), Some(sha.as_str()));

    let missing = session.trigger_sync(&api::SyncOptions { pull_request: Some(43), ..options() }).await;
    match missing {
        Err(CallError::Plugin(api::Error::NotFound(m))) => assert!(m.contains("pull request 43"), "{m}"),
        other => panic!("a pull request without runs: {other:?}"),
    }
    let bad = session.trigger_sync(&api::SyncOptions { git_sha: Some("main".into()), ..options() }).await;
    assert!(matches!(bad, Err(CallError::Plugin(api::Error::InvalidSetting(_)))), "{bad:?}");
}
