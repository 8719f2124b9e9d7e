//! With the `bundled-plugin` feature (on by default), builds the dbt Cloud
//! component from this repository for wasm32-wasip2 and exports its path as
//! `MODEL_SYNC_PLUGIN_WASM`. A prebuilt component can be given in the
//! environment variable of the same name.

use std::path::PathBuf;

#[path = "build_support.rs"]
mod build_support;

fn main() {
    println!("cargo:rerun-if-env-changed=MODEL_SYNC_PLUGIN_WASM");
    if std::env::var_os("CARGO_FEATURE_BUNDLED_PLUGIN").is_none() {
        return;
    }
    if let Some(prebuilt) = std::env::var_os("MODEL_SYNC_PLUGIN_WASM") {
        println!("cargo:rustc-env=MODEL_SYNC_PLUGIN_WASM={}", PathBuf::from(prebuilt).display());
        return;
    }
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ is inside the workspace");
    for watched in ["wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = build_support::outer_target_dir().unwrap_or_else(|| root.join("target")).join("plugin-wasm");
    let wasm = build_support::build_component(&root.join("plugin/Cargo.toml"), &target_dir, "model_sync_plugin");
    println!("cargo:rustc-env=MODEL_SYNC_PLUGIN_WASM={}", wasm.display());
}
