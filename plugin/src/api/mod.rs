//! The dbt Cloud Administrative API: the client, its typed responses and errors.

pub mod client;
pub mod models;
pub mod retry;

pub use client::Client;
