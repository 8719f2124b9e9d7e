//! Building a component for wasm32-wasip2 from a build script: shared by the
//! host's build script (the dbt Cloud plugin) and the end-to-end tests' (the
//! hostile test component), through `#[path]`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the package of `manifest` (a `Cargo.toml`) with the `component` profile (release, LTO) for
/// wasm32-wasip2 into `target_dir` (never the outer build's: cargo holds its
/// lock while build scripts run) and returns the path of `<lib_name>.wasm`.
pub fn build_component(manifest: &Path, target_dir: &Path, lib_name: &str) -> PathBuf {
    let src = manifest.parent().expect("a manifest is in a directory");
    println!("cargo:rerun-if-changed={}", src.join("src").display());
    println!("cargo:rerun-if-changed={}", manifest.display());
    ensure_wasm_target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--profile", "component", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_MAKEFLAGS")
        .output()
        .expect("running cargo to build a component");
    if !output.status.success() {
        panic!(
            "building {} for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`):\n{}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    target_dir.join(format!("wasm32-wasip2/component/{lib_name}.wasm"))
}

/// The outer build's target directory: `<target>/<profile>/build/<pkg>-<hash>/out` → `<target>`.
pub fn outer_target_dir() -> Option<PathBuf> {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR")?);
    let target = out_dir.ancestors().nth(4)?;
    target.is_dir().then(|| target.to_path_buf())
}

/// Installs the wasm32-wasip2 standard library through rustup when it is
/// missing, so that a plain `cargo build` works on a fresh machine.
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(sysroot) = Command::new(rustc).args(["--print", "sysroot"]).output() else { return };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib/wasm32-wasip2").is_dir() {
        return;
    }
    println!("cargo:warning=installing the wasm32-wasip2 target with rustup (needed to build components)");
    let _ = Command::new("rustup").args(["target", "add", "wasm32-wasip2"]).status();
}
