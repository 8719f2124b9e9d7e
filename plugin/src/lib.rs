//! The dbt Cloud model-sync component.
//!
//! Everything but the WIT glue (`component`, compiled for wasm32 only) is plain
//! Rust that builds and tests natively.
#![deny(missing_docs)]

pub mod api;
pub mod artifacts;
pub mod catalog;
pub mod connect;
pub mod error;
pub mod history;
pub mod http;
pub mod log;
pub mod runs;
pub mod settings;
pub mod sync;
pub mod time;
pub mod token;
pub mod trigger;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod wasi_transport;
