//! `trigger-sync` and the history, through the real component in the real host.

use crate::common;

use common::SyncAndRead;

use common::{Bench, manifest_counts, options, record_counts};
use dbt_cloud_emulator::world::{ids, jaffle};
use model_sync_host::{CallError, api};

#[tokio::test]
async fn a_sync_catalogs_every_resource_of_the_manifest() {
    let bench = Bench::jaffle("sync-counts");
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync succeeds");
    let record = &report.sync;
    assert_eq!(record.status, api::SyncStatus::Succeeded, "{:?}", record.warnings);
    assert_eq!(record_counts(record), manifest_counts(jaffle::MANIFEST));
    assert_eq!(report.catalog.nodes.len() as u32, record.counts.iter().map(|c| c.count).sum::<u32>());
    let docs = &record.runs[0];
    assert_eq!((docs.run_id, docs.job_id, docs.purpose.as_str()), (ids::DOCS_RUN, ids::DOCS_JOB, "docs"));
    assert_eq!(docs.artifacts, vec!["manifest.json", "run_results.json", "catalog.json"]);
    assert_eq!(record.runs[1].run_id, ids::FRESHNESS_RUN);
    assert_eq!(record.runs[1].artifacts, vec!["sources.json"]);
}

#[tokio::test]
async fn column_lineage_is_found_in_the_compiled_sql() {
    let bench = Bench::jaffle("sync-lineage");
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync succeeds");
    let node = |id: &str| report.catalog.nodes.iter().find(|n| n.unique_id == id).unwrap_or_else(|| panic!("{id}"));
    let upstream = |model: &str, column: &str| -> Vec<(String, String)> {
        let c = node(model).columns.iter().find(|c| c.name == column).unwrap_or_else(|| panic!("{model}.{column}"));
        c.upstream.iter().map(|u| (u.node.clone(), u.column.clone())).collect()
    };
    let customers = "model.jaffle_shop.customers";
    // Through `sum(orders.order_total)` in a CTE, then `customer_orders_summary.lifetime_spend`.
    assert_eq!(upstream(customers, "lifetime_spend"), [("model.jaffle_shop.orders".into(), "order_total".into())]);
    // Through `customers.*` over a CTE that is `select * from stg_customers`.
    assert_eq!(upstream(customers, "customer_id"), [("model.jaffle_shop.stg_customers".into(), "customer_id".into())]);
    // Renamed from the source (not the seed of the same relation): `id as customer_id`.
    assert_eq!(
        upstream("model.jaffle_shop.stg_customers", "customer_id"),
        [("source.jaffle_shop.ecom.raw_customers".into(), "id".into())]
    );
    let coverage = report.sync.column_lineage.expect("coverage in the record");
    assert_eq!((coverage.models, coverage.unparsed), (13, 0));
    assert!(coverage.resolved * 100 >= coverage.columns * 90, "{coverage:?}");
    let log = session.get_sync(report.sync.id).await.expect("the sync's detail").log;
    assert!(log.iter().any(|l| l.contains("column lineage:")), "{log:?}");

    // Without code there is nothing to parse, and no coverage is claimed.
    let no_code = api::SyncOptions { exclude_code: true, force: true, ..options() };
    let without = session.sync(&no_code).await.expect("sync without code");
    assert!(without.sync.column_lineage.is_none());
    assert!(without.catalog.nodes.iter().flat_map(|n| &n.columns).all(|c| c.upstream.is_empty()));
}

