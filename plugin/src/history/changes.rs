//! What changed between two syncs, entity by entity, found from their
//! indexes: chunks both share are skipped unread, the rest are merged by
//! unique id, and only entries whose stored parts differ are read to name
//! the facets that changed.

use std::collections::HashSet;

use super::index::{ChunkPair, IndexEntry, Root, read_chunk, read_parts};
use super::record::ChangeSummary;
use super::store::KvStore;
use crate::catalog::Node;
use crate::error::Result;

/// A part of a catalog entry that can change (the WIT `facet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Facet {
    /// Name, package, file, database, schema, relation, Explorer page.
    Location,
    /// The description.
    Description,
    /// Materialization, tags, meta, owner.
    Config,
    /// Columns: names, descriptions, types, keys, tests on them.
    Columns,
    /// Raw or compiled SQL.
    Code,
    /// Lineage.
    DependsOn,
    /// What a test tests, or which tests a node has.
    Tests,
    /// The outcome in the run used.
    LastRun,
    /// How the node's tests last ended.
    TestOutcomes,
    /// A source's freshness.
    Freshness,
    /// Warehouse statistics.
    Stats,
    /// Version, access, group, contract, constraints, deprecation.
    Governance,
    /// A semantic model's, metric's or saved query's definition.
    Semantics,
}

impl Facet {
    /// The facet as the CLI's JSON spells it (`depends_on`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Facet::Location => "location",
            Facet::Description => "description",
            Facet::Config => "config",
            Facet::Columns => "columns",
            Facet::Code => "code",
            Facet::DependsOn => "depends_on",
            Facet::Tests => "tests",
            Facet::LastRun => "last_run",
            Facet::TestOutcomes => "test_outcomes",
            Facet::Freshness => "freshness",
            Facet::Stats => "stats",
            Facet::Governance => "governance",
            Facet::Semantics => "semantics",
        }
    }
}

/// The facets in which `old` and `new` differ, in [`Facet`] order.
pub fn facets(old: &Node, new: &Node) -> Vec<Facet> {
    let test_ids = |n: &Node| n.test_outcomes.iter().map(|t| t.test_id.clone()).collect::<Vec<_>>();
    let checks = [
        (
            Facet::Location,
            (
                &old.name,
                &old.package_name,
                &old.path,
                &old.database,
                &old.schema,
                &old.relation_name,
                &old.explorer_url,
            ) != (
                &new.name,
                &new.package_name,
                &new.path,
                &new.database,
                &new.schema,
                &new.relation_name,
                &new.explorer_url,
            ),
        ),
        (Facet::Description, old.description != new.description),
        (
            Facet::Config,
            (&old.materialization, &old.tags, &old.meta_json, &old.owner)
                != (&new.materialization, &new.tags, &new.meta_json, &new.owner),
        ),
        (Facet::Columns, old.columns != new.columns),
        (Facet::Code, (&old.raw_code, &old.compiled_code) != (&new.raw_code, &new.compiled_code)),
        (Facet::DependsOn, old.depends_on != new.depends_on),
        (
            Facet::Tests,
            (&old.tested_node, &old.tested_column, &old.test_name, test_ids(old))
                != (&new.tested_node, &new.tested_column, &new.test_name, test_ids(new)),
        ),
        (Facet::LastRun, old.last_run != new.last_run),
        (Facet::TestOutcomes, old.test_outcomes != new.test_outcomes),
        (Facet::Freshness, old.freshness != new.freshness),
        (Facet::Stats, old.stats != new.stats),
        (Facet::Governance, old.governance != new.governance),
        (Facet::Semantics, old.semantics != new.semantics),
    ];
    checks.into_iter().filter(|(_, changed)| *changed).map(|(f, _)| f).collect()
}

/// Added, removed or modified (the WIT `change-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// New in the later sync.
    Added,
    /// Gone from the later sync.
    Removed,
    /// In both, with different content.
    Modified,
}

/// One entry that differs between two indexes, before its facets are known.
#[derive(Debug, Clone)]
pub struct IndexChange {
    /// Added, removed or modified.
    pub kind: ChangeKind,
    /// The entry in the earlier index.
    pub old: Option<IndexEntry>,
    /// The entry in the later index.
    pub new: Option<IndexEntry>,
}

impl IndexChange {
    /// The entry's unique id.
    pub fn unique_id(&self) -> &str {
        self.new.as_ref().or(self.old.as_ref()).map_or("", |e| e.unique_id.as_str())
    }

    /// Its resource type (the later one when it has one).
    pub fn resource_type(&self) -> &str {
        self.new.as_ref().or(self.old.as_ref()).map_or("", |e| e.resource_type.as_str())
    }

    /// The facets that changed: none for added and removed entries; for a
    /// modified one, read from the two entries' stored parts.
    /// A part equal on both sides (same hash) is not read: a new run that
    /// changed only states reads two small state parts per entry.
    pub fn facets(&self, store: &dyn KvStore) -> Result<Vec<Facet>> {
        let (Some(old), Some(new)) = (&self.old, &self.new) else { return Ok(Vec::new()) };
        let same_definition = old.definition == new.definition;
        let same_state = old.state == new.state;
        let read = |e: &IndexEntry| read_parts(store, e, !same_definition, !same_state);
        Ok(facets(&read(old)?, &read(new)?))
    }
}

