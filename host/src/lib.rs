//! The reference host of model-sync plugins: loads a component with
//! wasmtime, runs each instance in a sandbox (outbound HTTP only to allowed
//! origins, no filesystem, environment or sockets, a memory cap, a deadline per
//! call, HTTP timeouts and a response size cap) and keeps the plugin's sync
//! history in a [`KvStore`]: [`SqliteStore`], or a workbench's own.
//!
//! ```no_run
//! # async fn demo(wasm: &[u8]) -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use model_sync_host::{SqliteStore, Runtime, SandboxPolicy, Origin, SessionOptions, api};
//! let runtime = Runtime::new(wasm, None)?;
//! let policy = SandboxPolicy { allowed: vec![Origin::parse("https://ab123.us1.dbt.com")?], ..Default::default() };
//! let store = Arc::new(SqliteStore::open(std::path::Path::new("state/history.sqlite"))?);
//! let mut session = runtime
//!     .instantiate(SessionOptions { policy, store, events: Arc::new(|e| eprintln!("{e:?}")), secrets: vec![] })
//!     .await?;
//! let syncs = session.list_syncs(None).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

#[allow(missing_docs)]
pub mod bindings;
pub mod bundled;
pub mod cache;
mod convert;
pub mod error;
pub mod events;
pub mod kv;
pub mod limits;
mod names;
pub mod policy;
pub mod private;
pub mod redact;
pub mod runtime;
pub mod session;
pub mod settings;
pub mod sqlite;
pub mod state;

/// The plugin's types (`Settings`, `SyncRecord`, `Error`...), as bindgen made them.
pub use bindings::exports::modelsync::plugin::model_sync as api;
pub use error::{CallError, ErrorKind, ErrorParts};
pub use events::{Event, EventSink};
pub use kv::{KvError, KvOp, KvStore, MemoryStore};
pub use limits::Limit;
pub use policy::{Origin, SandboxPolicy};
pub use redact::Redactor;
pub use runtime::Runtime;
pub use session::{Session, SessionOptions};
pub use settings::{ApiToken, ConnectionSettings};
pub use sqlite::SqliteStore;

/// How many syncs keep their catalog by default; older syncs keep their
/// records and logs.
pub const DEFAULT_KEEP_CATALOGS: u32 = 30;

/// Options of a plain sync: the latest successful runs, code kept, nothing
/// forced, the catalogs of the newest [`DEFAULT_KEEP_CATALOGS`] syncs kept.
pub fn sync_options(triggered_by: &str) -> api::SyncOptions {
    api::SyncOptions {
        run_id: None,
        git_branch: None,
        pull_request: None,
        git_sha: None,
        run_job: false,
        wait_timeout_secs: None,
        cancel_on_timeout: false,
        force: false,
        exclude_code: false,
        keep_catalogs: Some(DEFAULT_KEEP_CATALOGS),
        triggered_by: triggered_by.to_string(),
    }
}
