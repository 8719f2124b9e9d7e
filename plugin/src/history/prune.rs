//! Retention: dropping old catalogs and every stored part no remaining
//! catalog uses (including parts a crashed sync stored but never committed).
//! Records and logs are never dropped.

use std::collections::HashMap;

use super::content::BLOB_PREFIX;
use super::index::{CHUNK_PREFIX, Known, ROOT_PREFIX, chunk_blobs, root_key};
use super::store::{Batch, KvStore, StoreOp, storage};
use crate::error::Result;

/// What a prune did (the WIT `prune-report`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Syncs whose catalog was dropped.
    pub pruned: u32,
    /// Chunks and entry parts deleted.
    pub entries_deleted: u32,
    /// Bytes of the keys and values deleted.
    pub bytes_freed: u64,
}

/// Ids of the syncs that have a catalog, ascending.
pub fn catalog_ids(store: &dyn KvStore) -> Result<Vec<u64>> {
    let keys = store.list(ROOT_PREFIX).map_err(storage)?;
    let mut ids: Vec<u64> = keys.iter().filter_map(|k| k.strip_prefix(ROOT_PREFIX)?.parse().ok()).collect();
    ids.sort_unstable();
    Ok(ids)
}

fn size_of(store: &dyn KvStore, key: &str) -> Result<u64> {
    Ok(store.get(key).map_err(storage)?.map_or(0, |v| v.len() as u64))
}

/// Drops the catalogs of all but the newest `keep` syncs that have one, then
/// every chunk and entry part that no remaining catalog uses. Must not run
/// while a sync of the same store writes (the host serializes them).
pub fn prune(store: &dyn KvStore, keep: usize) -> Result<PruneReport> {
    let ids = catalog_ids(store)?;
    let (dropped, kept) = ids.split_at(ids.len().saturating_sub(keep));
    let mut report = PruneReport::default();
    let mut batch = Batch::new(store);
    for id in dropped {
        report.bytes_freed += root_key(*id).len() as u64 + size_of(store, &root_key(*id))?;
        batch.push(StoreOp::Delete(root_key(*id)))?;
        report.pruned += 1;
    }
    batch.flush()?;

    let mut live = Known::default();
    for id in kept {
        if let Some(root) = super::index::read_root(store, *id)? {
            live.add(store, &root)?;
        }
    }

    let mut blob_sizes: HashMap<String, u64> = HashMap::new();
    for key in store.list(CHUNK_PREFIX).map_err(storage)? {
        if key.strip_prefix(CHUNK_PREFIX).is_none_or(|hash| live.chunks.contains(hash)) {
            continue;
        }
        let bytes = store.get(&key).map_err(storage)?.unwrap_or_default();
        report.bytes_freed += (key.len() + bytes.len()) as u64;
        blob_sizes.extend(chunk_blobs(&bytes));
        batch.push(StoreOp::Delete(key))?;
        report.entries_deleted += 1;
    }
    for key in store.list(BLOB_PREFIX).map_err(storage)? {
        let Some(hash) = key.strip_prefix(BLOB_PREFIX).filter(|h| !live.blobs.contains(*h)) else { continue };
        report.bytes_freed += key.len() as u64
            + match blob_sizes.get(hash) {
                Some(n) => *n,
                None => size_of(store, &key)?,
            };
        batch.push(StoreOp::Delete(key))?;
        report.entries_deleted += 1;
    }
    batch.flush()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, Node};
    use crate::history::index::{Known, write_catalog};
    use crate::testing::MemStore;

    fn sync(store: &MemStore, id: u64, description: &str) {
        let nodes = (0..100)
            .map(|i| Node {
                unique_id: format!("m{i:03}"),
                description: format!("{description} {}", i % 2),
                ..Node::default()
            })
            .collect();
        let mut batch = Batch::new(store);
        let root = write_catalog(&mut batch, &Catalog { nodes }, &mut Known::default()).unwrap();
        batch.commit(vec![StoreOp::Set(root_key(id), root.to_bytes())]).unwrap();
    }

    #[test]
    fn keeps_the_newest_catalogs_and_what_they_use() {
        let store = MemStore::default();
        sync(&store, 1, "a");
        sync(&store, 2, "b");
        sync(&store, 3, "b");
        store.set("blob/orphan-of-a-crash", b"12345").unwrap();
        let before = store.bytes();
        let report = prune(&store, 1).unwrap();
        assert_eq!(report.pruned, 2);
        assert_eq!(catalog_ids(&store).unwrap(), vec![3]);
        assert_eq!(report.bytes_freed, before - store.bytes(), "reports exactly what it deleted");
        assert!(store.get("blob/orphan-of-a-crash").unwrap().is_none());
        // What sync 3 uses is all there (sync 2's entries, as they are the same).
        assert_eq!(store.list(BLOB_PREFIX).unwrap().len(), 100);
        let again = prune(&store, 1).unwrap();
        assert_eq!(again, PruneReport::default());
        assert_eq!(prune(&store, 0).unwrap().pruned, 1);
        assert!(store.list("").unwrap().is_empty(), "{:?}", store.list("").unwrap());
    }
}
