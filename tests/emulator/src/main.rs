//! `dbt-cloud-emulator`: the emulator with the bundled jaffle-shop project as
//! a process of its own, for tests in other languages (the Node.js host's).
//! Prints one JSON line (`url`, `token`, `account_id`, `project_id`,
//! `docs_url`) and serves until its standard input closes.

use dbt_cloud_emulator::world::ids;
use dbt_cloud_emulator::{Emulator, World};

fn main() -> std::process::ExitCode {
    let port = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    let emulator = match Emulator::start_on(World::jaffle_shop(), port) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: the emulator could not listen on 127.0.0.1:{port}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let token = emulator.with_world(|w| w.token.clone());
    let url = emulator.url();
    let ready = serde_json::json!({
        "url": url,
        "token": token,
        "account_id": ids::ACCOUNT,
        "project_id": ids::PROJECT,
        "docs_url": format!("{url}/deploy/{}/projects/{}/jobs", ids::ACCOUNT, ids::PROJECT),
    });
    println!("{ready}");
    // Serve until whoever started us closes our stdin (or dies).
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    std::process::ExitCode::SUCCESS
}
