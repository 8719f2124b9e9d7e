//! The plugin's key-value store, kept as one file per key in a directory.
//! Every write goes to a temporary file that is synced and renamed over the
//! old one, so that a crash leaves the old or the new value, never a mix.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 200;

/// Why the store refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// Bad key.
    InvalidKey(String),
    /// Value or store too large.
    QuotaExceeded(String),
    /// Disk failure.
    Io(String),
}

/// A directory of values.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    max_value_bytes: u64,
    counter: AtomicU64,
}

fn check_key(key: &str) -> Result<(), KvError> {
    let ok_chars = key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
    if key.is_empty()
        || key.len() > MAX_KEY_LEN
        || !ok_chars
        || key.starts_with('/')
        || key.split('/').any(|s| s == ".." || s == ".")
    {
        return Err(KvError::InvalidKey(format!(
            "keys are 1 to {MAX_KEY_LEN} characters of [A-Za-z0-9._-/] without `..` segments"
        )));
    }
    Ok(())
}

/// `/` is the only key character not allowed in file names; `%` never occurs in keys.
fn file_name(key: &str) -> String {
    key.replace('/', "%")
}

fn io(e: std::io::Error) -> KvError {
    KvError::Io(e.to_string())
}

impl FileStore {
    /// A store in `dir`, created (owner-only) if missing.
    pub fn open(dir: &Path, max_value_bytes: u64) -> std::io::Result<Self> {
        create_private_dir(dir)?;
        Ok(FileStore { dir: dir.to_path_buf(), max_value_bytes, counter: AtomicU64::new(0) })
    }

    /// Reads a value.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_key(key)?;
        match fs::read(self.dir.join(file_name(key))) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// Writes a value atomically and durably.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        check_key(key)?;
        if value.len() as u64 > self.max_value_bytes {
            return Err(KvError::QuotaExceeded(format!(
                "a value of {} bytes exceeds the store's limit of {} bytes",
                value.len(),
                self.max_value_bytes
            )));
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(format!(".tmp-{}-{n}", std::process::id()));
        let result = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(value)?;
            f.sync_all()?;
            fs::rename(&tmp, self.dir.join(file_name(key)))?;
            fs::File::open(&self.dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(io)
    }

    /// Removes a key.
    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        check_key(key)?;
        match fs::remove_file(self.dir.join(file_name(key))) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    /// Keys starting with `prefix`, ascending.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(".tmp-") {
                continue;
            }
            let key = name.replace('%', "/");
            if key.starts_with(prefix) {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }
}

/// Creates a directory readable only by its owner.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_lists_and_refuses_bad_keys() {
        let dir = std::env::temp_dir().join(format!("kv-test-{}", std::process::id()));
        let store = FileStore::open(&dir, 16).unwrap();
        store.set("sync/002", b"b").unwrap();
        store.set("sync/001", b"a").unwrap();
        store.set("catalog/001", b"c").unwrap();
        assert_eq!(store.list("sync/").unwrap(), vec!["sync/001", "sync/002"]);
        assert_eq!(store.get("sync/001").unwrap().as_deref(), Some(&b"a"[..]));
        assert_eq!(store.get("nope").unwrap(), None);
        store.delete("sync/001").unwrap();
        assert_eq!(store.list("sync/").unwrap(), vec!["sync/002"]);
        for bad in ["", "../x", "a/../b", "/abs", "sp ace", "a%b", &"k".repeat(201)] {
            assert!(matches!(store.set(bad, b"v"), Err(KvError::InvalidKey(_))), "{bad}");
        }
        assert!(matches!(store.set("big", &[0; 17]), Err(KvError::QuotaExceeded(_))));
        fs::remove_dir_all(&dir).unwrap();
    }
}
