//! The engine, the compiled component, and sandboxed plugin sessions.

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::exports::modelsync::plugin::model_sync as api;
use crate::bindings::modelsync::plugin::host as host_api;
use crate::bindings::{SyncPlugin, SyncPluginPre};
use crate::error::{CallError, truncate_error};
use crate::kv::{FileStore, KvError};
use crate::policy::{PolicyHooks, SandboxPolicy};

/// How often the epoch advances; per-call CPU deadlines are counted in these.
const EPOCH_TICK: Duration = Duration::from_millis(10);

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

/// Per-instance state.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    limits: PeakLimiter,
    hooks: PolicyHooks,
    store: Arc<FileStore>,
    events: EventSink,
    secrets: Vec<String>,
    log_lines: u64,
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

fn store_error(e: KvError) -> host_api::StoreError {
    match e {
        KvError::InvalidKey(m) => host_api::StoreError::InvalidKey(m),
        KvError::QuotaExceeded(m) => host_api::StoreError::QuotaExceeded(m),
        KvError::Io(m) => host_api::StoreError::Io(m),
    }
}

impl host_api::Host for HostState {
    fn log(&mut self, level: host_api::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let level = match level {
            host_api::Level::Debug => "debug",
            host_api::Level::Info => "info",
            host_api::Level::Warn => "warn",
            host_api::Level::Error => "error",
        };
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
        self.store.get(&key).map_err(store_error)
    }

    fn kv_set(&mut self, key: String, value: Vec<u8>) -> Result<(), host_api::StoreError> {
        self.store.set(&key, &value).map_err(store_error)
    }

    fn kv_delete(&mut self, key: String) -> Result<(), host_api::StoreError> {
        self.store.delete(&key).map_err(store_error)
    }

    fn kv_list(&mut self, prefix: String) -> Result<Vec<String>, host_api::StoreError> {
        self.store.list(&prefix).map_err(store_error)
    }
}

/// The store's limits, remembering the largest linear memory granted.
struct PeakLimiter {
    inner: StoreLimits,
    peak: usize,
}

impl wasmtime::ResourceLimiter for PeakLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let granted = self.inner.memory_growing(current, desired, maximum)?;
        if granted {
            self.peak = self.peak.max(desired);
        }
        Ok(granted)
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

/// A loaded component, ready to instantiate. Cheap to share.
pub struct Runtime {
    engine: Engine,
    pre: SyncPluginPre<HostState>,
    stop_ticker: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Runtime {
    /// Compiles `wasm` (or loads its compiled form from `cache_dir`, keyed by
    /// the component's bytes and the engine's settings) and links it.
    pub fn new(wasm: &[u8], cache_dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let component = load_component(&engine, wasm, cache_dir)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        SyncPlugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
        let pre = SyncPluginPre::new(linker.instantiate_pre(&component)?)?;
        let stop_ticker = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ticker_engine, stop) = (engine.clone(), stop_ticker.clone());
        std::thread::Builder::new().name("model-sync-epoch".into()).spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                ticker_engine.increment_epoch();
            }
        })?;
        Ok(Runtime { engine, pre, stop_ticker })
    }

    /// A fresh sandboxed instance. Its WASI context grants nothing: no
    /// environment, arguments, preopened directories, stdio or sockets.
    pub async fn instantiate(&self, options: SessionOptions) -> anyhow::Result<Session> {
        let policy = Arc::new(options.policy);
        let events = options.events.clone();
        let deny_events = events.clone();
        let state = HostState {
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limits: PeakLimiter {
                inner: StoreLimitsBuilder::new()
                    .memory_size(policy.max_memory_bytes)
                    .instances(16)
                    .tables(64)
                    .memories(16)
                    .trap_on_grow_failure(true)
                    .build(),
                peak: 0,
            },
            hooks: PolicyHooks::new(policy.clone(), Arc::new(move |m| deny_events(Event::Denied(m)))),
            store: options.store,
            events,
            secrets: options.secrets,
            log_lines: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // What one call may copy from the plugin into the host (a result, a
        // store value): as much as the plugin may hold, never more.
        store.set_hostcall_fuel(policy.max_memory_bytes);
        store.set_epoch_deadline(u64::MAX / 2);
        store.epoch_deadline_trap();
        let plugin = self.pre.instantiate_async(&mut store).await?;
        Ok(Session { store, plugin, policy, poisoned: false })
    }
}

