//! Moving a history kept by 0.1 (each catalog whole, as JSON in numbered
//! parts under `catalog/<sync id>/`) to content-addressed catalogs. Records
//! kept by 0.1 are read as they are.

use std::collections::BTreeMap;

use super::index::{Known, root_key, write_catalog};
use super::store::{Batch, KvStore, StoreOp, storage};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::http::ChunkReader;

/// Where 0.1 kept catalogs.
const V1_PREFIX: &str = "catalog/";

/// Reads the numbered parts under `keys` back as one stream, one part in
/// memory at a time.
fn read_parts(store: &dyn KvStore, keys: Vec<String>) -> impl std::io::Read + '_ {
    let mut keys = keys.into_iter();
    ChunkReader::new(move || {
        let Some(key) = keys.next() else { return Ok(None) };
        let part = store.get(&key).map_err(std::io::Error::other)?;
        part.map(Some).ok_or_else(|| std::io::Error::other(format!("{key} vanished")))
    })
}

/// Converts every 0.1 catalog in `store`, oldest first; each sync's new
/// index appears, and its old parts go, in one batch. Returns how many.
pub fn migrate_v1(store: &dyn KvStore) -> Result<u32> {
    let mut by_sync: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for key in store.list(V1_PREFIX).map_err(storage)? {
        let id = key[V1_PREFIX.len()..].split('/').next().and_then(|s| s.parse::<u64>().ok());
        if let Some(id) = id {
            by_sync.entry(id).or_default().push(key);
        }
    }
    let mut known = Known::default();
    for (id, keys) in &by_sync {
        let catalog: Catalog = serde_json::from_reader(std::io::BufReader::new(read_parts(store, keys.clone())))
            .map_err(|e| Error::Storage(format!("the 0.1 catalog of sync {id} is unreadable: {e}")))?;
        let mut batch = Batch::new(store);
        let root = write_catalog(&mut batch, &catalog, &mut known)?;
        let mut last = vec![StoreOp::Set(root_key(*id), root.to_bytes())];
        last.extend(keys.iter().cloned().map(StoreOp::Delete));
        batch.commit(last)?;
    }
    Ok(by_sync.len() as u32)
}

/// Whether `store` holds catalogs in the 0.1 layout.
pub fn needs_migration(store: &dyn KvStore) -> Result<bool> {
    Ok(!store.list(V1_PREFIX).map_err(storage)?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Node;
    use crate::history::index::{read_chunk, read_node, read_root};
    use crate::testing::MemStore;

    #[test]
    fn a_v1_catalog_in_parts_becomes_an_index() {
        let store = MemStore::default();
        let nodes: Vec<Node> =
            (0..50).map(|i| Node { unique_id: format!("model.p.m{i:02}"), ..Node::default() }).collect();
        let json = serde_json::to_vec(&Catalog { nodes: nodes.clone() }).unwrap();
        let (a, b) = json.split_at(json.len() / 2);
        store.set("catalog/00000000000000000004/000000", a).unwrap();
        store.set("catalog/00000000000000000004/000001", b).unwrap();
        assert!(needs_migration(&store).unwrap());
        assert_eq!(migrate_v1(&store).unwrap(), 1);
        assert!(!needs_migration(&store).unwrap());
        let root = read_root(&store, 4).unwrap().expect("an index");
        let entries: Vec<_> = root.pairs().flat_map(|p| read_chunk(&store, p).unwrap()).collect();
        let read: Vec<Node> = entries.iter().map(|e| read_node(&store, e).unwrap()).collect();
        assert_eq!(read, nodes);
    }
}
