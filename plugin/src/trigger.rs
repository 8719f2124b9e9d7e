//! Starting a job run and waiting for it to finish.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::api::Client;
use crate::api::models::{Job, Run, status};
use crate::error::{Error, Result};
use crate::log::Logger;
use crate::runs;
use crate::sync::SyncOptions;

/// The default wait for a triggered run.
pub const DEFAULT_WAIT_SECS: u32 = 3600;

/// The first and the longest pause between two polls.
const POLL_FIRST: Duration = Duration::from_millis(500);
const POLL_MAX: Duration = Duration::from_secs(30);

/// Starts `job` and waits for its run to end. The run's `cause` names the sync,
/// so that an attempt whose response was lost can be found instead of starting
/// a second run.
pub fn run_and_wait(client: &Client, job: &Job, sync_id: u64, options: &SyncOptions, log: &Logger) -> Result<Run> {
    let cause = format!("model-sync sync {sync_id} ({})", options.triggered_by);
    let path = format!("{}/jobs/{}/run/", client.v2(), job.id);
    let what = format!("starting job {}", job.id);
    let body = serde_json::json!({ "cause": cause });
    let started = match client.post_data::<Run>(&path, &body, &what) {
        Ok(run) => run,
        Err(Error::Network(m) | Error::Timeout(m) | Error::Upstream(m)) => {
            log.warn(&format!("{what}: {m}; looking for the run before trying again"));
            match find_by_cause(client, job.id, &cause)? {
                Some(run) => run,
                None => client.post_data::<Run>(&path, &body, &what)?,
            }
        }
        Err(e) => return Err(e),
    };
    log.info(&format!(
        "started run {} of job {} ({})",
        started.id,
        job.id,
        started.href.as_deref().unwrap_or("no link")
    ));
    let timeout = Duration::from_secs(options.wait_timeout_secs.unwrap_or(DEFAULT_WAIT_SECS).into());
    wait(client, started, timeout, options.cancel_on_timeout, log)
}

#[derive(Deserialize)]
struct RunWithTrigger {
    id: u64,
    #[serde(default)]
    trigger: Option<Trigger>,
}

#[derive(Deserialize)]
struct Trigger {
    #[serde(default)]
    cause: Option<String>,
}

fn find_by_cause(client: &Client, job_id: u64, cause: &str) -> Result<Option<Run>> {
    let mut found = None;
    client.for_each_page(
        &format!("{}/runs/", client.v2()),
        &[
            ("job_definition_id", job_id.to_string()),
            ("order_by", "-id".to_string()),
            ("include_related", "trigger".to_string()),
        ],
        &format!("the runs of job {job_id}"),
        |page: Vec<RunWithTrigger>| {
            found = page.into_iter().find(|r| r.trigger.as_ref().and_then(|t| t.cause.as_deref()) == Some(cause));
            false
        },
    )?;
    found.map(|r| runs::get_run(client, r.id)).transpose()
}

fn wait(client: &Client, started: Run, timeout: Duration, cancel: bool, log: &Logger) -> Result<Run> {
    let begin = Instant::now();
    let mut pause = POLL_FIRST;
    let mut polls = 0u64;
    loop {
        let run = runs::get_run(client, started.id)?;
        polls += 1;
        log.progress(&format!("waiting for run {}", run.id), polls, None);
        match run.status {
            status::SUCCESS => return Ok(run),
            status::ERROR | status::CANCELLED => {
                let failed_step = run.run_steps.iter().flatten().rfind(|s| s.status == Some(status::ERROR));
                if let Some(step) = failed_step {
                    log.log(
                        crate::log::Level::Error,
                        &format!(
                            "step `{}` failed; its log ends:\n{}",
                            step.name,
                            step.log_tail(20).unwrap_or_default()
                        ),
                    );
                }
                return Err(Error::RunFailed(format!(
                    "run {} {}: {}{} ({})",
                    run.id,
                    if run.status == status::ERROR { "failed" } else { "was cancelled" },
                    run.status_message.as_deref().unwrap_or("no message"),
                    failed_step.map(|s| format!(" in step `{}`", s.name)).unwrap_or_default(),
                    run.href.as_deref().unwrap_or("no link")
                )));
            }
            _ => {}
        }
        let elapsed = begin.elapsed();
        if elapsed >= timeout {
            let mut message = format!(
                "run {} did not finish within {}s (status {}); see {}",
                run.id,
                timeout.as_secs(),
                run.status_humanized.as_deref().unwrap_or("unknown"),
                run.href.as_deref().unwrap_or("dbt Cloud")
            );
            if cancel {
                let path = format!("{}/runs/{}/cancel/", client.v2(), run.id);
                match client.post_data::<Run>(&path, &serde_json::json!({}), &format!("cancelling run {}", run.id)) {
                    Ok(_) => message.push_str("; the run was cancelled"),
                    Err(e) => message.push_str(&format!("; cancelling it failed: {e}")),
                }
            } else {
                message.push_str("; it keeps running in dbt Cloud");
            }
            return Err(Error::Timeout(message));
        }
        std::thread::sleep(pause.min(timeout - elapsed));
        pause = (pause * 3 / 2).min(POLL_MAX);
    }
}
