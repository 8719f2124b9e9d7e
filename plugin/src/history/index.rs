//! A sync's catalog as stored: a root (`index/<sync id>`) listing chunks of
//! index entries (`chunk/<hash>`), each entry naming a catalog entry's unique
//! id, type and the hashes of its stored parts.
//!
//! Chunks end where a unique id's hash says so (content-defined), so adding,
//! removing or changing an entry changes only its own chunk: an unchanged
//! project re-synced stores a new root and nothing else, and two syncs are
//! compared by their chunks without reading the catalogs.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::content::{self, blob_key};
use super::store::{Batch, KvStore, StoreOp, storage};
use crate::catalog::{Catalog, Node};
use crate::error::{Error, Result};

/// The prefix of every index root key.
pub const ROOT_PREFIX: &str = "index/";
/// The prefix of every index chunk key.
pub const CHUNK_PREFIX: &str = "chunk/";

/// A chunk ends after an entry whose id hashes to 0 modulo this (so chunks
/// hold this many entries on average)...
const CHUNK_SPREAD: u64 = 32;
/// ...or when it holds this many.
const CHUNK_MAX: usize = 256;

/// The key of sync `id`'s index root.
pub fn root_key(id: u64) -> String {
    format!("{ROOT_PREFIX}{id:020}")
}

/// The key of the chunk with hash `hash`.
pub fn chunk_key(hash: &str) -> String {
    format!("{CHUNK_PREFIX}{hash}")
}

/// One catalog entry in an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The entry's unique id.
    #[serde(rename = "u")]
    pub unique_id: String,
    /// Its resource type, as dbt spells it.
    #[serde(rename = "t")]
    pub resource_type: String,
    /// The hash of its definition.
    #[serde(rename = "d")]
    pub definition: String,
    /// The definition's size in bytes.
    #[serde(rename = "dn")]
    pub definition_bytes: u64,
    /// The hash of its state; empty when it has none.
    #[serde(rename = "s", default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    /// The state's size in bytes.
    #[serde(rename = "sn", default, skip_serializing_if = "is_zero")]
    pub state_bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl IndexEntry {
    /// The hashes of the stored values it uses.
    pub fn blobs(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.definition.as_str()).chain((!self.state.is_empty()).then_some(self.state.as_str()))
    }
}

/// The root of a sync's index: its chunks in unique-id order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// How many entries the catalog has.
    pub entries: u64,
    /// The chunks' hashes, in unique-id order.
    pub chunks: Vec<String>,
}

impl Root {
    /// The root as stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// What a new catalog need not store again: hashes already in the store.
#[derive(Default)]
pub struct Known {
    /// Stored entry parts.
    pub blobs: HashSet<String>,
    /// Stored chunks.
    pub chunks: HashSet<String>,
}

impl Known {
    /// Everything the index `root` uses (the previous sync's, typically).
    pub fn of(store: &dyn KvStore, root: &Root) -> Result<Known> {
        let mut known = Known::default();
        for hash in &root.chunks {
            for entry in read_chunk(store, hash)? {
                known.blobs.extend(entry.blobs().map(str::to_string));
            }
            known.chunks.insert(hash.clone());
        }
        Ok(known)
    }
}

/// Reads sync `id`'s index root; none when the sync has no catalog.
pub fn read_root(store: &dyn KvStore, id: u64) -> Result<Option<Root>> {
    let Some(bytes) = store.get(&root_key(id)).map_err(storage)? else { return Ok(None) };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Storage(format!("the catalog index of sync {id} is unreadable: {e}")))
}

