//! The sync history, kept in the host's key-value store: one key per sync
//! record (with its log) and one per catalog, so that listing never reads
//! catalogs.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Node};
use crate::error::{Error, Result};
use crate::http::ChunkReader;

/// The host's key-value store (the WIT `host` interface's `kv-*` calls);
/// errors are messages for people.
pub trait KvStore {
    /// The value of `key`, none when it is absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Writes `value` under `key`, replacing it atomically.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String>;
    /// The keys that start with `prefix`, ascending.
    fn list(&self, prefix: &str) -> Result<Vec<String>, String>;
}

/// Where a sync stands (the WIT `sync-status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Still running, or interrupted (the host died during it).
    Running,
    /// Finished with a catalog and no warnings.
    Succeeded,
    /// Finished with a catalog; see the record's warnings.
    SucceededWithWarnings,
    /// Ended without a catalog; see the record's error.
    Failed,
}

/// A dbt Cloud run a sync read (the WIT `run-used`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunUsed {
    /// The job definition the run belongs to.
    pub job_id: u64,
    /// The run id.
    pub run_id: u64,
    /// `docs` or `freshness`: what the sync read it for.
    pub purpose: String,
    /// The artifact files read from it.
    pub artifacts: Vec<String>,
    /// The run's page in the dbt Cloud UI.
    pub href: Option<String>,
    /// The git branch the run built.
    pub git_branch: Option<String>,
    /// The git commit the run built.
    pub git_sha: Option<String>,
    /// When the run finished (RFC 3339).
    pub finished_at: Option<String>,
}

/// How many catalog entries changed since the previous successful sync (the
/// WIT `change-summary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    /// The sync compared against.
    pub previous_sync_id: u64,
    /// Entries whose unique id is new.
    pub added: u32,
    /// Entries of the previous sync that are gone.
    pub removed: u32,
    /// Entries present in both whose content differs.
    pub modified: u32,
}

impl ChangeSummary {
    /// No change since sync `previous_sync_id` (its catalog was reused).
    pub fn unchanged(previous_sync_id: u64) -> Self {
        ChangeSummary { previous_sync_id, added: 0, removed: 0, modified: 0 }
    }
}

/// One sync as the history keeps it (the WIT `sync-record`, plus its log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRecord {
    /// The sync's id, increasing from 1.
    pub id: u64,
    /// Running, succeeded (with or without warnings) or failed.
    pub status: SyncStatus,
    /// Who asked for it (`cli`, a user, a schedule).
    pub triggered_by: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended; none while running.
    pub finished_at: Option<String>,
    /// The dbt Cloud runs it read.
    pub runs: Vec<RunUsed>,
    /// Catalog entries per resource type.
    pub counts: BTreeMap<String, u32>,
    /// What the user should know about the result.
    pub warnings: Vec<String>,
    /// Why it failed, for failed syncs.
    pub error: Option<Error>,
    /// What changed since the previous successful sync.
    pub changes: Option<ChangeSummary>,
    /// The lines it logged (capped).
    #[serde(default)]
    pub log: Vec<String>,
}

impl SyncRecord {
    /// The record of sync `id` as it starts: running, nothing read yet.
    pub fn started(id: u64, triggered_by: &str, started_at: String) -> Self {
        SyncRecord {
            id,
            status: SyncStatus::Running,
            triggered_by: if triggered_by.is_empty() { "unknown".into() } else { triggered_by.to_string() },
            started_at,
            finished_at: None,
            runs: Vec::new(),
            counts: BTreeMap::new(),
            warnings: Vec::new(),
            error: None,
            changes: None,
            log: Vec::new(),
        }
    }
}

fn record_key(id: u64) -> String {
    format!("sync/{id:020}")
}

/// Catalogs are stored in parts of at most this many bytes, so that no single
/// store call carries more than a host is likely to accept in one call.
pub const CATALOG_PART_BYTES: usize = 8 << 20;

fn catalog_prefix(id: u64) -> String {
    format!("catalog/{id:020}/")
}

/// Writes a stream into numbered parts of a key prefix.
struct PartWriter<'a> {
    store: &'a dyn KvStore,
    prefix: String,
    buf: Vec<u8>,
    part: u32,
}

impl PartWriter<'_> {
    fn flush_part(&mut self) -> std::io::Result<()> {
        let key = format!("{}{:06}", self.prefix, self.part);
        self.store.set(&key, &self.buf).map_err(std::io::Error::other)?;
        self.buf.clear();
        self.part += 1;
        Ok(())
    }
}

impl std::io::Write for PartWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = CATALOG_PART_BYTES - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CATALOG_PART_BYTES {
            self.flush_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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

fn storage(e: String) -> Error {
    Error::Storage(format!("the sync history could not be accessed: {e}"))
}

/// The sync history kept in a host's key-value store.
pub struct History<'a> {
    store: &'a dyn KvStore,
}

impl<'a> History<'a> {
    /// The history in `store`.
    pub fn new(store: &'a dyn KvStore) -> Self {
        History { store }
    }

