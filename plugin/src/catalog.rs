//! The catalog a sync produces, and the mapping from dbt artifacts into it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::artifacts::manifest::{Manifest, Resource};
use crate::artifacts::run_results::RunResults;
use crate::artifacts::sources::Sources;
use crate::artifacts::warehouse::WarehouseCatalog;

/// One catalog entry (mirrors the WIT `catalog-node`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Unique id.
    pub unique_id: String,
    /// dbt resource type.
    pub resource_type: String,
    /// Name.
    pub name: String,
    /// Package.
    pub package_name: String,
    /// Defining file.
    pub path: Option<String>,
    /// Database.
    pub database: Option<String>,
    /// Schema.
    pub schema: Option<String>,
    /// Quoted relation.
    pub relation_name: Option<String>,
    /// Materialization.
    pub materialization: Option<String>,
    /// Description.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Meta as JSON text.
    pub meta_json: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Upstream unique ids.
    pub depends_on: Vec<String>,
    /// Tests: the node tested.
    pub tested_node: Option<String>,
    /// Tests: the column tested.
    pub tested_column: Option<String>,
    /// Generic tests: the test's name (`unique`, `not_null`...).
    pub test_name: Option<String>,
    /// Raw SQL.
    pub raw_code: Option<String>,
    /// Compiled SQL.
    pub compiled_code: Option<String>,
    /// Last outcome.
    pub last_run: Option<RunOutcome>,
    /// Source freshness.
    pub freshness: Option<Freshness>,
    /// Warehouse statistics (id, label, value).
    #[serde(default)]
    pub stats: Vec<Stat>,
}

/// A warehouse statistic (mirrors the WIT `stat`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Value.
    pub value: String,
}

/// A column (mirrors the WIT `column`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Type.
    pub data_type: Option<String>,
    /// Tests on it.
    pub tests: Vec<String>,
    /// Whether it is a key.
    pub primary_key: bool,
}

/// A run outcome (mirrors the WIT `run-outcome`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Status.
    pub status: String,
    /// Message.
    pub message: Option<String>,
    /// Seconds.
    pub execution_time_secs: Option<f64>,
    /// Completion time.
    pub completed_at: Option<String>,
    /// Failing rows.
    pub failures: Option<u64>,
}

/// Freshness (mirrors the WIT `freshness`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Freshness {
    /// Status, lower-case.
    pub status: String,
    /// Newest loaded-at.
    pub max_loaded_at: Option<String>,
    /// When checked.
    pub snapshotted_at: Option<String>,
    /// Age.
    pub age_secs: Option<f64>,
    /// Criteria.
    pub criteria: Option<String>,
    /// Runtime error.
    pub error: Option<String>,
}

/// The catalog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Entries by unique id.
    pub nodes: Vec<Node>,
}

impl Catalog {
    /// Entries per resource type, sorted by type.
    pub fn counts(&self) -> BTreeMap<String, u32> {
        let mut counts = BTreeMap::new();
        for n in &self.nodes {
            *counts.entry(n.resource_type.clone()).or_insert(0) += 1;
        }
        counts
    }
}

/// What goes into a catalog besides the manifest.
#[derive(Default)]
pub struct Inputs {
    /// Results of the docs run's build step.
    pub run_results: Option<RunResults>,
    /// Freshness results.
    pub sources: Option<Sources>,
    /// The warehouse catalog.
    pub warehouse: Option<WarehouseCatalog>,
    /// Keep raw and compiled SQL.
    pub include_code: bool,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn node_from(r: Resource, include_code: bool) -> Node {
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
        raw_code: if include_code { r.raw_code } else { None },
        compiled_code: if include_code { r.compiled_code } else { None },
        last_run: None,
        freshness: None,
        stats: Vec::new(),
        resource_type: r.resource_type,
        name: r.name,
        package_name: r.package_name,
    }
}

/// Builds the catalog from a manifest and whatever else the runs produced.
pub fn build(manifest: Manifest, inputs: Inputs) -> Catalog {
    let include_code = inputs.include_code;
    let mut nodes: Vec<Node> = manifest.into_resources().map(|r| node_from(r, include_code)).collect();
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

/// Attaches each test to the column it tests, and marks `unique` columns as keys.
fn link_tests(nodes: &mut [Node], index: &HashMap<String, usize>) {
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