fn load_component(engine: &Engine, wasm: &[u8], cache_dir: Option<&Path>) -> anyhow::Result<Component> {
    let Some(dir) = cache_dir else {
        return Ok(Component::new(engine, wasm)?);
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    wasm.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let path = dir.join(format!("{:016x}.cwasm", hasher.finish()));
    if path.exists() {
        // SAFETY: the file was written by `serialize` below, by this engine
        // configuration and wasmtime version (both are in the file name's hash).
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok(c);
        }
    }
    let component = Component::new(engine, wasm)?;
    if std::fs::create_dir_all(dir).is_ok() {
        let tmp = dir.join(format!(".tmp-{}", std::process::id()));
        if std::fs::write(&tmp, component.serialize()?).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
    Ok(component)
}

/// What a session needs besides the component.
pub struct SessionOptions {
    /// The sandbox policy.
    pub policy: SandboxPolicy,
    /// The plugin's key-value store.
    pub store: Arc<FileStore>,
    /// Where log lines and progress go.
    pub events: EventSink,
    /// Strings scrubbed from anything the plugin logs (the API token).
    pub secrets: Vec<String>,
}

/// One sandboxed plugin instance. After any failure of the instance itself
/// (trap, deadline) it refuses further calls: make a new session.
pub struct Session {
    store: Store<HostState>,
    plugin: SyncPlugin,
    policy: Arc<SandboxPolicy>,
    poisoned: bool,
}

impl Session {
    async fn call<T>(
        &mut self,
        f: impl AsyncFnOnce(&SyncPlugin, &mut Store<HostState>) -> wasmtime::Result<Result<T, api::Error>>,
    ) -> Result<T, CallError> {
        if self.poisoned {
            return Err(CallError::Poisoned);
        }
        let deadline = self.policy.call_timeout;
        let ticks = (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        self.store.set_epoch_deadline(ticks);
        let outcome = tokio::time::timeout(deadline, f(&self.plugin, &mut self.store)).await;
        match outcome {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(_))) if self.store.data().hooks.response_cap_tripped() => {
                Err(CallError::ResponseLimit(self.policy.max_response_bytes))
            }
            Ok(Ok(Err(e))) => Err(CallError::Plugin(truncate_error(e))),
            Ok(Err(trap)) => {
                self.poisoned = true;
                let text = format!("{trap:?}");
                if text.contains("growing memory") || text.contains("memory allocation") {
                    Err(CallError::MemoryLimit(self.policy.max_memory_bytes))
                } else if trap.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
                    Err(CallError::Deadline(deadline))
                } else {
                    Err(CallError::Trap(trap.to_string()))
                }
            }
            Err(_) => {
                self.poisoned = true;
                Err(CallError::Deadline(deadline))
            }
        }
    }

    /// The largest linear memory the instance has had, in bytes.
    pub fn peak_memory_bytes(&self) -> usize {
        self.store.data().limits.peak
    }

    /// `configure`.
    pub async fn configure(&mut self, settings: &api::Settings) -> Result<api::Connection, CallError> {
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_configure(s, settings).await).await
    }

    /// `list-syncs`.
    pub async fn list_syncs(&mut self, limit: Option<u32>) -> Result<Vec<api::SyncRecord>, CallError> {
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_list_syncs(s, limit).await).await
    }

    /// `get-sync`.
    pub async fn get_sync(&mut self, id: u64) -> Result<api::SyncDetail, CallError> {
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_get_sync(s, id).await).await
    }

    /// `get-catalog`.
    pub async fn get_catalog(
        &mut self,
        id: u64,
        offset: u32,
        limit: u32,
        resource_type: Option<&str>,
    ) -> Result<api::CatalogPage, CallError> {
        self.call(async |p, s| {
            p.modelsync_plugin_model_sync().call_get_catalog(s, id, offset, limit, resource_type).await
        })
        .await
    }

    /// `trigger-sync`.
    pub async fn trigger_sync(&mut self, options: &api::SyncOptions) -> Result<api::SyncReport, CallError> {
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_trigger_sync(s, options).await).await
    }
}
