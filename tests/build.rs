//! Builds the test components once, before the tests run: the hostile
//! component of the sandbox tests, exported as `HOSTILE_WASM`.

use std::path::PathBuf;

#[path = "../host/build_support.rs"]
mod build_support;

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed={}", here.join("../wit").display());
    let target_dir = build_support::outer_target_dir().unwrap_or_else(|| here.join("../target")).join("hostile-wasm");
    let wasm = build_support::build_component(&here.join("hostile/Cargo.toml"), &target_dir, "hostile_plugin");
    println!("cargo:rustc-env=HOSTILE_WASM={}", wasm.display());
}
