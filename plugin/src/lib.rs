//! The dbt Cloud model-sync component.
//!
//! Everything but the WIT glue (`component`, compiled for wasm32 only) is plain
//! Rust that builds and tests natively. Modules, lowest first: `error`, `time`,
//! `token`, `log`, `http`; `settings`; `api` (the dbt Cloud client);
//! `purpose`, `explorer`; `artifacts`, `catalog`, `lineage`, `history`; `runs`, `connect`, `trigger`;
//! `sync`; `component`.
#![deny(missing_docs)]

pub mod api;
pub mod artifacts;
pub mod catalog;
pub mod connect;
pub mod error;
pub mod explorer;
pub mod history;
pub mod http;
pub mod lineage;
pub mod log;
pub mod purpose;
pub mod runs;
pub mod secrets;
pub mod settings;
pub mod sync;
pub mod time;
pub mod token;
pub mod trigger;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(test)]
mod testing;
