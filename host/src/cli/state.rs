//! The state directory: stored settings, the plugin's store, the compile cache
//! and the lock that serializes syncs.

use std::fs;
use std::path::{Path, PathBuf};

use model_sync_host::FileStore;
use model_sync_host::kv::create_private_dir;
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

/// The largest value the plugin may store.
const MAX_VALUE_BYTES: u64 = 1 << 30;

impl StateDir {
    /// Opens (creating, owner-only) the state directory.
    pub fn open(explicit: Option<&Path>) -> anyhow::Result<Self> {
        let root = match explicit {
            Some(p) => p.to_path_buf(),
            None => default_dir()?,
        };
        create_private_dir(&root)?;
        Ok(StateDir { root })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The plugin's key-value store.
    pub fn store(&self) -> anyhow::Result<FileStore> {
        Ok(FileStore::open(&self.root.join("kv"), MAX_VALUE_BYTES)?)
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

    /// Stores settings atomically.
    pub fn save_settings(&self, settings: &StoredSettings) -> anyhow::Result<()> {
        let tmp = self.root.join(".settings.json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(settings)?)?;
        fs::File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, self.root.join("settings.json"))?;
        Ok(())
    }

    /// Takes the exclusive lock that serializes syncs of this directory; held
    /// until the returned file is dropped.
    pub fn lock(&self) -> anyhow::Result<fs::File> {
        let f = fs::OpenOptions::new().create(true).truncate(false).write(true).open(self.root.join("lock"))?;
        f.lock()?;
        Ok(f)
    }
}

impl StateDir {
    /// Whether a sync of this directory is running now (its lock is held).
    pub fn sync_in_progress(&self) -> bool {
        let Ok(f) = fs::OpenOptions::new().create(true).truncate(false).write(true).open(self.root.join("lock")) else {
            return false;
        };
        matches!(f.try_lock(), Err(fs::TryLockError::WouldBlock))
    }
}

fn default_dir() -> anyhow::Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME") {
        return Ok(PathBuf::from(x).join("model-sync"));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| anyhow::anyhow!("set --state-dir (no HOME)"))?;
    Ok(PathBuf::from(home).join(".local/state/model-sync"))
}
