//! The reference host of model-sync plugins: loads a component with
//! wasmtime, runs each instance in a sandbox (outbound HTTP only to allowed
//! origins, no filesystem, environment or sockets, a memory cap, a deadline per
//! call, HTTP timeouts and a response size cap) and keeps the plugin's
//! key-value store in a state directory.
//!
//! ```no_run
//! # async fn demo(wasm: &[u8]) -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use model_sync_host::{FileStore, Runtime, SandboxPolicy, Origin, SessionOptions, api};
//! let runtime = Runtime::new(wasm, None)?;
//! let policy = SandboxPolicy { allowed: vec![Origin::parse("https://ab123.us1.dbt.com")?], ..Default::default() };
//! let store = Arc::new(FileStore::open(std::path::Path::new("state/kv"), 1 << 30)?);
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
mod convert;
pub mod error;
pub mod kv;
pub mod policy;
pub mod runtime;
pub mod session;
pub mod state;

/// The plugin's types (`Settings`, `SyncRecord`, `Error`...), as bindgen made them.
pub use bindings::exports::modelsync::plugin::model_sync as api;
pub use error::{CallError, ErrorKind, ErrorParts};
pub use kv::FileStore;
pub use policy::{Origin, SandboxPolicy};
pub use runtime::Runtime;
pub use session::{Session, SessionOptions};
pub use state::{Event, EventSink};

/// Options of a plain sync: the latest successful runs, no code, nothing forced.
pub fn sync_options(triggered_by: &str) -> api::SyncOptions {
    api::SyncOptions {
        run_id: None,
        git_branch: None,
        run_job: false,
        wait_timeout_secs: None,
        cancel_on_timeout: false,
        force: false,
        include_code: false,
        triggered_by: triggered_by.to_string(),
    }
}
