//! `dbt-cloud-emulator`: the emulator with the bundled jaffle-shop project as
//! a process of its own, for tests in other languages (the Node.js host's).
//! Prints one JSON line (`url`, `token`, `account_id`, `project_id`,
//! `docs_url`) and serves until its standard input closes.
//!
//! Lines on standard input change the project as a new dbt run would:
//! `artifact NAME PATH` serves the file at `PATH` as artifact `NAME` (such as
//! `manifest.json`) of the documentation job's latest run; `slow TEXT SECONDS`
//! serves the next response whose path contains `TEXT` in 50 pieces over
//! about `SECONDS` (to watch a download's progress); `polls N` makes a
//! triggered run finish after `N` polls (to watch a wait); each line is answered
//! `ok` or `error: ...` on standard output.

use dbt_cloud_emulator::world::ids;
use std::time::Duration;

use dbt_cloud_emulator::{Emulator, FaultKind, World};

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
    for line in std::io::stdin().lines() {
        let Ok(line) = line else { break };
        match command(&emulator, &line) {
            Ok(()) => println!("ok"),
            Err(e) => println!("error: {e}"),
        }
    }
    std::process::ExitCode::SUCCESS
}

/// Carries out one line of standard input.
fn command(emulator: &Emulator, line: &str) -> Result<(), String> {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("artifact"), Some(name), Some(path)) => {
            let body = std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?;
            emulator.with_world(|w| {
                if w.replace_artifact(ids::DOCS_RUN, name, body) {
                    Ok(())
                } else {
                    Err(format!("the docs run has no artifact {name}"))
                }
            })
        }
        (Some("slow"), Some(path), Some(seconds)) => {
            let seconds: f64 = seconds.parse().map_err(|_| format!("{seconds:?} is not a number of seconds"))?;
            let pause = Duration::try_from_secs_f64(seconds / 50.0).map_err(|e| format!("{seconds} seconds: {e}"))?;
            emulator.fault(path, 1, FaultKind::Slow { pieces: 50, pause });
            Ok(())
        }
        (Some("polls"), Some(n), None) => {
            let n: u32 = n.parse().map_err(|_| format!("{n:?} is not a number of polls"))?;
            emulator.with_world(|w| w.polls_until_done = n);
            Ok(())
        }
        _ => Err(format!("unknown command {line:?}: expected `artifact NAME PATH`, `slow TEXT SECONDS` or `polls N`")),
    }
}
