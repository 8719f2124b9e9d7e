//! The hostile component (`tests/hostile`) and how the sandbox tests run one
//! of its attempts: a fresh instance over its own store, its events kept.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use model_sync_host::{CallError, Event, KvStore, Runtime, SandboxPolicy, Session, SessionOptions, SqliteStore};

/// The hostile component, built once by the build script, loaded once per test binary.
pub fn hostile() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let wasm = std::fs::read(model_sync_e2e::HOSTILE_WASM).expect("the build script built the hostile component");
        Runtime::new(&wasm, Some(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmtime-cache"))).expect("loads")
    })
}

/// One instance of the hostile component, its events and its state directory.
pub struct Attempt {
    /// The instance.
    pub session: Session,
    /// Everything the host reported while it ran.
    pub events: Arc<Mutex<Vec<Event>>>,
    /// Its state directory.
    pub dir: PathBuf,
}

impl Attempt {
    /// The events that `pick` keeps.
    pub fn events<T>(&self, pick: impl Fn(&Event) -> Option<T>) -> Vec<T> {
        self.events.lock().expect("events").iter().filter_map(pick).collect()
    }

    /// The caps the host reported reached.
    pub fn limits_reached(&self) -> Vec<model_sync_host::Limit> {
        self.events(|e| match e {
            Event::LimitReached(l) => Some(*l),
            _ => None,
        })
    }
}

/// A store for an attempt, holding `preset` keys.
fn store(dir: &std::path::Path, preset: &[&str]) -> Arc<SqliteStore> {
    let store = Arc::new(SqliteStore::open(&dir.join("history.sqlite")).expect("store"));
    for key in preset {
        store.set(key, b"1".to_vec()).expect("preset");
    }
    store
}

/// Instantiates the hostile component under `policy` over a store holding
/// the `preset` keys (which its start function reads): the instance, the
/// events it caused, and its state directory.
pub async fn instantiate(
    policy: SandboxPolicy,
    preset: &[&str],
) -> (Result<Session, CallError>, Arc<Mutex<Vec<Event>>>, PathBuf) {
    let dir = super::temp_dir("hostile");
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let session = hostile()
        .instantiate(SessionOptions {
            policy,
            store: store(&dir, preset),
            events: Arc::new(move |e| sink.lock().expect("events").push(e)),
            secrets: vec![],
        })
        .await;
    (session, events, dir)
}

/// A hostile instance under `policy`.
pub async fn attempt_with(policy: SandboxPolicy) -> Attempt {
    let (session, events, dir) = instantiate(policy, &[]).await;
    Attempt { session: session.expect("instantiates"), events, dir }
}

/// Tight limits: 64 MiB of memory, 2 s per call.
pub fn small_policy() -> SandboxPolicy {
    SandboxPolicy { max_memory_bytes: 64 << 20, call_timeout: Duration::from_secs(2), ..SandboxPolicy::default() }
}

/// Settings whose token names the attempt.
pub fn settings(attempt: &str, url: Option<String>) -> model_sync_host::ConnectionSettings {
    model_sync_host::ConnectionSettings {
        api_token: attempt.into(),
        access_url: url,
        account_id: None,
        project_id: None,
        docs_job_id: None,
        freshness_job_id: None,
    }
}

/// Makes the attempt; the warnings are what the component saw.
pub async fn configure(a: &mut Attempt, attempt: &str, url: Option<String>) -> Result<Vec<String>, CallError> {
    a.session.configure(&settings(attempt, url)).await.map(|c| c.warnings)
}
