//! The plugin's key-value store as the host sees it: a trait a workbench can
//! implement over its own database (get, list, and atomic batches of sets and
//! deletes), the key rules every store shares, and [`MemoryStore`], the
//! smallest implementation (also an example of a workbench's own).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 200;

/// Why the store refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// The key is empty, too long, or has characters the store refuses.
    InvalidKey(String),
    /// The value, the batch or the whole store is over a limit.
    QuotaExceeded(String),
    /// The storage failed; the message says how.
    Io(String),
}

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvError::InvalidKey(m) => write!(f, "invalid key: {m}"),
            KvError::QuotaExceeded(m) => write!(f, "quota exceeded: {m}"),
            KvError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for KvError {}

/// One write of an atomic batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// Store `value` under `key`, replacing any value.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove `key`; an absent key is not an error.
    Delete {
        /// The key.
        key: String,
    },
}

/// Where a plugin's sync history is kept. Implementations must make each
/// [`KvStore::apply`] atomic (all of it or none, also across a crash) and
/// let `get` and `list` answer while another handle on the same storage
/// writes. The host checks keys and value sizes before calling.
pub trait KvStore: Send + Sync {
    /// The value of `key`; none when absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// The keys that start with `prefix`, in ascending byte order.
    fn list(&self, prefix: &str) -> Result<Vec<String>, KvError>;
    /// Applies `ops` in order as one transaction.
    fn apply(&self, ops: Vec<KvOp>) -> Result<(), KvError>;
    /// Stores one value (a batch of one).
    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.apply(vec![KvOp::Set { key: key.to_string(), value }])
    }
    /// Removes one key (a batch of one); an absent key is not an error.
    fn delete(&self, key: &str) -> Result<(), KvError> {
        self.apply(vec![KvOp::Delete { key: key.to_string() }])
    }
}

/// Checks a key against the rules every store shares: 1 to [`MAX_KEY_LEN`]
/// characters of `[A-Za-z0-9._-/]`, no leading `/`, no `.` or `..` segments.
pub fn check_key(key: &str) -> Result<(), KvError> {
    let ok_chars = key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
    if key.is_empty()
        || key.len() > MAX_KEY_LEN
        || !ok_chars
        || key.starts_with('/')
        || key.split('/').any(|s| s == ".." || s == ".")
    {
        return Err(KvError::InvalidKey(format!(
            "keys are 1 to {MAX_KEY_LEN} characters of [A-Za-z0-9._-/] without `.` or `..` segments"
        )));
    }
    Ok(())
}

/// A store in memory, gone with the process: for tests, and as the shape of
/// a workbench's own implementation.
#[derive(Debug, Default)]
pub struct MemoryStore {
    values: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    fn values(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>>, KvError> {
        self.values.lock().map_err(|_| KvError::Io("the store's lock is poisoned".into()))
    }
}

impl KvStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.values()?.get(key).cloned())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        Ok(self
            .values()?
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn apply(&self, ops: Vec<KvOp>) -> Result<(), KvError> {
        // One lock for the whole batch: readers see all of it or none.
        let mut values = self.values()?;
        for op in ops {
            match op {
                KvOp::Set { key, value } => {
                    values.insert(key, value);
                }
                KvOp::Delete { key } => {
                    values.remove(&key);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_one_rule() {
        for good in ["sync/00001", "blob/ab12", "a.b_c-d"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["", "../x", "a/../b", "a/./b", "/abs", "sp ace", "a%b", &"k".repeat(201)] {
            assert!(matches!(check_key(bad), Err(KvError::InvalidKey(_))), "{bad}");
        }
    }

    #[test]
    fn the_memory_store_lists_by_prefix_and_applies_batches() {
        let store = MemoryStore::default();
        let set = |k: &str| KvOp::Set { key: k.into(), value: k.as_bytes().to_vec() };
        store.apply(vec![set("sync/2"), set("sync/1"), set("blob/x"), set("synd")]).unwrap();
        assert_eq!(store.list("sync/").unwrap(), vec!["sync/1", "sync/2"]);
        store.delete("sync/1").unwrap();
        store.delete("absent").unwrap();
        store.set("blob/y", b"y".to_vec()).unwrap();
        assert_eq!(store.list("syn").unwrap(), vec!["sync/2", "synd"]);
        assert_eq!(store.get("blob/x").unwrap().as_deref(), Some(&b"blob/x"[..]));
        assert_eq!(store.list("blob/").unwrap(), vec!["blob/x", "blob/y"]);
    }
}
