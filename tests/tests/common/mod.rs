//! What the end-to-end tests share: one runtime with the real component, a
//! session factory, and independent counts of artifact contents.

#![allow(dead_code)]

pub mod hostile;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use dbt_cloud_emulator::{Emulator, World};
use model_sync_host::{CallError, Event, Origin, Runtime, SandboxPolicy, Session, SessionOptions, SqliteStore, api};

/// The component compiled once per test binary (and cached across runs).
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let wasm = model_sync_host::bundled::PLUGIN_WASM.expect("the host is built with the bundled plugin");
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmtime-cache");
        Runtime::new(wasm, Some(&cache)).expect("the component loads")
    })
}

/// A fresh state directory.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A test bench: an emulator, a state directory, and the events of sessions.
pub struct Bench {
    /// The emulator.
    pub emulator: Emulator,
    /// The state directory.
    pub dir: PathBuf,
    /// Everything the plugin reported.
    pub events: Arc<Mutex<Vec<Event>>>,
}

impl Bench {
    /// An emulator of `world` and an empty state directory.
    pub fn new(name: &str, world: World) -> Self {
        Bench {
            emulator: Emulator::start(world).expect("emulator starts"),
            dir: temp_dir(name),
            events: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The demo world.
    pub fn jaffle(name: &str) -> Self {
        Self::new(name, World::jaffle_shop())
    }

    /// A policy allowing the emulator, over plain http to loopback.
    pub fn policy(&self) -> SandboxPolicy {
        SandboxPolicy {
            allowed: vec![Origin::parse(&self.emulator.url()).expect("emulator url")],
            allow_http_loopback: true,
            ..SandboxPolicy::default()
        }
    }

    /// What a session of this bench needs under `policy`: its store, its
    /// event log, and the emulator's token as the secret.
    pub fn options(&self, policy: SandboxPolicy) -> SessionOptions {
        let events = self.events.clone();
        let store = Arc::new(SqliteStore::open(&self.dir.join("history.sqlite")).expect("store"));
        SessionOptions {
            policy,
            store,
            events: Arc::new(move |e| events.lock().expect("events").push(e)),
            secrets: vec![self.emulator.with_world(|w| w.token.clone())],
        }
    }

    /// A new session with `policy`.
    pub async fn session_with(&self, policy: SandboxPolicy) -> Session {
        runtime().instantiate(self.options(policy)).await.expect("instantiates")
    }

    /// A new session allowed to reach the emulator.
    pub async fn session(&self) -> Session {
        self.session_with(self.policy()).await
    }

    /// Settings pointing at the emulator's demo project.
    pub fn settings(&self) -> model_sync_host::ConnectionSettings {
        let token = self.emulator.with_world(|w| w.token.clone());
        model_sync_host::ConnectionSettings {
            api_token: token.into(),
            access_url: Some(self.emulator.url()),
            account_id: Some(dbt_cloud_emulator::world::ids::ACCOUNT),
            project_id: Some(dbt_cloud_emulator::world::ids::PROJECT),
            docs_job_id: None,
            freshness_job_id: None,
        }
    }

    /// A configured session.
    pub async fn configured(&self) -> Session {
        let mut s = self.session().await;
        s.configure(&self.settings()).await.expect("configure succeeds");
        s
    }

    /// The log lines the plugin sent.
    pub fn log_lines(&self) -> Vec<String> {
        self.events
            .lock()
            .expect("events")
            .iter()
            .filter_map(|e| match e {
                Event::Log { level, message } => Some(format!("{level} {message}")),
                _ => None,
            })
            .collect()
    }
}

impl Drop for Bench {
    /// Fails the test if the plugin sent a request the emulator has no route for.
    fn drop(&mut self) {
        let unrouted: Vec<String> = self
            .emulator
            .requests()
            .iter()
            .filter(|r| !r.routed)
            .map(|r| format!("{} {} {:?}", r.method, r.path, r.query))
            .collect();
        if !unrouted.is_empty() && !std::thread::panicking() {
            panic!("requests the emulator has no route for: {unrouted:?}");
        }
    }
}

/// Default sync options.
pub fn options() -> api::SyncOptions {
    model_sync_host::sync_options("test")
}

/// Entries per resource type of a manifest, counted from the JSON itself.
pub fn manifest_counts(manifest: &[u8]) -> std::collections::BTreeMap<String, u32> {
    let doc: serde_json::Value = serde_json::from_slice(manifest).expect("manifest is JSON");
    let mut counts = std::collections::BTreeMap::new();
    for section in ["nodes", "sources", "exposures", "metrics", "semantic_models", "saved_queries", "unit_tests"] {
        if let Some(map) = doc.get(section).and_then(|v| v.as_object()) {
            for (id, node) in map {
                let kind = node
                    .get("resource_type")
                    .and_then(|t| t.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| id.split('.').next().unwrap_or("").to_string());
                *counts.entry(kind).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// A record's counts as a map.
pub fn record_counts(r: &api::SyncRecord) -> std::collections::BTreeMap<String, u32> {
    r.counts.iter().map(|c| (c.resource_type.as_str().to_string(), c.count)).collect()
}

/// A sync's record with the catalog it stored, read back page by page.
#[derive(Debug)]
pub struct Report {
    /// The record `trigger-sync` returned.
    pub sync: api::SyncRecord,
    /// Its catalog, read with `get-catalog`.
    pub catalog: Catalog,
}

/// A catalog read whole.
#[derive(Debug)]
pub struct Catalog {
    /// Every entry, in unique-id order.
    pub nodes: Vec<api::CatalogNode>,
}

/// `trigger-sync` followed by reading the sync's catalog.
pub trait SyncAndRead {
    /// Syncs, then reads the catalog the sync stored.
    async fn sync(&mut self, options: &api::SyncOptions) -> Result<Report, CallError>;
}

impl SyncAndRead for Session {
    async fn sync(&mut self, options: &api::SyncOptions) -> Result<Report, CallError> {
        let sync = self.trigger_sync(options).await?;
        let nodes = self.read_catalog(sync.id, None).await?;
        Ok(Report { sync, catalog: Catalog { nodes } })
    }
}
