//! The `model-sync` command line.

pub mod args;
pub mod columns;
pub mod commands;
pub mod output;
pub mod screen;
pub mod state;
