//! The host's services, adapted to the plugin's seams: log lines and progress
//! ([`LogSink`]) and the key-value store ([`KvStore`]).

use super::wit::modelsync::plugin::host;
use crate::history::{KvStore, StoreOp};
use crate::log::{Level, LogSink};

/// Sends log lines and progress to the host as they happen.
pub struct HostSink;

impl LogSink for HostSink {
    fn line(&self, level: Level, message: &str) {
        host::log(level.into(), message);
    }

    fn progress(&self, step: &str, done: u64, total: Option<u64>) {
        host::progress(step, done, total);
    }
}

/// The host's key-value store, where the sync history lives.
pub struct HostStore;

impl KvStore for HostStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        host::kv_get(key).map_err(String::from)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        host::kv_set(key, value).map_err(String::from)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        host::kv_list(prefix).map_err(String::from)
    }

    fn batch(&self, ops: Vec<StoreOp>) -> Result<(), String> {
        let ops: Vec<host::StoreOp> = ops.into_iter().map(Into::into).collect();
        host::kv_batch(&ops).map_err(String::from)
    }
}
