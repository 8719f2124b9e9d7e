//! A sync's catalog as stored: a root (`index/<sync id>`) listing chunks of
//! the index (`chunk/<hash>`) in pairs: a definition chunk naming each
//! entry's unique id, type and definition hash, and beside it a state chunk
//! with the state hash of each of those entries, in the same order.
//!
//! Chunks end where a unique id's hash says so (content-defined), so adding,
//! removing or changing an entry changes only its own chunk: an unchanged
//! project re-synced stores a new root and nothing else, a new run of it new
//! state chunks (about 50 bytes an entry) beside the same definition chunks,
//! and two syncs are compared by their chunks without reading the catalogs.

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

/// One catalog entry in an index (its definition chunk's and state chunk's
/// lines joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The entry's unique id.
    pub unique_id: String,
    /// Its resource type, as dbt spells it.
    pub resource_type: String,
    /// The hash of its definition.
    pub definition: String,
    /// The definition's size in bytes.
    pub definition_bytes: u64,
    /// The hash of its state; empty when it has none.
    pub state: String,
    /// The state's size in bytes.
    pub state_bytes: u64,
}

/// A line of a definition chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DefinitionLine {
    #[serde(rename = "u")]
    unique_id: String,
    #[serde(rename = "t")]
    resource_type: String,
    #[serde(rename = "d")]
    definition: String,
    #[serde(rename = "n")]
    definition_bytes: u64,
}

/// A line of a state chunk: the state's hash (empty for none) and size.
type StateLine = (String, u64);

/// The hashes of the stored values a chunk's lines name, with their sizes
/// (the chunk being a definition chunk or a state chunk).
pub fn chunk_blobs(bytes: &[u8]) -> Vec<(String, u64)> {
    if let Ok(lines) = serde_json::from_slice::<Vec<DefinitionLine>>(bytes) {
        return lines.into_iter().map(|l| (l.definition, l.definition_bytes)).collect();
    }
    let states: Vec<StateLine> = serde_json::from_slice(bytes).unwrap_or_default();
    states.into_iter().filter(|(h, _)| !h.is_empty()).collect()
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
    /// The definition chunks' hashes, in unique-id order.
    pub chunks: Vec<String>,
    /// The state chunks' hashes, one beside each definition chunk.
    pub states: Vec<String>,
}

/// A definition chunk and the state chunk beside it.
pub type ChunkPair<'a> = (&'a str, &'a str);

impl Root {
    /// The chunk pairs, in unique-id order.
    pub fn pairs(&self) -> impl Iterator<Item = ChunkPair<'_>> {
        self.chunks.iter().map(String::as_str).zip(self.states.iter().map(String::as_str))
    }

    /// Every chunk hash it names, definition and state.
    pub fn all_chunks(&self) -> impl Iterator<Item = &str> {
        self.chunks.iter().chain(&self.states).map(String::as_str)
    }

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
        known.add(store, root)?;
        Ok(known)
    }

    /// Adds what `root` uses, reading only the chunk pairs not known yet (a
    /// chunk's hash fixes the parts it names).
    pub fn add(&mut self, store: &dyn KvStore, root: &Root) -> Result<()> {
        for pair @ (definitions, states) in root.pairs() {
            if self.chunks.contains(definitions) && self.chunks.contains(states) {
                continue;
            }
            for entry in read_chunk(store, pair)? {
                self.blobs.extend(entry.blobs().map(str::to_string));
            }
            self.chunks.insert(definitions.to_string());
            self.chunks.insert(states.to_string());
        }
        Ok(())
    }
}

/// Reads sync `id`'s index root; none when the sync has no catalog.
pub fn read_root(store: &dyn KvStore, id: u64) -> Result<Option<Root>> {
    let Some(bytes) = store.get(&root_key(id)).map_err(storage)? else { return Ok(None) };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Storage(format!("the catalog index of sync {id} is unreadable: {e}")))
}

fn read_lines<T: serde::de::DeserializeOwned>(store: &dyn KvStore, hash: &str) -> Result<Vec<T>> {
    let bytes = store
        .get(&chunk_key(hash))
        .map_err(storage)?
        .ok_or_else(|| Error::Storage(format!("part {hash} of a catalog index is missing from the store")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Storage(format!("part {hash} of a catalog index is unreadable: {e}")))
}

/// Reads a definition chunk and its state chunk as index entries.
pub fn read_chunk(store: &dyn KvStore, (definitions, states): ChunkPair) -> Result<Vec<IndexEntry>> {
    let lines: Vec<DefinitionLine> = read_lines(store, definitions)?;
    let states: Vec<StateLine> = read_lines(store, states)?;
    if lines.len() != states.len() {
        return Err(Error::Storage(format!("index part {definitions} and its states do not match")));
    }
    Ok(lines
        .into_iter()
        .zip(states)
        .map(|(l, (state, state_bytes))| IndexEntry {
            unique_id: l.unique_id,
            resource_type: l.resource_type,
            definition: l.definition,
            definition_bytes: l.definition_bytes,
            state,
            state_bytes,
        })
        .collect())
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
    let mut root = Root { entries: catalog.nodes.len() as u64, ..Root::default() };
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
            write_chunk(batch, &std::mem::take(&mut chunk), known, &mut root)?;
        }
    }
    if !chunk.is_empty() {
        write_chunk(batch, &chunk, known, &mut root)?;
    }
    Ok(root)
}

/// Stores a chunk pair of `entries` (what `known` lacks of it) and adds it to `root`.
fn write_chunk(batch: &mut Batch, entries: &[IndexEntry], known: &mut Known, root: &mut Root) -> Result<()> {
    let lines: Vec<DefinitionLine> = entries
        .iter()
        .map(|e| DefinitionLine {
            unique_id: e.unique_id.clone(),
            resource_type: e.resource_type.clone(),
            definition: e.definition.clone(),
            definition_bytes: e.definition_bytes,
        })
        .collect();
    let states: Vec<StateLine> = entries.iter().map(|e| (e.state.clone(), e.state_bytes)).collect();
    let fail = |e: serde_json::Error| Error::Storage(e.to_string());
    for (bytes, list) in [
        (serde_json::to_vec(&lines).map_err(fail)?, &mut root.chunks),
        (serde_json::to_vec(&states).map_err(fail)?, &mut root.states),
    ] {
        let hash = content::hash(&bytes);
        if known.chunks.insert(hash.clone()) {
            batch.push(StoreOp::Set(chunk_key(&hash), bytes))?;
        }
        list.push(hash);
    }
    Ok(())
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
        // States of equal content are shared: here no entry has one, so a
        // state chunk is new only if no chunk elsewhere has its length.
        let new_states = second.states.iter().filter(|h| !first.states.contains(h)).count();
        assert!(new_states <= 1, "{new_states}");
        assert_eq!(store.list("").unwrap().len(), stored + 3 + new_states, "two chunks and one definition");
        let entries: Vec<IndexEntry> = second.pairs().flat_map(|p| read_chunk(&store, p).unwrap()).collect();
        assert_eq!(entries.len(), 1999);
        assert_eq!(read_node(&store, &entries[700]).unwrap(), c.nodes[700]);
    }
}
