//! The dbt Cloud component built from this repository (feature `bundled-plugin`).

/// The component's bytes, when the crate was built with `bundled-plugin`.
#[cfg(feature = "bundled-plugin")]
pub const PLUGIN_WASM: Option<&[u8]> = Some(include_bytes!(env!("MODEL_SYNC_PLUGIN_WASM")));

/// The component's bytes, when the crate was built with `bundled-plugin`.
#[cfg(not(feature = "bundled-plugin"))]
pub const PLUGIN_WASM: Option<&[u8]> = None;
