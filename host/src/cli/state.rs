//! The state directory: stored settings, the plugin's store, the compile cache
//! and the lock that serializes syncs.

use std::fs;
use std::path::{Path, PathBuf};

use model_sync_host::SqliteStore;
use model_sync_host::kv::{KvOp, KvStore};
use model_sync_host::private::{create_private_file, open_private_dir, sync_dir, write_private};
use serde::{Deserialize, Serialize};

/// The non-secret connection settings (`settings.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StoredSettings {
    /// The access URL or pasted URL.
    pub access_url: Option<String>,
    /// The account id.
    pub account_id: Option<u64>,
    /// The project id.
    pub project_id: Option<u64>,
    /// Explicit docs job.
    pub docs_job_id: Option<u64>,
    /// Explicit freshness job.
    pub freshness_job_id: Option<u64>,
}

/// A state directory.
pub struct StateDir {
    root: PathBuf,
}

/// The history database in the state directory.
const HISTORY_DB: &str = "history.sqlite";
/// Where 0.1 kept the history, one file per key (`/` spelled `%`).
const V1_KV_DIR: &str = "kv";

impl StateDir {
    /// Opens (creating, owner-only) the state directory; refuses one that is
    /// not this user's or that others may write to (see
    /// [`model_sync_host::private`]), and sweeps temporary files a crash left.
    pub fn open(explicit: Option<&Path>) -> anyhow::Result<Self> {
        let root = match explicit {
            Some(p) => p.to_path_buf(),
            None => default_dir()?,
        };
        open_private_dir(&root).map_err(|e| anyhow::anyhow!("the state directory: {e}"))?;
        Ok(StateDir { root })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The sync history database, into which a history kept by 0.1 is
    /// moved on first use (the plugin then converts its catalogs).
    pub fn store(&self) -> anyhow::Result<SqliteStore> {
        let store = SqliteStore::open(&self.root.join(HISTORY_DB))?;
        let v1 = self.root.join(V1_KV_DIR);
        if v1.is_dir() {
            import_v1(&v1, &store).map_err(|e| {
                anyhow::anyhow!(
                    "{} holds a history kept by model-sync 0.1 that could not be moved into {HISTORY_DB}: {e:#}; \
                     move it aside (`mv {} {}.0.1`) to start a new history",
                    v1.display(),
                    v1.display(),
                    v1.display()
                )
            })?;
        }
        Ok(store)
    }

    /// The compile cache.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// The stored settings, if any.
    pub fn settings(&self) -> anyhow::Result<Option<StoredSettings>> {
        match fs::read(self.root.join("settings.json")) {
            Ok(b) => Ok(Some(serde_json::from_slice(&b)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores settings atomically (mode 0600, the directory synced).
    pub fn save_settings(&self, settings: &StoredSettings) -> anyhow::Result<()> {
        write_private(&self.root.join("settings.json"), &serde_json::to_vec_pretty(settings)?)?;
        Ok(())
    }

    /// Takes the exclusive lock that serializes the commands that write to
    /// this directory (configure, sync, prune, demo); held
    /// until the returned file is dropped.
    pub fn lock(&self) -> anyhow::Result<fs::File> {
        let f = create_private_file(&self.root.join("lock"))?;
        f.lock()?;
        Ok(f)
    }
}

impl StateDir {
    /// Whether a sync of this directory is running now (its lock is held).
    pub fn sync_in_progress(&self) -> bool {
        let Ok(f) = create_private_file(&self.root.join("lock")) else {
            return false;
        };
        matches!(f.try_lock(), Err(fs::TryLockError::WouldBlock))
    }
}

fn default_dir() -> anyhow::Result<PathBuf> {
    state_home(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
}

/// `$XDG_STATE_HOME/model-sync`, or `$HOME/.local/state/model-sync` when it
/// is unset, empty or relative (the XDG spec says to ignore a relative one:
/// it would put the history wherever the command happens to run).
fn state_home(xdg: Option<std::ffi::OsString>, home: Option<std::ffi::OsString>) -> anyhow::Result<PathBuf> {
    if let Some(x) = xdg.map(PathBuf::from).filter(|p| p.is_absolute()) {
        return Ok(x.join("model-sync"));
    }
    let home = home.map(PathBuf::from).filter(|p| p.is_absolute());
    let home = home.ok_or_else(|| anyhow::anyhow!("give --state-dir (HOME is unset or not an absolute path)"))?;
    Ok(home.join(".local/state/model-sync"))
}

/// Copies every key of a 0.1 history directory into `store` in one batch,
/// then renames the directory so that it is not imported twice.
fn import_v1(dir: &Path, store: &SqliteStore) -> anyhow::Result<()> {
    let mut ops = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(".tmp-") || !entry.file_type()?.is_file() {
            continue;
        }
        ops.push(KvOp::Set { key: name.replace('%', "/"), value: fs::read(entry.path())? });
    }
    store.apply(ops)?;
    let mut done = dir.as_os_str().to_owned();
    done.push(".0.1-imported");
    fs::rename(dir, done)?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_xdg_state_home_is_ignored() {
        let dir = |xdg: Option<&str>, home: Option<&str>| state_home(xdg.map(Into::into), home.map(Into::into)).ok();
        assert_eq!(dir(Some("/x/state"), Some("/home/a")), Some(PathBuf::from("/x/state/model-sync")));
        assert_eq!(dir(Some("state"), Some("/home/a")), Some(PathBuf::from("/home/a/.local/state/model-sync")));
        assert_eq!(dir(Some(""), Some("/home/a")), Some(PathBuf::from("/home/a/.local/state/model-sync")));
        assert_eq!(dir(Some("state"), Some("rel")), None);
        assert_eq!(dir(None, None), None);
    }
}
