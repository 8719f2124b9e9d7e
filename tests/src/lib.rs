//! The end-to-end tests of model-sync (in `tests/`), and the test components
//! the build script builds for them once.

/// The deliberately hostile component (`tests/hostile`), built for
/// wasm32-wasip2 by this crate's build script.
pub const HOSTILE_WASM: &str = env!("HOSTILE_WASM");
