//! With the `bundled-plugin` feature (on by default), builds the dbt Cloud
//! component from this repository for wasm32-wasip2, in a target directory of
//! its own (the outer cargo holds the lock on the main one), and exports its
//! path as `MODEL_SYNC_PLUGIN_WASM`. A prebuilt component can be given in the
//! environment variable of the same name.

use std::path::{Path, PathBuf};
use std::process::Command;

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
    for watched in ["plugin/src", "plugin/Cargo.toml", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = workspace_target_dir(&out_dir).unwrap_or_else(|| root.join("target")).join("plugin-wasm");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ensure_wasm_target();
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["build", "-p", "model-sync-plugin", "--target", "wasm32-wasip2", "--release", "--target-dir"])
        .arg(&target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_MAKEFLAGS")
        .output()
        .expect("running cargo to build the plugin");
    if !output.status.success() {
        panic!(
            "building the plugin component failed (is the target installed? `rustup target add wasm32-wasip2`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let wasm = target_dir.join("wasm32-wasip2/release/model_sync_plugin.wasm");
    println!("cargo:rustc-env=MODEL_SYNC_PLUGIN_WASM={}", wasm.display());
}

/// `<target>/<profile>/build/<pkg>-<hash>/out` → `<target>`.
fn workspace_target_dir(out_dir: &Path) -> Option<PathBuf> {
    let target = out_dir.ancestors().nth(4)?;
    target.is_dir().then(|| target.to_path_buf())
}

/// Installs the wasm32-wasip2 standard library through rustup when it is
/// missing, so that a plain `cargo build` works on a fresh machine.
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output();
    let Ok(sysroot) = sysroot else { return };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib/wasm32-wasip2").is_dir() {
        return;
    }
    println!("cargo:warning=installing the wasm32-wasip2 target with rustup (needed to build the plugin)");
    let _ = Command::new("rustup").args(["target", "add", "wasm32-wasip2"]).status();
}