#[tokio::test]
async fn governance_the_semantic_layer_and_explorer_links_cross_the_boundary() {
    let bench = Bench::jaffle("sync-semantics");
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync succeeds");
    let node = |id: &str| report.catalog.nodes.iter().find(|n| n.unique_id == id).unwrap_or_else(|| panic!("{id}"));
    let customers = node("model.jaffle_shop.customers");
    let governance = customers.governance.as_ref().expect("models are governed in dbt 1.11");
    assert_eq!((governance.access.as_deref(), governance.contract_enforced), (Some("protected"), false));
    let explorer = format!("{}/explore/{}/projects/{}/environments/", bench.emulator.url(), ids::ACCOUNT, ids::PROJECT);
    let link = customers.explorer_url.as_deref().expect("a link to Explorer");
    assert!(link.starts_with(&explorer) && link.ends_with("/details/model.jaffle_shop.customers"), "{link}");
    let Some(api::Semantics::Metric(ratio)) = &node("metric.jaffle_shop.food_revenue_pct").semantics else {
        panic!("a metric definition")
    };
    assert_eq!(ratio.metric_type, "ratio");
    let inputs: Vec<(&str, &str)> = ratio.inputs.iter().map(|i| (i.name.as_str(), i.role.as_str())).collect();
    assert_eq!(inputs, [("food_revenue", "numerator"), ("revenue", "denominator")]);
    let Some(api::Semantics::SemanticModel(orders)) = &node("semantic_model.jaffle_shop.orders").semantics else {
        panic!("a semantic model definition")
    };
    assert_eq!(orders.model.as_deref(), Some("ref('orders')"));
    let ordered_at = orders.dimensions.iter().find(|d| d.name == "ordered_at").expect("ordered_at");
    assert_eq!((ordered_at.kind.as_str(), ordered_at.time_granularity.as_deref()), ("time", Some("day")));
    assert!(orders.measures.iter().any(|m| m.name == "order_total" && m.kind == "sum"), "{:?}", orders.measures);
    let Some(api::Semantics::SavedQuery(query)) = &node("saved_query.jaffle_shop.revenue_metrics").semantics else {
        panic!("a saved query definition")
    };
    assert_eq!(query.metrics, ["revenue", "food_revenue", "drink_revenue"]);
    assert_eq!(query.exports[0].relation.as_deref(), Some("jaffle.main.revenue_metrics"));
    let test = report.catalog.nodes.iter().find(|n| n.resource_type == api::ResourceType::Test).expect("a test");
    assert!(test.semantics.is_none() && test.governance.is_none() && test.explorer_url.is_none());
}

