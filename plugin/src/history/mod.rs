//! The sync history, kept in the host's key-value store.
//!
//! Layout: `sync/<id>` is a sync's record and log; `index/<id>` the root of
//! its catalog's index, `chunk/<hash>` the index's parts and `blob/<hash>`
//! the catalog entries' parts, each stored once however many syncs use it.
//! A sync's entries and chunks are written first, then its root and final
//! record in one atomic batch: a crash leaves the previous history whole.

pub mod changes;
pub mod content;
pub mod index;
pub mod migrate;
pub mod prune;
pub mod record;
pub mod store;

use std::collections::BTreeSet;

pub use changes::{ChangeKind, Facet, IndexChange};
pub use index::Root;
pub use prune::PruneReport;
pub use record::{ChangeSummary, RunUsed, SyncRecord, SyncStatus};
pub use store::{KvStore, StoreOp};

use crate::catalog::{Catalog, Node};
use crate::error::{Error, Result};
use index::Known;
use record::{RECORD_PREFIX, record_key};
use store::{Batch, Scrubbing, storage};

/// At most this many bytes of entries go into one page of a catalog.
pub const PAGE_BYTES: u64 = 16 << 20;

/// The sync history kept in a host's key-value store.
pub struct History<'a> {
    store: Scrubbing<'a>,
}

impl<'a> History<'a> {
    /// The history in `store`.
    pub fn new(store: &'a dyn KvStore) -> Self {
        History { store: Scrubbing(store) }
    }

    /// The history in `store`, after moving catalogs kept by 0.1 to the
    /// current layout if there are any.
    pub fn open(store: &'a dyn KvStore) -> Result<Self> {
        if migrate::needs_migration(store)? {
            migrate::migrate_v1(store)?;
        }
        Ok(History::new(store))
    }

    fn ids(&self) -> Result<Vec<u64>> {
        let keys = self.store.list(RECORD_PREFIX).map_err(storage)?;
        let mut ids: Vec<u64> = keys.iter().filter_map(|k| k.strip_prefix(RECORD_PREFIX)?.parse().ok()).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn catalog_ids(&self) -> Result<BTreeSet<u64>> {
        Ok(prune::catalog_ids(&self.store)?.into_iter().collect())
    }

    /// The id the next sync gets.
    pub fn next_id(&self) -> Result<u64> {
        Ok(self.ids()?.last().map_or(1, |last| last + 1))
    }

    fn record_bytes(record: &SyncRecord) -> Result<Vec<u8>> {
        serde_json::to_vec(record).map_err(|e| Error::Storage(e.to_string()))
    }

    /// Writes a record (creating or replacing it).
    pub fn save(&self, record: &SyncRecord) -> Result<()> {
        self.store.set(&record_key(record.id), &Self::record_bytes(record)?).map_err(storage)
    }

    /// Stores the entries and index parts of `catalog` that the store lacks
    /// (`known` says what it has) and returns the index root, to be committed
    /// with [`History::commit`].
    pub fn store_catalog(&self, catalog: &Catalog, known: &mut Known) -> Result<Root> {
        let mut batch = Batch::new(&self.store);
        let root = index::write_catalog(&mut batch, catalog, known)?;
        batch.flush()?;
        Ok(root)
    }

    /// Writes `record` and, when it has one, its catalog's `root` in one
    /// atomic batch: the catalog appears with the record that names it.
    pub fn commit(&self, record: &SyncRecord, root: Option<&Root>) -> Result<()> {
        let mut ops = Vec::new();
        if let Some(root) = root {
            ops.push(StoreOp::Set(index::root_key(record.id), root.to_bytes()));
        }
        ops.push(StoreOp::Set(record_key(record.id), Self::record_bytes(record)?));
        self.store.batch(ops).map_err(storage)
    }

    fn read_record(&self, id: u64) -> Result<Option<SyncRecord>> {
        let Some(bytes) = self.store.get(&record_key(id)).map_err(storage)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Storage(format!("sync {id} in the history is unreadable: {e}")))
    }

    /// Reads one record; an unreadable record is an error.
    pub fn get(&self, id: u64) -> Result<Option<SyncRecord>> {
        let mut record = self.read_record(id)?;
        if let Some(r) = record.as_mut() {
            r.has_catalog = self.store.get(&index::root_key(id)).map_err(storage)?.is_some();
        }
        Ok(record)
    }

