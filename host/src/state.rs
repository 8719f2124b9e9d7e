//! The state of one plugin instance and the host interface it imports (log,
//! progress, key-value store).

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::modelsync::plugin::host as host_api;
use crate::events::{Event, EventSink, MAX_LOG_LINE, Reached};
use crate::kv::{KvError, KvOp, KvStore, check_key};
use crate::limits::{Limit, StoreLimiter};
use crate::policy::{PolicyHooks, SandboxPolicy};
use crate::redact::Redactor;

/// The state of one instance: its WASI and HTTP contexts, its limits and
/// sandbox hooks, and the host services the plugin imports.
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: StoreLimiter,
    pub(crate) hooks: PolicyHooks,
    pub(crate) store: Arc<dyn KvStore>,
    pub(crate) events: EventSink,
    pub(crate) redactor: Redactor,
    pub(crate) policy: Arc<SandboxPolicy>,
    pub(crate) reached: Arc<Reached>,
    pub(crate) log_lines: u64,
    pub(crate) progress_events: u64,
}

impl HostState {
    /// The state of a new instance under `policy`: a WASI context that grants
    /// nothing, and every cap of the policy in force.
    pub(crate) fn new(
        policy: Arc<SandboxPolicy>,
        store: Arc<dyn KvStore>,
        events: EventSink,
        redactor: Redactor,
    ) -> Self {
        let reached = Arc::new(Reached::new(events.clone()));
        let mut table = ResourceTable::new();
        table.set_max_capacity(policy.max_handles);
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(policy.max_header_bytes);
        HostState {
            wasi: WasiCtx::builder().build(),
            http,
            table,
            limits: StoreLimiter::new(
                policy.max_memory_bytes,
                policy.max_memories,
                policy.max_tables,
                policy.max_table_elements,
                policy.max_instances,
            ),
            hooks: PolicyHooks::new(policy.clone(), events.clone(), redactor.clone(), reached.clone()),
            store,
            events,
            redactor,
            policy,
            reached,
            log_lines: 0,
            progress_events: 0,
        }
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
    async fn log(&mut self, level: host_api::Level, message: String) {
        self.log_lines = self.log_lines.saturating_add(1);
        if self.log_lines > self.policy.max_log_lines {
            self.reached.hit(Limit::LogLines(self.policy.max_log_lines));
            return;
        }
        let level: &'static str = level.into();
        let message = self.redactor.redact_cut(&message, MAX_LOG_LINE);
        (self.events)(Event::Log { level, message });
    }

    async fn progress(&mut self, step: String, done: u64, total: Option<u64>) {
        self.progress_events = self.progress_events.saturating_add(1);
        if self.progress_events > self.policy.max_progress_events {
            self.reached.hit(Limit::ProgressEvents(self.policy.max_progress_events));
            return;
        }
        let step = self.redactor.redact_cut(&step, MAX_LOG_LINE);
        (self.events)(Event::Progress { step, done, total });
    }

    async fn kv_get(&mut self, key: String) -> Result<Option<Vec<u8>>, host_api::StoreError> {
        check_key(&key)?;
        let store = self.store.clone();
        Ok(off_thread(move || store.get(&key)).await?)
    }

    async fn kv_set(&mut self, key: String, value: Vec<u8>) -> Result<(), host_api::StoreError> {
        self.kv_batch(vec![host_api::StoreOp::Set(host_api::KeyValue { key, value })]).await
    }

    async fn kv_delete(&mut self, key: String) -> Result<(), host_api::StoreError> {
        self.kv_batch(vec![host_api::StoreOp::Delete(key)]).await
    }

    async fn kv_list(&mut self, prefix: String) -> Result<Vec<String>, host_api::StoreError> {
        if prefix.len() > crate::kv::MAX_KEY_LEN {
            return Err(KvError::InvalidKey("a prefix is no longer than a key".into()).into());
        }
        let store = self.store.clone();
        Ok(off_thread(move || store.list(&prefix)).await?)
    }

    async fn kv_batch(&mut self, ops: Vec<host_api::StoreOp>) -> Result<(), host_api::StoreError> {
        let ops: Vec<KvOp> = ops.into_iter().map(KvOp::from).collect();
        let max = self.policy.max_value_bytes;
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
        let store = self.store.clone();
        Ok(off_thread(move || store.apply(ops)).await?)
    }
}

/// Runs a store operation on tokio's blocking threads, so that a database
/// write never holds up the threads that run instances and the host's tasks.
async fn off_thread<T: Send + 'static>(op: impl FnOnce() -> Result<T, KvError> + Send + 'static) -> Result<T, KvError> {
    tokio::task::spawn_blocking(op)
        .await
        .unwrap_or_else(|e| Err(KvError::Io(format!("the store's thread failed: {e}"))))
}
