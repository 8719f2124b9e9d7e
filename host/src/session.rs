//! A sandboxed plugin instance and its typed calls, each under the policy's
//! deadline (epoch ticks and wall clock), with failures sorted into [`CallError`].

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;

use crate::bindings::SyncPlugin;
use crate::bindings::exports::modelsync::plugin::model_sync as api;
use crate::error::{CallError, truncate_error};
use crate::kv::KvStore;
use crate::policy::SandboxPolicy;
use crate::state::{EventSink, HostState};

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
/// (trap, deadline) it refuses further calls: make a new session.
pub struct Session {
    pub(crate) store: Store<HostState>,
    pub(crate) plugin: SyncPlugin,
    pub(crate) policy: Arc<SandboxPolicy>,
    pub(crate) poisoned: bool,
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
                if self.store.data().limits.refused {
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
