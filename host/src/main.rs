//! `model-sync`: the command line of the reference host.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: host: starting the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::commands::run(&args)) {
        Ok(outcome) => {
            if args.json {
                if let Some(json) = &outcome.json {
                    println!("{}", cli::output::json_text(json, true));
                }
            } else {
                print!("{}", cli::output::styled(&outcome.text));
            }
            std::process::ExitCode::SUCCESS
        }
        Err(f) => {
            let first_line = f.message.lines().next().unwrap_or("").to_string();
            if args.json {
                let doc = serde_json::json!({"error": cli::output::error_json(&f.kind, &f.message)});
                println!("{}", cli::output::json_text(&doc, true));
            } else if f.message.contains('\n') {
                eprint!("{}", cli::output::printable(f.message.split_once('\n').map(|(_, rest)| rest).unwrap_or("")));
            }
            eprintln!("{} {}: {}", cli::output::error_label(), f.kind, cli::output::printable(&first_line));
            std::process::ExitCode::FAILURE
        }
    }
}
