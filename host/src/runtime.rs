//! The engine and the compiled component: one [`Runtime`] per component,
//! from which sandboxed [`Session`]s are instantiated.

use std::path::Path;
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store};

use crate::bindings::exports::modelsync::plugin::model_sync as api;
use crate::bindings::{SyncPlugin, SyncPluginPre};
use crate::error::CallError;
use crate::redact::Redactor;
use crate::session::{EPOCH_TICK, Session, SessionOptions, bounded};
use crate::state::HostState;

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
    /// the SHA-256 of the component and the engine's settings, only from a
    /// directory this user owns and only a file whose checksum matches: see
    /// [`crate::cache`]) and links it.
    pub fn new(wasm: &[u8], cache_dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let component = crate::cache::load_component(&engine, wasm, cache_dir)?;
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
    /// Instantiation (which runs the component's start functions) is under
    /// the policy's call deadline and caps like any call.
    pub async fn instantiate(&self, options: SessionOptions) -> Result<Session, CallError> {
        let policy = Arc::new(options.policy);
        let redactor = Redactor::new(options.secrets);
        let state = HostState::new(policy.clone(), options.store, options.events, redactor);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // What one call may copy from the plugin into the host (a result, a
        // store batch): small, as the plugin pages and batches.
        store.set_hostcall_fuel(policy.max_copy_bytes);
        let pre = &self.pre;
        let plugin = bounded(&mut store, async |s| Ok(Ok::<_, api::Error>(pre.instantiate_async(s).await?))).await?;
        Ok(Session { store, plugin, poisoned: false })
    }
}
