//! Starting a job run and waiting for it to finish.

use std::time::Duration;

use crate::api::Client;
use crate::api::client::RunsQuery;
use crate::api::models::{Run, status};
use crate::error::{Error, Result};
use crate::log::{Level, Logger};

/// The default wait for a triggered run.
pub const DEFAULT_WAIT_SECS: u32 = 3600;

/// The first pause between two polls of a run; it grows by half each time.
const POLL_FIRST: Duration = Duration::from_millis(500);
/// The longest pause between two polls of a run.
const POLL_MAX: Duration = Duration::from_secs(30);

/// How long to wait for a started run, and what to do when that is not enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// The longest wait for the run to finish.
    pub timeout: Duration,
    /// Cancel the run in dbt Cloud when the wait times out (otherwise it keeps running).
    pub cancel_on_timeout: bool,
}

/// Starts `job_id` and waits for its run to end. `cause` is stored with the
/// run and names the sync, so that an attempt whose response was lost is
/// found instead of starting a second run.
pub fn run_and_wait(client: &Client, job_id: u64, cause: &str, wait: WaitOptions, log: &Logger) -> Result<Run> {
    let started = match client.trigger(job_id, cause) {
        Ok(run) => run,
        Err(failure) if failure.may_have_arrived => {
            log.warn(&format!("{}; looking for the run before trying again", failure.error.message()));
            let query = RunsQuery::newest_with_trigger(job_id);
            let found =
                client.find_run(&query, |r| r.trigger.as_ref().and_then(|t| t.cause.as_deref()) == Some(cause))?;
            match found {
                Some(run) => run,
                None => client.trigger(job_id, cause).map_err(|f| f.error)?,
            }
        }
        Err(failure) => return Err(failure.error),
    };
    log.info(&format!("started run {} of job {job_id} ({})", started.id, started.href.as_deref().unwrap_or("no link")));
    poll_until_done(client, started.id, wait, log)
}

/// Polls run `run_id`, with growing pauses, until it ends or `wait` runs out.
fn poll_until_done(client: &Client, run_id: u64, wait: WaitOptions, log: &Logger) -> Result<Run> {
    let clock = client.clock();
    let begin = clock.monotonic();
    let mut pause = POLL_FIRST;
    let mut polls = 0u64;
    loop {
        let run = client.run(run_id)?;
        polls += 1;
        let state = run.status_humanized.as_deref().unwrap_or("in progress");
        log.progress(&format!("waiting for run {}: {state}", run.id), polls, None);
        match run.status {
            status::SUCCESS => return Ok(run),
            status::ERROR | status::CANCELLED => return Err(run_failed(&run, log)),
            _ => {}
        }
        let elapsed = clock.monotonic().saturating_sub(begin);
        if elapsed >= wait.timeout {
            return Err(timed_out(client, &run, wait));
        }
        clock.sleep(pause.min(wait.timeout - elapsed));
        pause = (pause * 3 / 2).min(POLL_MAX);
    }
}

/// The error of a run that failed or was cancelled; logs its failing step's tail.
fn run_failed(run: &Run, log: &Logger) -> Error {
    let failed_step = run.run_steps.iter().flatten().rfind(|s| s.status == Some(status::ERROR));
    if let Some(step) = failed_step {
        log.log(
            Level::Error,
            &format!("step `{}` failed; its log ends:\n{}", step.name, step.log_tail(20).unwrap_or_default()),
        );
    }
    Error::RunFailed(format!(
        "run {} {}: {}{} ({})",
        run.id,
        if run.status == status::ERROR { "failed" } else { "was cancelled" },
        run.status_message.as_deref().unwrap_or("no message"),
        failed_step.map(|s| format!(" in step `{}`", s.name)).unwrap_or_default(),
        run.href.as_deref().unwrap_or("no link")
    ))
}

/// The error of a run still going when the wait ran out; cancels it if asked.
fn timed_out(client: &Client, run: &Run, wait: WaitOptions) -> Error {
    let mut message = format!(
        "run {} did not finish within {}s (status {}); see {}",
        run.id,
        wait.timeout.as_secs(),
        run.status_humanized.as_deref().unwrap_or("unknown"),
        run.href.as_deref().unwrap_or("dbt Cloud")
    );
    if wait.cancel_on_timeout {
        match client.cancel(run.id) {
            Ok(_) => message.push_str("; the run was cancelled"),
            Err(e) => message.push_str(&format!("; cancelling it failed: {e}")),
        }
    } else {
        message.push_str("; it keeps running in dbt Cloud");
    }
    Error::Timeout(message)
}
