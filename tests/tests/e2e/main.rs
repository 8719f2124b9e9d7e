//! The end-to-end tests, one binary: the real component in the real host
//! against the dbt Cloud emulator. One binary links wasmtime once (each test
//! binary is hundreds of megabytes), and the compiled component is shared by
//! every module. `hostile_memory` stays a binary of its own because it reads
//! its process's peak memory.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod connect;
mod contract;
mod corpus;
mod history;
mod layers;
mod sandbox;
mod secrets;
mod sync;
mod wit_reference;