#[tokio::test]
async fn the_catalog_has_lineage_columns_tests_and_freshness() {
    let bench = Bench::jaffle("sync-catalog");
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync succeeds");
    let node = |id: &str| report.catalog.nodes.iter().find(|n| n.unique_id == id).unwrap_or_else(|| panic!("{id}"));
    let orders = node("model.jaffle_shop.orders");
    assert_eq!(orders.materialization.as_deref(), Some("table"));
    assert!(orders.depends_on.contains(&"model.jaffle_shop.stg_orders".to_string()), "{:?}", orders.depends_on);
    let order_id = orders.columns.iter().find(|c| c.name == "order_id").expect("order_id column");
    assert!(order_id.primary_key, "order_id has a unique test");
    assert!(!order_id.tests.is_empty());
    // Types come from catalog.json.
    assert!(order_id.data_type.is_some(), "{order_id:?}");
    assert_eq!(orders.last_run.as_ref().map(|o| o.status.as_str()), Some("success"));
    assert!(!orders.test_outcomes.is_empty());
    assert!(
        orders.test_outcomes.iter().all(|t| t.status.as_ref().map(|s| s.as_str()) == Some("pass")),
        "{:?}",
        orders.test_outcomes
    );
    // run_results.json is read from the build step, not the trailing docs step: tests have outcomes.
    let test = report
        .catalog
        .nodes
        .iter()
        .find(|n| {
            n.resource_type == api::ResourceType::Test && n.tested_node.as_deref() == Some("model.jaffle_shop.orders")
        })
        .expect("a test of orders");
    assert_eq!(test.last_run.as_ref().map(|o| o.status.as_str()), Some("pass"));
    let raw_orders = node("source.jaffle_shop.ecom.raw_orders");
    let f = raw_orders.freshness.as_ref().expect("freshness");
    assert_eq!(f.status, api::FreshnessStatus::Error);
    assert!(f.criteria.as_deref().unwrap_or("").contains("warn after 24 hour"));
    assert!(
        orders.raw_code.as_deref().unwrap_or("").contains("ref("),
        "code is kept by default: {:?}",
        orders.raw_code
    );
    let steps: Vec<String> = bench
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("run_results.json"))
        .map(|r| format!("{:?}", r.query))
        .collect();
    assert_eq!(steps, vec![r#"[("step", "4")]"#], "run_results.json from the build step");
}

#[tokio::test]
async fn code_is_left_out_when_asked() {
    let bench = Bench::jaffle("sync-code");
    let mut session = bench.configured().await;
    let report = session.sync(&api::SyncOptions { exclude_code: true, ..options() }).await.expect("sync");
    let orders = report.catalog.nodes.iter().find(|n| n.unique_id == "model.jaffle_shop.orders").expect("orders");
    assert_eq!((&orders.raw_code, &orders.compiled_code), (&None, &None));
}

#[tokio::test]
async fn two_syncs_make_a_history_that_a_new_instance_lists() {
    let bench = Bench::jaffle("sync-history");
    let mut session = bench.configured().await;
    let first = session.sync(&options()).await.expect("first sync");
    let second = session.sync(&api::SyncOptions { force: true, ..options() }).await.expect("second sync");
    assert_eq!((first.sync.id, second.sync.id), (1, 2));
    let changes = second.sync.changes.expect("changes since sync 1");
    assert_eq!((changes.previous_sync_id, changes.added, changes.removed, changes.modified), (1, 0, 0, 0));
    drop(session);
    let mut fresh = bench.session().await;
    let listed = fresh.list_syncs(None).await.expect("list");
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(listed[0], second.sync);
    let detail = fresh.get_sync(1).await.expect("get sync 1");
    assert_eq!(fresh.read_catalog(1, None).await.expect("catalog").len(), first.catalog.nodes.len());
    assert!(detail.log.iter().any(|l| l.contains("docs run")), "{:?}", detail.log);
}

#[tokio::test]
async fn unchanged_runs_reuse_the_previous_catalog() {
    let bench = Bench::jaffle("sync-unchanged");
    let mut session = bench.configured().await;
    session.sync(&options()).await.expect("first sync");
    bench.emulator.clear_requests();
    let second = session.sync(&options()).await.expect("second sync");
    assert_eq!(record_counts(&second.sync), manifest_counts(jaffle::MANIFEST));
    let downloads = bench.emulator.requests().iter().filter(|r| r.path.contains("/artifacts/")).count();
    assert_eq!(downloads, 0, "nothing downloaded again");
}

#[tokio::test]
async fn a_missing_freshness_artifact_is_a_warning() {
    let bench = Bench::jaffle("sync-no-sources");
    bench.emulator.with_world(|w| {
        for r in w.runs.iter_mut().filter(|r| r.id == ids::FRESHNESS_RUN) {
            r.artifacts.clear();
        }
    });
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync succeeds");
    assert_eq!(report.sync.status, api::SyncStatus::SucceededWithWarnings);
    assert!(report.sync.warnings.iter().any(|w| w.contains("sources.json")), "{:?}", report.sync.warnings);
    assert!(report.catalog.nodes.iter().all(|n| n.freshness.is_none()));
}

#[tokio::test]
async fn a_given_run_id_syncs_that_run() {
    let bench = Bench::jaffle("sync-run-id");
    let mut session = bench.configured().await;
    let pr_run = ids::DOCS_RUN + 30;
    let report = session.sync(&api::SyncOptions { run_id: Some(pr_run), ..options() }).await.expect("sync");
    assert_eq!(report.sync.runs[0].run_id, pr_run);
    assert_eq!(report.sync.runs[0].git_branch.as_deref(), Some("feature/orders"));
}

#[tokio::test]
async fn a_sync_before_configure_is_refused() {
    let bench = Bench::jaffle("sync-unconfigured");
    let mut session = bench.session().await;
    match session.sync(&options()).await {
        Err(CallError::Plugin(api::Error::NotConfigured(_))) => {}
        other => panic!("expected not-configured, got {other:?}"),
    }
}

#[tokio::test]
async fn a_broken_manifest_fails_the_sync_and_keeps_the_history() {
    let bench = Bench::jaffle("sync-bad-manifest");
    let mut session = bench.configured().await;
    session.sync(&options()).await.expect("first sync");
    bench.emulator.fault(
        "manifest.json",
        1,
        dbt_cloud_emulator::FaultKind::Body(b"{\"nodes\": {\"model.x\": [".to_vec()),
    );
    match session.sync(&api::SyncOptions { force: true, ..options() }).await {
        Err(CallError::Plugin(api::Error::BadArtifact(m))) => {
            assert!(m.contains("manifest.json"), "{m}")
        }
        other => panic!("expected bad-artifact, got {other:?}"),
    }
    let listed = session.list_syncs(None).await.expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].status, api::SyncStatus::Failed);
    assert_eq!(listed[1].status, api::SyncStatus::Succeeded);
}

