//! The component's stack: 8 MiB instead of wasm-ld's 1 MiB, because parsing
//! SQL for column lineage recurses (sqlparser uses about 50 KiB a nesting
//! level); `lineage` refuses SQL nested deeper than it can parse within this.
//! The stack is part of linear memory, under the host's memory cap.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=8388608");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
