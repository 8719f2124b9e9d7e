//! A workbench embedding the host library: one sandboxed instance, a history
//! in the workbench's own store, a sync, its catalog and what changed.
//!
//! `cargo run -p model-sync-host --example embed` syncs the bundled
//! jaffle-shop project through the built-in emulator. With
//! `DBT_CLOUD_API_TOKEN` and `DBT_CLOUD_URL` (any dbt Cloud URL of the project,
//! such as its jobs page) set, it syncs that project instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use model_sync_host::{
    ConnectionSettings, Event, KvError, KvOp, KvStore, MemoryStore, Runtime, SandboxPolicy, SessionOptions,
    sync_options,
};

/// The workbench's own store: here memory, counting the batches the plugin
/// writes (each must be applied all-or-nothing; reads see the last batch).
#[derive(Default)]
struct WorkbenchStore {
    inner: MemoryStore,
    batches: AtomicUsize,
}

impl KvStore for WorkbenchStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.inner.get(key)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        self.inner.list(prefix)
    }

    fn apply(&self, ops: Vec<KvOp>) -> Result<(), KvError> {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.inner.apply(ops)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A real project when the environment names one, else the emulator.
    let mut emulator = None;
    let (token, url) = match (std::env::var("DBT_CLOUD_API_TOKEN"), std::env::var("DBT_CLOUD_URL")) {
        (Ok(token), Ok(url)) => (token, url),
        _ => {
            use dbt_cloud_emulator::world::ids;
            let e = dbt_cloud_emulator::Emulator::start(dbt_cloud_emulator::World::jaffle_shop())?;
            let url = format!("{}/deploy/{}/projects/{}/jobs", e.url(), ids::ACCOUNT, ids::PROJECT);
            let token = e.with_world(|w| w.token.clone());
            emulator = Some(e);
            (token, url)
        }
    };

    let wasm = model_sync_host::bundled::PLUGIN_WASM.ok_or_else(|| anyhow::anyhow!("built without the plugin"))?;
    let runtime = Runtime::new(wasm, None)?;
    let store = Arc::new(WorkbenchStore::default());
    let mut session = runtime
        .instantiate(SessionOptions {
            policy: SandboxPolicy::default().allowing_access_url(&url)?, // this host only
            store: store.clone(),
            events: Arc::new(|event| match event {
                Event::Log { level, message } if level != "debug" => eprintln!("{level:>5} {message}"),
                Event::Denied(why) => eprintln!("sandbox: {why}"),
                _ => {}
            }),
            secrets: vec![],
        })
        .await?;

    let settings = ConnectionSettings { api_token: token.into(), access_url: Some(url), ..Default::default() };
    let connection = session.configure(&settings).await?;
    println!("project {} \"{}\"", connection.project_id, connection.project_name);

    let record = session.trigger_sync(&sync_options("embed-example")).await?;
    let mut by_type = BTreeMap::new();
    session
        .each_catalog_page(record.id, None, |page| {
            for node in page {
                *by_type.entry(node.resource_type.as_str().to_string()).or_insert(0) += 1;
            }
            true
        })
        .await?;
    let counts: Vec<String> = by_type.iter().map(|(t, n)| format!("{n} {t}")).collect();
    println!("sync {} stored in {} batches: {}", record.id, store.batches.load(Ordering::Relaxed), counts.join(", "));

    let (from, changes) = session.read_changes(None, record.id).await?;
    println!("{} entries changed since sync {from} (0: the first sync)", changes.len());
    drop(emulator);
    Ok(())
}
