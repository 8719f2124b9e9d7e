//! The state of one plugin instance, the host interface it imports (log,
//! progress, key-value store), and its memory limiter.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::modelsync::plugin::host as host_api;
use crate::kv::{KvError, KvOp, KvStore, check_key};
use crate::policy::PolicyHooks;

/// Something a plugin reports while a call runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A log line.
    Log {
        /// `debug`, `info`, `warn`, `error`.
        level: &'static str,
        /// The line.
        message: String,
    },
    /// Progress of a step.
    Progress {
        /// The step.
        step: String,
        /// Done so far.
        done: u64,
        /// Total, when known.
        total: Option<u64>,
    },
    /// The sandbox refused something.
    Denied(String),
}

/// Receives events; must be cheap.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// The state of one instance: its WASI and HTTP contexts, its limits and
/// sandbox hooks, and the host services the plugin imports.
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: MemoryLimiter,
    pub(crate) hooks: PolicyHooks,
    pub(crate) store: Arc<dyn KvStore>,
    pub(crate) events: EventSink,
    pub(crate) secrets: Vec<String>,
    pub(crate) log_lines: u64,
    pub(crate) max_value_bytes: u64,
}

/// The most log lines one instance may send; the rest are dropped.
pub const MAX_LOG_LINES: u64 = 10_000;
/// The longest log line passed on; longer ones are cut.
pub const MAX_LOG_LINE: usize = 4096;

impl HostState {
    fn scrub(&self, text: &str) -> String {
        let mut out: String = text.chars().take(MAX_LOG_LINE).collect();
        for s in &self.secrets {
            if !s.is_empty() {
                out = out.replace(s.as_str(), "<redacted>");
            }
        }
        out
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

impl host_api::Host for HostState {
    fn log(&mut self, level: host_api::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let level: &'static str = level.into();
        let message = if self.log_lines == MAX_LOG_LINES {
            format!("(log limit of {MAX_LOG_LINES} lines reached; further lines dropped)")
        } else {
            self.scrub(&message)
        };
        (self.events)(Event::Log { level, message });
    }

    fn progress(&mut self, step: String, done: u64, total: Option<u64>) {
        let step = self.scrub(&step);
        (self.events)(Event::Progress { step, done, total });
    }

    fn kv_get(&mut self, key: String) -> Result<Option<Vec<u8>>, host_api::StoreError> {
        check_key(&key)?;
        Ok(self.store.get(&key)?)
    }

    fn kv_set(&mut self, key: String, value: Vec<u8>) -> Result<(), host_api::StoreError> {
        self.kv_batch(vec![host_api::StoreOp::Set(host_api::KeyValue { key, value })])
    }

    fn kv_delete(&mut self, key: String) -> Result<(), host_api::StoreError> {
        self.kv_batch(vec![host_api::StoreOp::Delete(key)])
    }

    fn kv_list(&mut self, prefix: String) -> Result<Vec<String>, host_api::StoreError> {
        if prefix.len() > crate::kv::MAX_KEY_LEN {
            return Err(KvError::InvalidKey("a prefix is no longer than a key".into()).into());
        }
        Ok(self.store.list(&prefix)?)
    }

    fn kv_batch(&mut self, ops: Vec<host_api::StoreOp>) -> Result<(), host_api::StoreError> {
        let ops: Vec<KvOp> = ops.into_iter().map(KvOp::from).collect();
        let max = self.max_value_bytes;
        for op in &ops {
            let (KvOp::Set { key, .. } | KvOp::Delete { key }) = op;
            check_key(key)?;
            if let KvOp::Set { value, .. } = op
                && value.len() as u64 > max
            {
                return Err(KvError::QuotaExceeded(format!(
                    "a value of {} bytes is over the store's limit of {max} bytes per value",
                    value.len()
                ))
                .into());
            }
        }
        Ok(self.store.apply(ops)?)
    }
}

/// The store's limits, remembering the largest linear memory granted and
/// whether a growth was refused (so that a trap is known to be the memory
/// cap's without reading its message).
pub(crate) struct MemoryLimiter {
    inner: StoreLimits,
    pub(crate) peak: usize,
    pub(crate) refused: bool,
}

impl MemoryLimiter {
    /// Limits of `max_memory_bytes` of linear memory, trapping when exceeded.
    pub(crate) fn new(max_memory_bytes: usize) -> Self {
        let inner = StoreLimitsBuilder::new()
            .memory_size(max_memory_bytes)
            .instances(16)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true)
            .build();
        MemoryLimiter { inner, peak: 0, refused: false }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let granted = self.inner.memory_growing(current, desired, maximum);
        match &granted {
            Ok(true) => self.peak = self.peak.max(desired),
            Ok(false) | Err(_) => self.refused = true,
        }
        granted
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