/// Entries of the chunk pairs of `root` not in `skip`, in unique-id order.
fn entries_outside(store: &dyn KvStore, root: &Root, skip: &HashSet<ChunkPair>) -> Result<Vec<IndexEntry>> {
    let mut out = Vec::new();
    for pair in root.pairs().filter(|p| !skip.contains(p)) {
        out.extend(read_chunk(store, pair)?);
    }
    Ok(out)
}

/// Every entry that differs from `old` (none: an empty catalog) to `new`, in
/// unique-id order. Chunk pairs both indexes have hold the same entries on
/// both sides, so only the others are read.
pub fn index_changes(store: &dyn KvStore, old: Option<&Root>, new: &Root) -> Result<Vec<IndexChange>> {
    let empty = Root::default();
    let old = old.unwrap_or(&empty);
    let old_pairs: HashSet<ChunkPair> = old.pairs().collect();
    let shared: HashSet<ChunkPair> = new.pairs().filter(|p| old_pairs.contains(p)).collect();
    let before = entries_outside(store, old, &shared)?;
    let after = entries_outside(store, new, &shared)?;
    let mut changes = Vec::new();
    let (mut a, mut b) = (before.into_iter().peekable(), after.into_iter().peekable());
    loop {
        let order = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.unique_id.cmp(&y.unique_id),
        };
        match order {
            std::cmp::Ordering::Less => {
                changes.push(IndexChange { kind: ChangeKind::Removed, old: a.next(), new: None });
            }
            std::cmp::Ordering::Greater => {
                changes.push(IndexChange { kind: ChangeKind::Added, old: None, new: b.next() });
            }
            std::cmp::Ordering::Equal => {
                let (x, y) = (a.next(), b.next());
                if x.as_ref().map(|e| (&e.definition, &e.state)) != y.as_ref().map(|e| (&e.definition, &e.state)) {
                    changes.push(IndexChange { kind: ChangeKind::Modified, old: x, new: y });
                }
            }
        }
    }
    Ok(changes)
}

/// Counts of `changes` against sync `previous_sync_id`.
pub fn summarize(previous_sync_id: u64, changes: &[IndexChange]) -> ChangeSummary {
    let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count() as u32;
    ChangeSummary {
        previous_sync_id,
        added: count(ChangeKind::Added),
        removed: count(ChangeKind::Removed),
        modified: count(ChangeKind::Modified),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, Column, RunOutcome};
    use crate::history::index::{Known, write_catalog};
    use crate::history::store::Batch;
    use crate::testing::MemStore;

    fn node(id: &str) -> Node {
        Node {
            unique_id: id.into(),
            resource_type: "model".into(),
            columns: vec![Column { name: "id".into(), data_type: Some("int".into()), ..Column::default() }],
            ..Node::default()
        }
    }

    fn store_catalog(store: &MemStore, nodes: Vec<Node>) -> Root {
        let mut batch = Batch::new(store);
        let root = write_catalog(&mut batch, &Catalog { nodes }, &mut Known::default()).unwrap();
        batch.flush().unwrap();
        root
    }

    #[test]
    fn added_removed_and_modified_with_their_facets() {
        let store = MemStore::default();
        let mut nodes: Vec<Node> = (0..300).map(|i| node(&format!("model.p.m{i:03}"))).collect();
        let before = store_catalog(&store, nodes.clone());
        nodes.retain(|n| n.unique_id != "model.p.m010");
        nodes.push(node("model.p.zz_new"));
        nodes[20].description = "now documented".into();
        nodes[30].columns[0].data_type = Some("bigint".into());
        nodes[40].last_run =
            Some(RunOutcome { status: "success".into(), execution_time_secs: Some(0.3), ..Default::default() });
        let after = store_catalog(&store, nodes);

        let changes = index_changes(&store, Some(&before), &after).unwrap();
        let listed: Vec<(&str, ChangeKind, Vec<Facet>)> =
            changes.iter().map(|c| (c.unique_id(), c.kind, c.facets(&store).unwrap())).collect();
        assert_eq!(
            listed,
            vec![
                ("model.p.m010", ChangeKind::Removed, vec![]),
                ("model.p.m021", ChangeKind::Modified, vec![Facet::Description]),
                ("model.p.m031", ChangeKind::Modified, vec![Facet::Columns]),
                ("model.p.m041", ChangeKind::Modified, vec![Facet::LastRun]),
                ("model.p.zz_new", ChangeKind::Added, vec![]),
            ]
        );
        assert_eq!(summarize(1, &changes), ChangeSummary { previous_sync_id: 1, added: 1, removed: 1, modified: 3 });
        assert!(index_changes(&store, Some(&after), &after).unwrap().is_empty());
        assert_eq!(index_changes(&store, None, &after).unwrap().len(), 300, "from nothing, everything is added");
    }
}