#[tokio::test]
async fn a_newer_schema_version_is_read_best_effort_with_a_warning() {
    let newer = String::from_utf8(jaffle::MANIFEST.to_vec()).expect("utf-8").replacen(
        "dbt/manifest/v12.json",
        "dbt/manifest/v13.json",
        1,
    );
    let bench = Bench::jaffle("sync-newer");
    bench.emulator.with_world(|w| w.replace_artifact(ids::DOCS_RUN, "manifest.json", newer.into_bytes()));
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync");
    assert_eq!(report.sync.status, api::SyncStatus::SucceededWithWarnings);
    assert!(report.sync.warnings.iter().any(|w| w.contains("v13")), "{:?}", report.sync.warnings);
    assert_eq!(record_counts(&report.sync), manifest_counts(jaffle::MANIFEST));
}

#[tokio::test]
async fn warehouse_statistics_and_types_come_from_catalog_json() {
    let bench = Bench::jaffle("sync-stats");
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync");
    let catalog: serde_json::Value = serde_json::from_slice(jaffle::CATALOG).expect("catalog");
    let (id, relation) = catalog["nodes"].as_object().expect("nodes").iter().next().expect("a relation");
    let node = report.catalog.nodes.iter().find(|n| &n.unique_id == id).expect("node in catalog");
    let typed = relation["columns"].as_object().expect("columns").len();
    assert!(node.columns.iter().filter(|c| c.data_type.is_some()).count() >= typed, "{node:?}");
    let shown = relation["stats"]
        .as_object()
        .expect("stats")
        .values()
        .filter(|s| s["include"] == true && s["id"] != "has_stats")
        .count();
    assert_eq!(node.stats.len(), shown);
}

#[tokio::test]
async fn a_catalog_can_be_read_in_pages_and_by_type() {
    let bench = Bench::jaffle("sync-pages");
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync");
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let page = session.get_catalog(report.sync.id, offset, 10, None).await.expect("page");
        assert_eq!(page.total as usize, report.catalog.nodes.len());
        if page.nodes.is_empty() {
            break;
        }
        assert!(page.nodes.len() <= 10);
        offset += page.nodes.len() as u32;
        paged.extend(page.nodes);
    }
    assert_eq!(paged, report.catalog.nodes);
    let models = session.get_catalog(report.sync.id, 0, 1000, Some(&api::ResourceType::Model)).await.expect("models");
    assert_eq!(models.total, record_counts(&report.sync)["model"]);
    assert!(models.nodes.iter().all(|n| n.resource_type == api::ResourceType::Model));
    assert!(matches!(session.get_catalog(999, 0, 10, None).await, Err(CallError::Plugin(api::Error::NotFound(_)))));
}

#[tokio::test]
async fn records_and_catalog_entries_serialize_for_an_embedder() {
    let bench = Bench::jaffle("sync-serialize");
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync succeeds");
    let record = serde_json::to_value(&report.sync).expect("a record serializes");
    assert_eq!(record["id"], report.sync.id);
    let nodes = serde_json::to_value(&report.catalog.nodes).expect("entries serialize");
    let customers = nodes
        .as_array()
        .expect("an array")
        .iter()
        .find(|n| n["unique_id"] == "model.jaffle_shop.customers")
        .expect("customers");
    assert!(customers["columns"].as_array().is_some_and(|c| !c.is_empty()), "{customers}");
    assert_eq!(customers["resource_type"], "Model", "variants serialize by name");
}

#[tokio::test]
async fn artifacts_are_asked_for_gzipped_and_inflated_when_the_server_gzips_them() {
    let bench = Bench::jaffle("sync-gzip");
    let mut session = bench.configured().await;
    let report = session.sync(&options()).await.expect("sync succeeds");
    assert_eq!(record_counts(&report.sync), manifest_counts(jaffle::MANIFEST), "the same catalog as unzipped");
    let artifacts: Vec<_> = bench.emulator.requests().into_iter().filter(|r| r.path.contains("/artifacts/")).collect();
    assert!(!artifacts.is_empty());
    for r in &artifacts {
        let encoding = r.headers.iter().find(|(n, _)| n == "accept-encoding").map(|(_, v)| v.as_str());
        assert_eq!(encoding, Some("gzip"), "{}", r.path);
    }
    let lines = bench.log_lines();
    assert!(
        lines.iter().any(|l| l.contains("manifest.json: ") && l.contains(" bytes gzipped downloaded")),
        "{lines:#?}"
    );
}