    /// Records newest first, at most `limit`; unreadable records are skipped.
    pub fn list(&self, limit: Option<u32>) -> Result<Vec<SyncRecord>> {
        let limit = limit.map_or(usize::MAX, |l| l as usize);
        let with_catalog = self.catalog_ids()?;
        let mut out = Vec::new();
        for id in self.ids()?.into_iter().rev() {
            if out.len() >= limit {
                break;
            }
            if let Ok(Some(mut r)) = self.read_record(id) {
                r.has_catalog = with_catalog.contains(&id);
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The newest sync whose catalog is stored, before `before` when given.
    pub fn latest_with_catalog(&self, before: Option<u64>) -> Result<Option<SyncRecord>> {
        self.latest_with_catalog_where(before, |_| true)
    }

    /// The newest sync with a catalog that is not of a pull request: what a
    /// new sync is compared with, so that a production sync is compared with
    /// production, and a pull request's sync shows what the pull request
    /// changes against it.
    pub fn latest_baseline(&self) -> Result<Option<SyncRecord>> {
        self.latest_with_catalog_where(None, |r| r.runs.iter().all(|run| run.pull_request.is_none()))
    }

    fn latest_with_catalog_where(
        &self,
        before: Option<u64>,
        keep: impl Fn(&SyncRecord) -> bool,
    ) -> Result<Option<SyncRecord>> {
        for id in self.catalog_ids()?.into_iter().rev().filter(|id| before.is_none_or(|b| *id < b)) {
            if let Ok(Some(mut r)) = self.read_record(id)
                && keep(&r)
            {
                r.has_catalog = true;
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// The index root of sync `id`'s catalog; none when it has none.
    pub fn root(&self, id: u64) -> Result<Option<Root>> {
        index::read_root(&self.store, id)
    }

    /// What the store already has of sync `id`'s catalog.
    pub fn known(&self, root: &Root) -> Result<Known> {
        Known::of(&self.store, root)
    }

    fn root_or_not_found(&self, id: u64) -> Result<Root> {
        self.root(id)?.ok_or_else(|| match self.read_record(id) {
            Ok(Some(_)) => Error::NotFound(format!(
                "sync {id} has no catalog: it failed, or its catalog was pruned (records and logs are kept)"
            )),
            _ => Error::NotFound(format!("there is no sync {id} in the history")),
        })
    }

    /// Entries `offset..offset + limit` of sync `id`'s catalog (of
    /// `resource_type` only, when given), stopping early past [`PAGE_BYTES`],
    /// and how many entries match in all.
    pub fn catalog_page(
        &self,
        id: u64,
        offset: usize,
        limit: usize,
        resource_type: Option<&str>,
    ) -> Result<(Vec<Node>, usize)> {
        let root = self.root_or_not_found(id)?;
        // Without a filter the root knows the total, and reading stops at the page's end.
        let known_total = resource_type.is_none().then_some(root.entries as usize);
        let mut total = 0;
        let mut page = Vec::new();
        let mut bytes = 0;
        for pair in root.pairs() {
            let full = page.len() >= limit || (bytes >= PAGE_BYTES && !page.is_empty());
            if full && known_total.is_some() {
                break;
            }
            for entry in index::read_chunk(&self.store, pair)? {
                if resource_type.is_some_and(|t| entry.resource_type != t) {
                    continue;
                }
                let full = page.len() >= limit || (bytes >= PAGE_BYTES && !page.is_empty());
                if total >= offset && !full {
                    bytes += entry.definition_bytes + entry.state_bytes;
                    page.push(index::read_node(&self.store, &entry)?);
                }
                total += 1;
            }
        }
        Ok((page, known_total.unwrap_or(total)))
    }

    /// Sync `id`'s whole catalog (for tests and small projects; hosts page).
    pub fn catalog(&self, id: u64) -> Result<Option<Catalog>> {
        if self.root(id)?.is_none() {
            return Ok(None);
        }
        let (nodes, _) = self.catalog_page(id, 0, usize::MAX, None)?;
        Ok(Some(Catalog { nodes }))
    }

    /// The syncs compared for changes up to `to`: `from` when given, else the
    /// newest sync before `to` with a catalog (0 and none when there is none:
    /// then every entry of `to` is added).
    pub fn change_span(&self, from: Option<u64>, to: u64) -> Result<(u64, Option<Root>, Root)> {
        let new = self.root_or_not_found(to)?;
        match from {
            Some(from) => Ok((from, Some(self.root_or_not_found(from)?), new)),
            None => match self.latest_with_catalog(Some(to))? {
                Some(r) => Ok((r.id, self.root(r.id)?, new)),
                None => Ok((0, None, new)),
            },
        }
    }

    /// Every entry that differs from `old` to `new`, in unique-id order.
    pub fn index_changes(&self, old: Option<&Root>, new: &Root) -> Result<Vec<IndexChange>> {
        changes::index_changes(&self.store, old, new)
    }

    /// The facets in which a modified entry differs (none for others).
    pub fn facets(&self, change: &IndexChange) -> Result<Vec<Facet>> {
        change.facets(&self.store)
    }

    /// Drops the catalogs of all but the newest `keep` syncs and what only they used.
    pub fn prune(&self, keep: usize) -> Result<PruneReport> {
        prune::prune(&self.store, keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemStore;

    fn record(id: u64, status: SyncStatus) -> SyncRecord {
        SyncRecord { status, ..SyncRecord::started(id, "test", "t".into()) }
    }

    fn catalog(n: usize, description: &str) -> Catalog {
        let node = |i: usize| Node {
            unique_id: format!("model.p.m{i:04}"),
            resource_type: if i.is_multiple_of(3) { "test" } else { "model" }.into(),
            description: description.repeat(100),
            ..Node::default()
        };
        Catalog { nodes: (0..n).map(node).collect() }
    }

    #[test]
    fn lists_newest_first_and_skips_corrupt_records() {
        let store = MemStore::default();
        let h = History::new(&store);
        assert_eq!(h.next_id().unwrap(), 1);
        for id in 1..=10 {
            let status = if id == 10 { SyncStatus::Failed } else { SyncStatus::Succeeded };
            let root = (id != 10).then(|| h.store_catalog(&catalog(3, "x"), &mut Known::default()).unwrap());
            h.commit(&record(id, status), root.as_ref()).unwrap();
        }
        store.set("sync/00000000000000000005", b"{broken").unwrap();
        let listed = h.list(None).unwrap();
        let ids: Vec<u64> = listed.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![10, 9, 8, 7, 6, 4, 3, 2, 1]);
        assert!(!listed[0].has_catalog && listed[1].has_catalog);
        assert_eq!(h.list(Some(2)).unwrap().len(), 2);
        assert_eq!(h.next_id().unwrap(), 11);
        assert_eq!(h.latest_with_catalog(None).unwrap().unwrap().id, 9);
        assert_eq!(h.latest_with_catalog(Some(7)).unwrap().unwrap().id, 6);
        assert!(h.get(5).is_err());
    }

    #[test]
    fn a_catalog_is_read_in_pages_by_type_and_bounded_in_bytes() {
        let store = MemStore::default();
        let h = History::new(&store);
        let c = catalog(3000, "d");
        let root = h.store_catalog(&c, &mut Known::default()).unwrap();
        h.commit(&record(7, SyncStatus::Succeeded), Some(&root)).unwrap();
        let (page, total) = h.catalog_page(7, 10, 5, None).unwrap();
        assert_eq!((total, page.len()), (3000, 5));
        assert_eq!(page, c.nodes[10..15]);
        let (tests, total) = h.catalog_page(7, 0, 10_000, Some("test")).unwrap();
        assert_eq!((total, tests.len()), (1000, 1000));
        assert!(tests.iter().all(|n| n.resource_type == "test"));
        assert_eq!(h.catalog(7).unwrap().unwrap(), c);
        let big = catalog(400, &"x".repeat(500));
        let root = h.store_catalog(&big, &mut Known::default()).unwrap();
        h.commit(&record(8, SyncStatus::Succeeded), Some(&root)).unwrap();
        let (page, total) = h.catalog_page(8, 0, 5000, None).unwrap();
        assert_eq!(total, 400);
        assert!(page.len() < 400 && page.len() > 300, "stops past {PAGE_BYTES} bytes: {}", page.len());
        assert!(matches!(h.catalog_page(9, 0, 1, None), Err(Error::NotFound(_))));
    }
}
