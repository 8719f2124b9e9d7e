//! The catalog a sync produces, and the mapping from dbt artifacts into it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::artifacts::manifest::{CodePolicy, Manifest, Resource};
use crate::artifacts::run_results::RunResults;
use crate::artifacts::sources::Sources;
use crate::artifacts::warehouse::WarehouseCatalog;
use crate::explorer::Explorer;

pub mod governance;
pub mod semantics;

pub use governance::{Constraint, Governance};
pub use semantics::Semantics;

/// One catalog entry (the WIT `catalog-node`): a model, source, seed,
/// snapshot, test, exposure, metric or semantic model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Node {
    /// dbt's unique id (`model.jaffle_shop.orders`), the key across syncs.
    pub unique_id: String,
    /// dbt's resource type (`model`, `source`, `test`...).
    pub resource_type: String,
    /// The resource's name (versions of a model share it).
    pub name: String,
    /// The dbt package that defines it.
    pub package_name: String,
    /// The file that defines it, relative to the project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The warehouse database of its relation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The warehouse schema of its relation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The fully quoted relation (`"db"."main"."orders"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation_name: Option<String>,
    /// `table`, `view`, `incremental`, `ephemeral`...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub materialization: Option<String>,
    /// Its description (an exposure's or metric's label when it has none).
    pub description: String,
    /// Tags, from the resource and its config, without repeats.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The owner: an exposure's, or the warehouse's owner of the relation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `meta` (config meta overlaid by resource meta) as JSON text.
    pub meta_json: String,
    /// Documented columns, then undocumented warehouse columns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Column>,
    /// Unique ids of the resources it is built from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Tests: the node tested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tested_node: Option<String>,
    /// Tests: the column tested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tested_column: Option<String>,
    /// Generic tests: the test's name (`unique`, `not_null`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_name: Option<String>,
    /// The SQL as written, when code is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_code: Option<String>,
    /// The SQL as compiled, when code is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compiled_code: Option<String>,
    /// How the node last ended in the docs run's build step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunOutcome>,
    /// Sources: the latest freshness check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
    /// Warehouse statistics (id, label, value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stats: Vec<Stat>,
    /// The node's tests and how they last ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test_outcomes: Vec<TestOutcome>,
    /// Models: version, access, group, contract, constraints, deprecation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub governance: Option<Governance>,
    /// Semantic models, metrics, saved queries: their definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantics: Option<Semantics>,
    /// The entry's page in dbt Explorer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explorer_url: Option<String>,
}

/// How one test of a node last ended (the WIT `test-outcome`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestOutcome {
    /// The test's unique id.
    pub test_id: String,
    /// The generic test's name (`unique`...); none for singular tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_name: Option<String>,
    /// The column it tests, if it tests one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// `pass`, `fail`, `warn`, `error`, `skipped`; none when it did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// How many rows failed, when dbt counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<u64>,
}

/// A statistic the warehouse reports for a relation (the WIT `stat`), such
/// as its row count or size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// dbt's key for it (`row_count`, `bytes`...).
    pub id: String,
    /// How dbt labels it ("Row Count").
    pub label: String,
    /// The value as text.
    pub value: String,
}

/// A column of a node (the WIT `column`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Column {
    /// The name as documented (or as the warehouse spells it, if undocumented).
    pub name: String,
    /// Its documented description (or the warehouse comment).
    pub description: String,
    /// The declared type, else the warehouse's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// Unique ids of the tests on this column.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<String>,
    /// Whether it is part of the key (primary key, constraint or `unique` test).
    pub primary_key: bool,
    /// Models: the upstream columns it is computed from, found in the
    /// compiled SQL (column-level lineage); empty when none were found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<ColumnRef>,
}

/// A column of another catalog entry (the WIT `column-ref`).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnRef {
    /// The entry's unique id (`model.jaffle_shop.orders`).
    pub node: String,
    /// The column's name as that entry has it.
    pub column: String,
}

/// How a node last ended in a run (the WIT `run-outcome`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOutcome {
    /// `success`, `error`, `skipped`, `pass`, `fail`, `warn`...
    pub status: String,
    /// dbt's message (an error's text, `SELECT 5`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How long it ran, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time_secs: Option<f64>,
    /// When its last phase completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Tests: how many rows failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<u64>,
}