    fn ids(&self) -> Result<Vec<u64>> {
        let keys = self.store.list("sync/").map_err(storage)?;
        let mut ids: Vec<u64> = keys.iter().filter_map(|k| k.strip_prefix("sync/")?.parse().ok()).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The id the next sync gets.
    pub fn next_id(&self) -> Result<u64> {
        Ok(self.ids()?.last().map_or(1, |last| last + 1))
    }

    /// Writes a record (creating or replacing it).
    pub fn save(&self, record: &SyncRecord) -> Result<()> {
        let bytes = serde_json::to_vec(record).map_err(|e| Error::Storage(e.to_string()))?;
        self.store.set(&record_key(record.id), &bytes).map_err(storage)
    }

    /// Writes the catalog of a sync.
    pub fn save_catalog(&self, id: u64, catalog: &Catalog) -> Result<()> {
        let mut writer = PartWriter { store: self.store, prefix: catalog_prefix(id), buf: Vec::new(), part: 0 };
        serde_json::to_writer(&mut writer, catalog).map_err(|e| storage(e.to_string()))?;
        writer.flush_part().map_err(|e| storage(e.to_string()))
    }

    /// Reads one record; an unreadable record is reported, not fatal to listing.
    pub fn get(&self, id: u64) -> Result<Option<SyncRecord>> {
        let Some(bytes) = self.store.get(&record_key(id)).map_err(storage)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Storage(format!("sync {id} in the history is unreadable: {e}")))
    }

    /// Reads the catalog of a sync.
    pub fn catalog(&self, id: u64) -> Result<Option<Catalog>> {
        let keys = self.store.list(&catalog_prefix(id)).map_err(storage)?;
        if keys.is_empty() {
            return Ok(None);
        }
        serde_json::from_reader(std::io::BufReader::new(read_parts(self.store, keys)))
            .map(Some)
            .map_err(|e| Error::Storage(format!("the catalog of sync {id} is unreadable: {e}")))
    }

    /// Records newest first, at most `limit`; unreadable records are skipped.
    pub fn list(&self, limit: Option<u32>) -> Result<Vec<SyncRecord>> {
        let limit = limit.map_or(usize::MAX, |l| l as usize);
        let mut out = Vec::new();
        for id in self.ids()?.into_iter().rev() {
            if out.len() >= limit {
                break;
            }
            if let Ok(Some(r)) = self.get(id) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The newest sync that produced a catalog.
    pub fn latest_successful(&self) -> Result<Option<SyncRecord>> {
        for id in self.ids()?.into_iter().rev() {
            if let Ok(Some(r)) = self.get(id)
                && matches!(r.status, SyncStatus::Succeeded | SyncStatus::SucceededWithWarnings)
            {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

fn fingerprint(node: &Node) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(node).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Compares two catalogs by unique id and content.
pub fn diff(previous_sync_id: u64, previous: &Catalog, current: &Catalog) -> ChangeSummary {
    let before: HashMap<&str, u64> = previous.nodes.iter().map(|n| (n.unique_id.as_str(), fingerprint(n))).collect();
    let mut summary = ChangeSummary::unchanged(previous_sync_id);
    let mut seen = 0usize;
    for n in &current.nodes {
        match before.get(n.unique_id.as_str()) {
            None => summary.added += 1,
            Some(f) => {
                seen += 1;
                if *f != fingerprint(n) {
                    summary.modified += 1;
                }
            }
        }
    }
    summary.removed = (before.len() - seen.min(before.len())) as u32;
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemStore;

    fn record(id: u64, status: SyncStatus) -> SyncRecord {
        SyncRecord { status, ..SyncRecord::started(id, "test", "t".into()) }
    }

    #[test]
    fn lists_newest_first_and_skips_corrupt_records() {
        let store = MemStore::default();
        let h = History::new(&store);
        assert_eq!(h.next_id().unwrap(), 1);
        for id in 1..=10 {
            h.save(&record(id, if id == 10 { SyncStatus::Failed } else { SyncStatus::Succeeded })).unwrap();
        }
        store.set("sync/00000000000000000005", b"{broken").unwrap();
        let ids: Vec<u64> = h.list(None).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![10, 9, 8, 7, 6, 4, 3, 2, 1]);
        assert_eq!(h.list(Some(2)).unwrap().len(), 2);
        assert_eq!(h.next_id().unwrap(), 11);
        assert_eq!(h.latest_successful().unwrap().unwrap().id, 9);
        assert!(h.get(5).is_err());
    }

    #[test]
    fn a_large_catalog_is_stored_in_parts_and_read_back() {
        let store = MemStore::default();
        let h = History::new(&store);
        let nodes: Vec<Node> = (0..60_000)
            .map(|i| Node { unique_id: format!("model.p.m{i}"), description: "d".repeat(200), ..Node::default() })
            .collect();
        let catalog = Catalog { nodes };
        h.save_catalog(7, &catalog).unwrap();
        let parts = store.list("catalog/00000000000000000007/").unwrap();
        assert!(parts.len() >= 2, "{parts:?}");
        assert!(parts.iter().all(|k| store.get(k).unwrap().unwrap().len() <= CATALOG_PART_BYTES));
        assert_eq!(h.catalog(7).unwrap().unwrap(), catalog);
        assert_eq!(h.catalog(8).unwrap(), None);
    }

    #[test]
    fn diff_counts_added_removed_modified() {
        let node = |id: &str, d: &str| Node { unique_id: id.into(), description: d.into(), ..Node::default() };
        let a = Catalog { nodes: vec![node("a", ""), node("b", ""), node("c", "")] };
        let b = Catalog { nodes: vec![node("a", ""), node("b", "changed"), node("d", "")] };
        assert_eq!(diff(1, &a, &b), ChangeSummary { previous_sync_id: 1, added: 1, removed: 1, modified: 1 });
    }
}
