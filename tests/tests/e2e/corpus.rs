//! Every manifest (with its run_results where one of the same dbt version
//! exists), every run_results, sources and catalog file of the artifact corpus,
//! synced through the emulator: the counts per resource type equal the
//! document's. The repository keeps a representative subset
//! (`fixtures/corpus`); the full corpus (`../shared/dbt-artifacts/corpus`) is
//! used as well when it is there.

use crate::common;

use common::SyncAndRead;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{Bench, manifest_counts, options, record_counts};
use dbt_cloud_emulator::World;
use dbt_cloud_emulator::world::{ids, jaffle};
use model_sync_host::api;
use serde_json::Value;

fn files(root: &Path, kind: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join(kind), &mut out);
    out.sort();
    out
}

fn roots() -> Vec<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![here.join("fixtures/corpus")];
    let shared = here.join("../../shared/dbt-artifacts/corpus");
    if shared.is_dir() {
        roots.push(shared);
    } else {
        println!("corpus: ../shared/dbt-artifacts/corpus is absent; syncing the in-repo subset only");
    }
    roots
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("readable")).expect("JSON")
}

/// `(origin, major.minor)` of an artifact: the corpus folder after the version, and the dbt version.
fn pairing_key(root: &Path, path: &Path, doc: &Value) -> (String, String) {
    let rel = path.strip_prefix(root).expect("under root");
    let origin = rel.iter().nth(2).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let version = doc["metadata"]["dbt_version"].as_str().unwrap_or("");
    let minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    (origin, minor)
}

/// Unique ids a catalog of `manifest` has.
fn catalog_ids(manifest: &Value) -> BTreeSet<String> {
    ["nodes", "sources", "exposures", "metrics", "semantic_models", "saved_queries", "unit_tests"]
        .iter()
        .filter_map(|s| manifest.get(*s).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect()
}

/// A world whose docs run serves these artifacts.
fn world(manifest: &[u8], run_results: Option<&[u8]>, catalog: Option<&[u8]>, sources: Option<&[u8]>) -> World {
    let mut world = World::jaffle_shop();
    for run in world.runs.iter_mut() {
        if run.id == ids::DOCS_RUN {
            run.artifacts.clear();
            let build = run.steps.iter().position(|s| s.contains("`dbt build`")).map(|i| i as u32 + 1);
            run.save("manifest.json", None, manifest.to_vec());
            if let Some(rr) = run_results {
                run.save("run_results.json", build, rr.to_vec());
            }
            if let Some(c) = catalog {
                run.save("catalog.json", None, c.to_vec());
            }
        }
        if run.id == ids::FRESHNESS_RUN {
            run.artifacts.clear();
            if let Some(s) = sources {
                run.save("sources.json", None, s.to_vec());
            }
        }
    }
    world
}

#[tokio::test]
async fn every_manifest_syncs_with_the_counts_of_the_document() {
    let (mut synced, mut with_results) = (0, 0);
    for root in roots() {
        let run_results: Vec<(PathBuf, Value)> = files(&root, "run_results")
            .into_iter()
            .map(|p| {
                let d = json(&p);
                (p, d)
            })
            .collect();
        for path in files(&root, "manifest") {
            let bytes = std::fs::read(&path).expect("readable");
            let doc: Value = serde_json::from_slice(&bytes).expect("JSON");
            let key = pairing_key(&root, &path, &doc);
            let paired = run_results.iter().find(|(p, d)| pairing_key(&root, p, d) == key);
            let rr_bytes = paired.map(|(p, _)| std::fs::read(p).expect("readable"));
            let bench = Bench::new("corpus", world(&bytes, rr_bytes.as_deref(), None, None));
            let mut session = bench.configured().await;
            let report = session.sync(&options()).await.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(record_counts(&report.sync), manifest_counts(&bytes), "{}", path.display());
            if let Some((rr_path, rr)) = paired {
                let ids = catalog_ids(&doc);
                let executed = !matches!(rr["args"]["which"].as_str(), Some("generate" | "compile"));
                let expected: BTreeSet<&str> = if executed {
                    rr["results"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r["unique_id"].as_str())
                        .filter(|id| ids.contains(*id))
                        .collect()
                } else {
                    BTreeSet::new()
                };
                let got: BTreeSet<&str> = report
                    .catalog
                    .nodes
                    .iter()
                    .filter(|n| n.last_run.is_some())
                    .map(|n| n.unique_id.as_str())
                    .collect();
                assert_eq!(got, expected, "{} with {}", path.display(), rr_path.display());
                with_results += usize::from(!expected.is_empty());
            }
            synced += 1;
        }
    }
    assert!(synced >= 6, "only {synced} manifests");
    assert!(with_results >= 2, "only {with_results} manifests were synced with run results");
    println!("corpus: {synced} manifests synced, {with_results} with run statuses");
}

#[tokio::test]
async fn every_run_results_sources_and_catalog_file_parses_in_a_sync() {
    let manifest: Value = serde_json::from_slice(jaffle::MANIFEST).expect("manifest");
    let ids = catalog_ids(&manifest);
    for root in roots() {
        for kind in ["run_results", "sources", "catalog"] {
            for path in files(&root, kind) {
                let bytes = std::fs::read(&path).expect("readable");
                let doc: Value = serde_json::from_slice(&bytes).expect("JSON");
                let w = match kind {
                    "run_results" => world(jaffle::MANIFEST, Some(&bytes), None, None),
                    "sources" => world(jaffle::MANIFEST, None, None, Some(&bytes)),
                    _ => world(jaffle::MANIFEST, None, Some(&bytes), None),
                };
                let bench = Bench::new("corpus-other", w);
                let mut session = bench.configured().await;
                let report = session.sync(&options()).await.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                if kind == "sources" {
                    let expected = doc["results"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|r| r["unique_id"].as_str().is_some_and(|i| ids.contains(i)))
                        .count();
                    let got = report.catalog.nodes.iter().filter(|n| n.freshness.is_some()).count();
                    assert_eq!(got, expected, "{}", path.display());
                    for n in report.catalog.nodes.iter().filter_map(|n| n.freshness.as_ref()) {
                        assert!(!matches!(n.status, api::FreshnessStatus::Other(_)), "a known status: {:?}", n.status);
                    }
                }
            }
        }
    }
}