/// A source's freshness check (the WIT `freshness`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Freshness {
    /// `pass`, `warn`, `error` or `runtime error`, lower-case.
    pub status: String,
    /// The newest value of the loaded-at field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_loaded_at: Option<String>,
    /// When dbt checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshotted_at: Option<String>,
    /// How old the newest row was then, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_secs: Option<f64>,
    /// The criteria (`warn after 12 hour, error after 24 hour`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criteria: Option<String>,
    /// The error of a runtime error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a sync produced: one entry per resource, sorted by unique id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// The entries, sorted by unique id, without duplicates.
    pub nodes: Vec<Node>,
}

impl Catalog {
    /// Links every entry Explorer has a page for to that page.
    pub fn link(&mut self, explorer: &Explorer) {
        for node in &mut self.nodes {
            node.explorer_url = explorer.page(&node.resource_type, &node.unique_id);
        }
    }

    /// Entries per resource type, sorted by type.
    pub fn counts(&self) -> BTreeMap<String, u32> {
        let mut counts = BTreeMap::new();
        for n in &self.nodes {
            *counts.entry(n.resource_type.clone()).or_insert(0) += 1;
        }
        counts
    }
}

/// What goes into a catalog besides the manifest; each is optional.
#[derive(Default)]
pub struct Inputs {
    /// Results of the docs run's build step: run and test outcomes.
    pub run_results: Option<RunResults>,
    /// Freshness results of the freshness run.
    pub sources: Option<Sources>,
    /// catalog.json: warehouse types and statistics.
    pub warehouse: Option<WarehouseCatalog>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn node_from<C: CodePolicy>(r: Resource<C>, owners: &governance::Owners) -> Node {
    let governance = governance::of(&r, owners);
    let semantics = semantics::of(&r);
    let config = r.config.unwrap_or_default();
    let mut tags = r.tags;
    for t in config.tags {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let mut meta = config.meta.unwrap_or_default();
    meta.extend(r.meta.unwrap_or_default());
    let relation = r.node_relation.unwrap_or_default();
    let tested_column = r.column_name.or_else(|| r.test_metadata.as_ref()?.kwargs.as_ref()?.column_name.clone());
    let depends_on = r.depends_on.map(|d| d.nodes).unwrap_or_default();
    let tested_node = match r.resource_type.as_str() {
        "test" => r.attached_node.or_else(|| depends_on.iter().find(|d| !d.starts_with("macro.")).cloned()),
        "unit_test" => depends_on.first().cloned(),
        _ => None,
    };
    let mut key_columns: Vec<String> = r.primary_key;
    for c in &r.constraints {
        if c.kind == "primary_key" {
            key_columns.extend(c.columns.iter().cloned());
        }
    }
    let columns = r
        .columns
        .into_iter()
        .map(|c| Column {
            primary_key: key_columns.iter().any(|k| k.eq_ignore_ascii_case(&c.name))
                || c.constraints.iter().any(|k| k.kind == "primary_key"),
            name: c.name,
            description: c.description,
            data_type: non_empty(c.data_type),
            tests: Vec::new(),
            upstream: Vec::new(),
        })
        .collect();
    Node {
        unique_id: r.unique_id,
        path: r.original_file_path,
        database: non_empty(r.database.or(relation.database)),
        schema: non_empty(r.schema.or(relation.schema_name)),
        relation_name: non_empty(r.relation_name.or(relation.relation_name)),
        materialization: non_empty(config.materialized),
        description: if r.description.is_empty() { r.label.unwrap_or_default() } else { r.description },
        tags,
        owner: r.owner.and_then(|o| o.name.or(o.email)),
        meta_json: serde_json::Value::Object(meta).to_string(),
        columns,
        depends_on,
        tested_node,
        tested_column,
        test_name: r.test_metadata.map(|t| t.name).filter(|n| !n.is_empty()),
        raw_code: r.raw_code,
        compiled_code: r.compiled_code,
        last_run: None,
        freshness: None,
        stats: Vec::new(),
        test_outcomes: Vec::new(),
        governance,
        semantics,
        explorer_url: None,
        resource_type: r.resource_type,
        name: r.name,
        package_name: r.package_name,
    }
}

/// Builds the catalog from a manifest and whatever else the runs produced.
/// Code is in it when the manifest was parsed with [`KeepCode`](crate::artifacts::manifest::KeepCode).
pub fn build<C: CodePolicy>(manifest: Manifest<C>, inputs: Inputs) -> Catalog {
    let owners = governance::owners(&manifest.groups);
    let mut nodes: Vec<Node> = manifest.into_resources().map(|r| node_from(r, &owners)).collect();
    nodes.sort_by(|a, b| a.unique_id.cmp(&b.unique_id));
    nodes.dedup_by(|a, b| a.unique_id == b.unique_id);
    let index: HashMap<String, usize> = nodes.iter().enumerate().map(|(i, n)| (n.unique_id.clone(), i)).collect();

    if let Some(results) = inputs.run_results.filter(|r| r.executes_nodes()) {
        for r in results.results {
            if let Some(&i) = index.get(&r.unique_id) {
                let completed_at = r.completed_at();
                nodes[i].last_run = Some(RunOutcome {
                    status: r.status,
                    message: r.message,
                    execution_time_secs: r.execution_time,
                    completed_at,
                    failures: r.failures,
                });
            }
        }
    }
    if let Some(sources) = inputs.sources {
        for s in sources.results {
            if let Some(&i) = index.get(&s.unique_id) {
                nodes[i].freshness = Some(Freshness {
                    status: s.status.to_ascii_lowercase(),
                    max_loaded_at: s.max_loaded_at,
                    snapshotted_at: s.snapshotted_at,
                    age_secs: s.max_loaded_at_time_ago_in_s,
                    criteria: s.criteria.and_then(|c| c.describe()),
                    error: s.error,
                });
            }
        }
    }
    if let Some(warehouse) = inputs.warehouse {
        for (id, relation) in warehouse.nodes.into_iter().chain(warehouse.sources) {
            if let Some(&i) = index.get(&id) {
                let node = &mut nodes[i];
                merge_warehouse_columns(node, relation.columns);
                node.stats = relation
                    .stats
                    .into_iter()
                    .filter(|s| s.include == Some(true) && s.id != "has_stats")
                    .filter_map(|s| Some(Stat { value: s.value?, id: s.id, label: s.label }))
                    .collect();
                if node.owner.is_none() {
                    node.owner = relation.metadata.and_then(|m| m.owner).filter(|o| !o.is_empty());
                }
            }
        }
    }
    link_tests(&mut nodes, &index);
    Catalog { nodes }
}

/// Adds types from the warehouse to documented columns (matched
/// case-insensitively) and appends undocumented ones in warehouse order.
fn merge_warehouse_columns(node: &mut Node, mut columns: Vec<crate::artifacts::warehouse::WarehouseColumn>) {
    columns.sort_by_key(|c| c.index.unwrap_or(u64::MAX));
    for wc in columns {
        match node.columns.iter_mut().find(|c| c.name.eq_ignore_ascii_case(&wc.name)) {
            Some(c) => {
                if c.data_type.is_none() {
                    c.data_type = wc.data_type;
                }
            }
            None => node.columns.push(Column {
                name: wc.name,
                description: wc.comment.unwrap_or_default(),
                data_type: wc.data_type,
                ..Column::default()
            }),
        }
    }
}

/// Attaches each test to the node and column it tests with its last outcome,
/// and marks `unique` columns as keys.
fn link_tests(nodes: &mut [Node], index: &HashMap<String, usize>) {
    let outcomes: Vec<(usize, TestOutcome)> = nodes
        .iter()
        .filter(|n| n.resource_type == "test" || n.resource_type == "unit_test")
        .filter_map(|t| {
            let target = *index.get(t.tested_node.as_ref()?)?;
            let outcome = TestOutcome {
                test_id: t.unique_id.clone(),
                test_name: t.test_name.clone(),
                column: t.tested_column.clone(),
                status: t.last_run.as_ref().map(|r| r.status.clone()),
                failures: t.last_run.as_ref().and_then(|r| r.failures),
            };
            Some((target, outcome))
        })
        .collect();
    for (target, outcome) in outcomes {
        nodes[target].test_outcomes.push(outcome);
    }
    let links: Vec<(usize, String, String, bool)> = nodes
        .iter()
        .filter(|n| n.resource_type == "test")
        .filter_map(|t| {
            let target = *index.get(t.tested_node.as_ref()?)?;
            let is_unique = t.test_name.as_deref() == Some("unique");
            Some((target, t.tested_column.clone()?, t.unique_id.clone(), is_unique))
        })
        .collect();
    for (target, column, test_id, is_unique) in links {
        let node = &mut nodes[target];
        let column = column.trim_matches('"').to_string();
        let position = match node.columns.iter().position(|c| c.name.eq_ignore_ascii_case(&column)) {
            Some(p) => p,
            None => {
                node.columns.push(Column { name: column, ..Column::default() });
                node.columns.len() - 1
            }
        };
        let col = &mut node.columns[position];
        col.tests.push(test_id);
        col.primary_key |= is_unique;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::parse;

    fn catalog(manifest: &str, inputs: Inputs) -> Catalog {
        build(parse::<Manifest>("manifest.json", manifest.as_bytes()).expect("parses"), inputs)
    }

    fn node<'a>(c: &'a Catalog, id: &str) -> &'a Node {
        c.nodes.iter().find(|n| n.unique_id == id).unwrap_or_else(|| panic!("{id}"))
    }

    /// dbt-core's own v12 test project (`defer_state`): groups with owners,
    /// access, deprecation, constraints, and every kind of metric.
    const DEFER_STATE: &[u8] =
        include_bytes!("../../../tests/fixtures/corpus/manifest/v12/dbt-core/defer_state/manifest.json");

    #[test]
    fn governance_and_the_semantic_layer_of_a_real_v12_project() {
        let c = build(parse::<Manifest>("manifest.json", DEFER_STATE).expect("parses"), Inputs::default());
        let g = node(&c, "model.test.model_with_lots_of_schema_configs").governance.clone().expect("governed");
        assert_eq!(
            (g.access.as_deref(), g.deprecation_date.as_deref()),
            (Some("public"), Some("2052-05-01T00:00:00-04:00"))
        );
        let kinds: Vec<&str> = g.constraints.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(&kinds[..3], ["primary_key", "foreign_key", "check"]);
        assert_eq!(g.constraints[1].references.as_deref(), Some("source('my_source', 'my_table')"));
        let spine = node(&c, "model.test.metricflow_time_spine").governance.clone().expect("governed");
        assert_eq!(
            (spine.group.as_deref(), spine.group_owner.as_deref()),
            (Some("finance"), Some("finance@jaffleshop.com"))
        );
        let mut types: Vec<&str> = c
            .nodes
            .iter()
            .filter_map(|n| match &n.semantics {
                Some(Semantics::Metric(m)) => Some(m.metric_type.as_str()),
                _ => None,
            })
            .collect();
        types.sort();
        types.dedup();
        assert_eq!(types, ["conversion", "cumulative", "derived", "ratio", "simple"]);
        let Some(Semantics::Metric(cumulative)) = &node(&c, "metric.test.cumulative_metric").semantics else {
            panic!("a metric")
        };
        assert_eq!(cumulative.inputs[0].filter.as_deref(), Some("1 = 1"));
        assert!(matches!(node(&c, "semantic_model.test.my_sm").semantics, Some(Semantics::SemanticModel(_))));
        assert!(matches!(node(&c, "saved_query.test.my_saved_query").semantics, Some(Semantics::SavedQuery(_))));
    }

    #[test]
    fn v1_to_v6_tests_attach_through_depends_on_and_sql_is_raw_sql() {
        // v1-v8: no attached_node; the tested model is the first non-macro dependency.
        let c = catalog(
            r#"{"nodes": {
              "model.p.orders": {"unique_id": "model.p.orders", "resource_type": "model", "name": "orders",
                 "raw_sql": "select 1", "compiled_sql": "select 1 as id", "columns": {"id": {"name": "id"}}},
              "test.p.unique_orders_id.abc": {"unique_id": "test.p.unique_orders_id.abc", "resource_type": "test",
                 "name": "unique_orders_id", "column_name": "id",
                 "test_metadata": {"name": "unique", "kwargs": {"column_name": "id"}},
                 "depends_on": {"macros": ["macro.dbt.test_unique"], "nodes": ["model.p.orders"]}}},
              "disabled": [{"unique_id": "model.p.old"}]}"#,
            Inputs::default(),
        );
        assert_eq!(c.nodes.len(), 2, "disabled nodes (a list before v4) are not in the catalog");
        let orders = node(&c, "model.p.orders");
        assert_eq!(orders.raw_code.as_deref(), Some("select 1"));
        assert_eq!(orders.compiled_code.as_deref(), Some("select 1 as id"));
        let id = &orders.columns[0];
        assert!(id.primary_key);
        assert_eq!(id.tests, vec!["test.p.unique_orders_id.abc"]);
        assert_eq!(node(&c, "test.p.unique_orders_id.abc").tested_node.as_deref(), Some("model.p.orders"));
    }

    #[test]
    fn v9_versions_attached_node_constraints_and_v12_primary_key() {
        let c = catalog(
            r#"{"nodes": {
              "model.p.dim.v2": {"unique_id": "model.p.dim.v2", "resource_type": "model", "name": "dim", "version": 2,
                 "constraints": [{"type": "primary_key", "columns": ["dim_id"]}],
                 "columns": {"dim_id": {"name": "dim_id", "data_type": "int"}, "other": {"name": "other",
                   "constraints": [{"type": "not_null"}]}}},
              "model.p.fct": {"unique_id": "model.p.fct", "resource_type": "model", "name": "fct", "primary_key": ["FCT_ID"],
                 "columns": {"fct_id": {"name": "fct_id"}}},
              "test.p.not_null_dim.x": {"unique_id": "test.p.not_null_dim.x", "resource_type": "test", "name": "nn",
                 "attached_node": "model.p.dim.v2", "column_name": "other",
                 "test_metadata": {"name": "not_null"}, "depends_on": {"nodes": ["model.p.fct", "model.p.dim.v2"]}}},
              "disabled": {"model.p.gone": [{"unique_id": "model.p.gone"}]}}"#,
            Inputs::default(),
        );
        let dim = node(&c, "model.p.dim.v2");
        assert_eq!(dim.name, "dim", "versions keep the name; the unique id differs");
        assert!(dim.columns.iter().find(|c| c.name == "dim_id").expect("dim_id").primary_key);
        let other = dim.columns.iter().find(|c| c.name == "other").expect("other");
        assert!(!other.primary_key);
        assert_eq!(other.tests, vec!["test.p.not_null_dim.x"], "attached_node wins over depends_on order");
        assert!(node(&c, "model.p.fct").columns[0].primary_key, "primary_key matches case-insensitively");
        assert_eq!(dim.raw_code, None);
    }

    #[test]
    fn exposures_metrics_semantic_models_and_unit_tests() {
        let c = catalog(
            r#"{"nodes": {"model.p.orders": {"unique_id": "model.p.orders", "resource_type": "model", "name": "orders"}},
              "exposures": {"exposure.p.dash": {"unique_id": "exposure.p.dash", "resource_type": "exposure", "name": "dash",
                 "owner": {"name": null, "email": "bi@example.com"}, "label": "Weekly dashboard", "description": "",
                 "depends_on": {"nodes": ["model.p.orders"]}}},
              "metrics": {"metric.p.revenue": {"unique_id": "metric.p.revenue", "resource_type": "metric", "name": "revenue",
                 "type": "simple", "depends_on": {"nodes": ["semantic_model.p.orders"]}}},
              "semantic_models": {"semantic_model.p.orders": {"unique_id": "semantic_model.p.orders",
                 "resource_type": "semantic_model", "name": "orders", "model": "ref('orders')",
                 "node_relation": {"alias": "orders", "schema_name": "main", "database": "db", "relation_name": "\"db\".\"main\".\"orders\""},
                 "depends_on": {"nodes": ["model.p.orders"]}}},
              "unit_tests": {"unit_test.p.orders.t": {"unique_id": "unit_test.p.orders.t", "resource_type": "unit_test",
                 "name": "t", "model": "orders", "depends_on": {"nodes": ["model.p.orders"]}}}}"#,
            Inputs::default(),
        );
        assert_eq!(c.counts().values().sum::<u32>(), 5);
        let dash = node(&c, "exposure.p.dash");
        assert_eq!(dash.owner.as_deref(), Some("bi@example.com"));
        assert_eq!(dash.description, "Weekly dashboard", "the label stands in for an empty description");
        let sm = node(&c, "semantic_model.p.orders");
        assert_eq!((sm.database.as_deref(), sm.schema.as_deref()), (Some("db"), Some("main")));
        assert_eq!(node(&c, "unit_test.p.orders.t").tested_node.as_deref(), Some("model.p.orders"));
        assert_eq!(node(&c, "metric.p.revenue").depends_on, vec!["semantic_model.p.orders"]);
    }

    #[test]
    fn run_results_of_docs_generate_give_no_statuses_and_fusion_statuses_are_lower_cased() {
        let manifest = r#"{"nodes": {"model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "name": "a"}},
            "sources": {"source.p.s.t": {"unique_id": "source.p.s.t", "resource_type": "source", "name": "t"}}}"#;
        let results = |which: &str| {
            parse::<RunResults>(
                "run_results.json",
                format!(r#"{{"results": [{{"unique_id": "model.p.a", "status": "success"}}], "args": {{"which": "{which}"}}}}"#)
                    .as_bytes(),
            )
            .expect("parses")
        };
        let sources: Sources =
            parse("sources.json", &br#"{"results": [{"unique_id": "source.p.s.t", "status": "Warn"}]}"#[..])
                .expect("parses");
        let c = catalog(
            manifest,
            Inputs { run_results: Some(results("generate")), sources: Some(sources), ..Inputs::default() },
        );
        assert!(node(&c, "model.p.a").last_run.is_none());
        assert_eq!(node(&c, "source.p.s.t").freshness.as_ref().map(|f| f.status.as_str()), Some("warn"));
        let c = catalog(manifest, Inputs { run_results: Some(results("build")), ..Inputs::default() });
        assert_eq!(node(&c, "model.p.a").last_run.as_ref().map(|o| o.status.as_str()), Some("success"));
    }

    #[test]
    fn a_model_shows_how_its_tests_ended() {
        let manifest = r#"{"nodes": {"model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "name": "a"},
            "test.p.unique_a_id.1": {"unique_id": "test.p.unique_a_id.1", "resource_type": "test", "name": "u",
              "attached_node": "model.p.a", "column_name": "id", "test_metadata": {"name": "unique"}},
            "test.p.singular.2": {"unique_id": "test.p.singular.2", "resource_type": "test", "name": "s",
              "depends_on": {"nodes": ["model.p.a"]}}}}"#;
        let results: RunResults = parse(
            "run_results.json",
            &br#"{"results": [{"unique_id": "test.p.unique_a_id.1", "status": "fail", "failures": 4}], "args": {"which": "build"}}"#[..],
        )
        .expect("parses");
        let c = catalog(manifest, Inputs { run_results: Some(results), ..Inputs::default() });
        let outcomes = &node(&c, "model.p.a").test_outcomes;
        assert_eq!(outcomes.len(), 2);
        let unique = outcomes.iter().find(|o| o.test_id == "test.p.unique_a_id.1").expect("unique test");
        assert_eq!(
            (unique.status.as_deref(), unique.failures, unique.column.as_deref()),
            (Some("fail"), Some(4), Some("id"))
        );
        let singular = outcomes.iter().find(|o| o.test_id == "test.p.singular.2").expect("singular test");
        assert_eq!((singular.status.as_deref(), singular.test_name.as_deref()), (None, None));
    }

    #[test]
    fn warehouse_columns_join_case_insensitively_and_add_undocumented_ones() {
        let manifest = r#"{"nodes": {"model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "name": "a",
            "columns": {"id": {"name": "id", "description": "key"}}}}}"#;
        let warehouse: WarehouseCatalog = parse(
            "catalog.json",
            &br#"{"nodes": {"model.p.a": {"metadata": {"owner": "LOADER"}, "columns": {
                "EXTRA": {"name": "EXTRA", "type": "TEXT", "index": 2},
                "ID": {"name": "ID", "type": "NUMBER", "index": 1}},
                "stats": {"row_count": {"id": "row_count", "label": "Row Count", "value": 42, "include": true},
                          "has_stats": {"id": "has_stats", "label": "Has Stats?", "value": true, "include": false}}}}}"#[..],
        )
        .expect("parses");
        let c = catalog(manifest, Inputs { warehouse: Some(warehouse), ..Inputs::default() });
        let a = node(&c, "model.p.a");
        assert_eq!(a.columns.len(), 2);
        assert_eq!((a.columns[0].name.as_str(), a.columns[0].data_type.as_deref()), ("id", Some("NUMBER")));
        assert_eq!(a.columns[1].name, "EXTRA");
        assert_eq!(a.stats, vec![Stat { id: "row_count".into(), label: "Row Count".into(), value: "42".into() }]);
        assert_eq!(a.owner.as_deref(), Some("LOADER"));
    }
}
