//! A sandboxed plugin instance and its typed calls, each under the policy's
//! deadline (epoch ticks and wall clock), with failures sorted into [`CallError`].

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTableError;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi_http::FieldMapError;

use crate::bindings::SyncPlugin;
use crate::bindings::exports::modelsync::plugin::model_sync as api;
use crate::error::{CallError, MAX_ERROR_MESSAGE, clean_error};
use crate::events::EventSink;
use crate::kv::KvStore;
use crate::limits::Limit;
use crate::policy::SandboxPolicy;
use crate::settings::ConnectionSettings;
use crate::state::HostState;

/// How often the epoch advances; per-call CPU deadlines are counted in these.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What a session needs besides the component.
pub struct SessionOptions {
    /// The sandbox policy.
    pub policy: SandboxPolicy,
    /// Where the plugin keeps its sync history ([`crate::SqliteStore`], or a
    /// workbench's own [`KvStore`]).
    pub store: Arc<dyn KvStore>,
    /// Where log lines and progress go.
    pub events: EventSink,
    /// Strings scrubbed from anything the plugin logs (the API token).
    pub secrets: Vec<String>,
}

/// One sandboxed plugin instance. After any failure of the instance itself
/// (trap, deadline, a cap) it refuses further calls: make a new session.
pub struct Session {
    pub(crate) store: Store<HostState>,
    pub(crate) plugin: SyncPlugin,
    pub(crate) poisoned: bool,
}

/// Runs `f` on the instance's store under the policy's deadline (epoch
/// ticks, at each of which it yields, and wall clock) and sorts its failures into [`CallError`]: the cap
/// that tripped, the deadline, or a crash; the plugin's own errors with the
/// secrets taken out and cut to length.
pub(crate) async fn bounded<T>(
    store: &mut Store<HostState>,
    f: impl AsyncFnOnce(&mut Store<HostState>) -> wasmtime::Result<Result<T, api::Error>>,
) -> Result<T, CallError> {
    let policy = store.data().policy.clone();
    let deadline = policy.call_timeout;
    // At every epoch tick the instance yields to the executor, so that many
    // instances share the host's threads and its other tasks stay timely;
    // past the deadline the tick interrupts it.
    let until = std::time::Instant::now().checked_add(deadline);
    store.epoch_deadline_callback(move |_| {
        Ok(match until {
            Some(until) if std::time::Instant::now() >= until => UpdateDeadline::Interrupt,
            _ => UpdateDeadline::Yield(1),
        })
    });
    store.set_epoch_deadline(1);
    let outcome = tokio::time::timeout(deadline, f(store)).await;
    let state = store.data();
    match outcome {
        Ok(Ok(Ok(v))) => Ok(v),
        Ok(Ok(Err(e))) => {
            // A cap the plugin saw as a failed request explains its error.
            match state.reached.find(|l| matches!(l, Limit::ResponseBytes(_) | Limit::ConcurrentRequests(_))) {
                Some(Limit::ResponseBytes(b)) => Err(CallError::ResponseLimit(b)),
                Some(limit) => Err(CallError::Limit(limit)),
                None => Err(CallError::Plugin(clean_error(e, &state.redactor))),
            }
        }
        Ok(Err(trap)) => Err(match state.limits.tripped {
            Some(Limit::Memory(b)) => CallError::MemoryLimit(b),
            Some(limit) => CallError::Limit(limit),
            None if trap.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) => {
                CallError::Deadline(deadline)
            }
            None if is_table_full(&trap) => CallError::Limit(Limit::Handles(policy.max_handles)),
            None if are_headers_full(&trap) => CallError::Limit(Limit::HeaderBytes(policy.max_header_bytes)),
            None => match count_limit(&trap, &policy) {
                Some(limit) => CallError::Limit(limit),
                None => CallError::Trap(state.redactor.redact_cut(&format!("{trap:#}"), MAX_ERROR_MESSAGE)),
            },
        }),
        Err(_) => Err(CallError::Deadline(deadline)),
    }
}

/// Whether a trap is a host function refusing a new resource handle.
fn is_table_full(trap: &wasmtime::Error) -> bool {
    trap.chain().any(|e| e.downcast_ref::<ResourceTableError>().is_some_and(|e| matches!(e, ResourceTableError::Full)))
}

/// Whether a trap is `wasi:http` refusing to grow a set of headers.
fn are_headers_full(trap: &wasmtime::Error) -> bool {
    trap.chain().any(|e| {
        e.downcast_ref::<FieldMapError>()
            .is_some_and(|e| matches!(e, FieldMapError::TotalSizeTooBig | FieldMapError::TooManyFields))
    })
}

/// The count cap (memories, tables, instances) that refused an
/// instantiation, as wasmtime words it.
fn count_limit(error: &wasmtime::Error, policy: &SandboxPolicy) -> Option<Limit> {
    let text = format!("{error:#}");
    if !text.contains("count too high") {
        return None;
    }
    if text.contains("memory count") {
        Some(Limit::Memories(policy.max_memories))
    } else if text.contains("table count") {
        Some(Limit::Tables(policy.max_tables))
    } else {
        Some(Limit::Instances(policy.max_instances))
    }
}