/// Reads one chunk of an index.
pub fn read_chunk(store: &dyn KvStore, hash: &str) -> Result<Vec<IndexEntry>> {
    let bytes = store
        .get(&chunk_key(hash))
        .map_err(storage)?
        .ok_or_else(|| Error::Storage(format!("part {hash} of a catalog index is missing from the store")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Storage(format!("part {hash} of a catalog index is unreadable: {e}")))
}

/// Reads the catalog entry `entry` names.
pub fn read_node(store: &dyn KvStore, entry: &IndexEntry) -> Result<Node> {
    read_parts(store, entry, true, true)
}

/// Reads the parts of the entry `entry` names that are asked for; a part not
/// read is left empty (a default definition, or no state).
pub fn read_parts(store: &dyn KvStore, entry: &IndexEntry, definition: bool, state: bool) -> Result<Node> {
    let get = |hash: &str| {
        store
            .get(&blob_key(hash))
            .map_err(storage)?
            .ok_or_else(|| Error::Storage(format!("{} is missing from the store", entry.unique_id)))
    };
    let state = if state && !entry.state.is_empty() { Some(get(&entry.state)?) } else { None };
    if !definition {
        return content::decode(b"{}", state.as_deref());
    }
    content::decode(&get(&entry.definition)?, state.as_deref())
}

/// Stores every entry of `catalog` and every chunk of its index that `known`
/// does not have, and returns the index root (not yet stored: the caller
/// commits it with the sync's record).
pub fn write_catalog(batch: &mut Batch, catalog: &Catalog, known: &mut Known) -> Result<Root> {
    let mut root = Root { entries: catalog.nodes.len() as u64, chunks: Vec::new() };
    let mut chunk: Vec<IndexEntry> = Vec::new();
    for node in &catalog.nodes {
        let encoded = content::encode(node)?;
        let mut put = |bytes: Vec<u8>| -> Result<String> {
            let hash = content::hash(&bytes);
            if known.blobs.insert(hash.clone()) {
                batch.push(StoreOp::Set(blob_key(&hash), bytes))?;
            }
            Ok(hash)
        };
        let definition_bytes = encoded.definition.len() as u64;
        let state_bytes = encoded.state.as_ref().map_or(0, |s| s.len() as u64);
        let definition = put(encoded.definition)?;
        let state = match encoded.state {
            Some(s) => put(s)?,
            None => String::new(),
        };
        chunk.push(IndexEntry {
            unique_id: node.unique_id.clone(),
            resource_type: node.resource_type.clone(),
            definition,
            definition_bytes,
            state,
            state_bytes,
        });
        if xxh3_64(node.unique_id.as_bytes()).is_multiple_of(CHUNK_SPREAD) || chunk.len() >= CHUNK_MAX {
            root.chunks.push(write_chunk(batch, &std::mem::take(&mut chunk), known)?);
        }
    }
    if !chunk.is_empty() {
        root.chunks.push(write_chunk(batch, &chunk, known)?);
    }
    Ok(root)
}

fn write_chunk(batch: &mut Batch, entries: &[IndexEntry], known: &mut Known) -> Result<String> {
    let bytes = serde_json::to_vec(entries).map_err(|e| Error::Storage(e.to_string()))?;
    let hash = content::hash(&bytes);
    if known.chunks.insert(hash.clone()) {
        batch.push(StoreOp::Set(chunk_key(&hash), bytes))?;
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemStore;

    fn catalog(n: usize) -> Catalog {
        Catalog {
            nodes: (0..n)
                .map(|i| Node {
                    unique_id: format!("model.p.m{i:05}"),
                    resource_type: "model".into(),
                    ..Node::default()
                })
                .collect(),
        }
    }

    #[test]
    fn chunks_are_content_defined_so_one_change_rewrites_one_chunk() {
        let store = MemStore::default();
        let mut c = catalog(2000);
        let mut known = Known::default();
        let mut batch = Batch::new(&store);
        let first = write_catalog(&mut batch, &c, &mut known).unwrap();
        batch.flush().unwrap();
        assert!(first.chunks.len() > 20 && first.chunks.len() < 200, "{}", first.chunks.len());
        let stored = store.list("").unwrap().len();

        c.nodes[700].description = "changed".into();
        c.nodes.remove(1500);
        let mut batch = Batch::new(&store);
        let second = write_catalog(&mut batch, &c, &mut Known::of(&store, &first).unwrap()).unwrap();
        batch.flush().unwrap();
        let new_chunks = second.chunks.iter().filter(|h| !first.chunks.contains(h)).count();
        assert_eq!(new_chunks, 2, "the changed entry's chunk and the removed entry's chunk");
        assert_eq!(store.list("").unwrap().len(), stored + 3, "two chunks and one definition");
        let entries: Vec<IndexEntry> = second.chunks.iter().flat_map(|h| read_chunk(&store, h).unwrap()).collect();
        assert_eq!(entries.len(), 1999);
        assert_eq!(read_node(&store, &entries[700]).unwrap(), c.nodes[700]);
    }
}