impl Session {
    async fn call<T>(
        &mut self,
        f: impl AsyncFnOnce(&SyncPlugin, &mut Store<HostState>) -> wasmtime::Result<Result<T, api::Error>>,
    ) -> Result<T, CallError> {
        if self.poisoned {
            return Err(CallError::Poisoned);
        }
        let plugin = &self.plugin;
        let result = bounded(&mut self.store, async |s| f(plugin, s).await).await;
        if let Err(e) = &result {
            self.poisoned |= e.discards_instance();
        }
        result
    }

    /// The largest linear memory the instance has had, in bytes.
    pub fn peak_memory_bytes(&self) -> usize {
        self.store.data().limits.peak
    }

    /// `configure`.
    pub async fn configure(&mut self, settings: &ConnectionSettings) -> Result<api::Connection, CallError> {
        // Whatever the embedder passed as secrets, this token is one.
        let state = self.store.data_mut();
        state.redactor.add(settings.api_token.expose());
        state.hooks.add_secret(settings.api_token.expose());
        let settings = settings.to_wit();
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_configure(s, &settings).await).await
    }

    /// `list-syncs`.
    pub async fn list_syncs(&mut self, limit: Option<u32>) -> Result<Vec<api::SyncRecord>, CallError> {
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_list_syncs(s, limit).await).await
    }

    /// `get-sync`.
    pub async fn get_sync(&mut self, id: u64) -> Result<api::SyncDetail, CallError> {
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_get_sync(s, id).await).await
    }

    /// `get-catalog`: at most `limit` entries of sync `id`'s catalog from `offset`.
    pub async fn get_catalog(
        &mut self,
        id: u64,
        offset: u32,
        limit: u32,
        resource_type: Option<&api::ResourceType>,
    ) -> Result<api::CatalogPage, CallError> {
        self.call(async |p, s| {
            p.modelsync_plugin_model_sync().call_get_catalog(s, id, offset, limit, resource_type).await
        })
        .await
    }

    /// Reads sync `id`'s catalog (of one type when given) page by page,
    /// handing each page to `each`; stops early when `each` says so (false).
    pub async fn each_catalog_page(
        &mut self,
        id: u64,
        resource_type: Option<&api::ResourceType>,
        mut each: impl FnMut(Vec<api::CatalogNode>) -> bool,
    ) -> Result<(), CallError> {
        let mut offset = 0;
        loop {
            let page = self.get_catalog(id, offset, 5000, resource_type).await?;
            offset += page.nodes.len() as u32;
            let done = page.nodes.is_empty() || offset >= page.total;
            if !each(page.nodes) || done {
                return Ok(());
            }
        }
    }

    /// Sync `id`'s whole catalog (of one type when given), read page by page.
    /// For small projects and tests: a workbench applying a large catalog
    /// takes it a page at a time with [`Session::each_catalog_page`].
    pub async fn read_catalog(
        &mut self,
        id: u64,
        resource_type: Option<&api::ResourceType>,
    ) -> Result<Vec<api::CatalogNode>, CallError> {
        let mut nodes = Vec::new();
        self.each_catalog_page(id, resource_type, |page| {
            nodes.extend(page);
            true
        })
        .await?;
        Ok(nodes)
    }

    /// Every change from sync `from` (by default the newest before `to` with
    /// a catalog; 0 when there is none) to sync `to`, read page by page.
    pub async fn read_changes(
        &mut self,
        from: Option<u64>,
        to: u64,
    ) -> Result<(u64, Vec<api::EntityChange>), CallError> {
        let mut changes = Vec::new();
        loop {
            let page = self.get_changes(from, to, changes.len() as u32, 5000).await?;
            let done = page.changes.is_empty();
            changes.extend(page.changes);
            if done || changes.len() as u32 >= page.total {
                return Ok((page.from_sync, changes));
            }
        }
    }

    /// `get-changes`: at most `limit` changes from sync `from` (by default the
    /// newest before `to` with a catalog) to sync `to`, from `offset`.
    pub async fn get_changes(
        &mut self,
        from: Option<u64>,
        to: u64,
        offset: u32,
        limit: u32,
    ) -> Result<api::ChangePage, CallError> {
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_get_changes(s, from, to, offset, limit).await).await
    }

    /// `trigger-sync`: the sync's record; read its catalog with [`Session::get_catalog`].
    pub async fn trigger_sync(&mut self, options: &api::SyncOptions) -> Result<api::SyncRecord, CallError> {
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_trigger_sync(s, options).await).await
    }

    /// `prune`: keeps the catalogs of the newest `keep` syncs.
    pub async fn prune(&mut self, keep: u32) -> Result<api::PruneReport, CallError> {
        self.call(async |p, s| p.modelsync_plugin_model_sync().call_prune(s, keep).await).await
    }
}
