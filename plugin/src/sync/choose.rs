//! Choosing the runs a sync reads: the docs run (a given one, a new one, the
//! newest on a branch, or the newest usable one) and the freshness run.

use crate::api::Client;
use crate::api::models::Run;
use crate::connect::Connection;
use crate::error::{Error, Result};
use crate::log::Logger;
use crate::purpose::Purpose;
use crate::trigger::{self, WaitOptions};
use crate::{runs, time};

use super::notes::Notes;
use super::options::SyncOptions;

/// The runs whose artifacts a sync reads.
pub struct ChosenRuns {
    /// The run of manifest.json, run_results.json and catalog.json (with steps).
    pub docs: Run,
    /// The run of sources.json, when there is a usable one.
    pub freshness: Option<Run>,
}

impl ChosenRuns {
    /// The ids of the runs, docs first, to compare with an earlier sync's.
    pub fn ids(&self) -> Vec<u64> {
        std::iter::once(self.docs.id).chain(self.freshness.as_ref().map(|r| r.id)).collect()
    }
}

/// Chooses the docs and freshness runs for sync `sync_id`.
pub fn choose_runs(
    client: &Client,
    connection: &Connection,
    options: &SyncOptions,
    sync_id: u64,
    notes: &mut Notes,
    log: &Logger,
) -> Result<ChosenRuns> {
    let docs = docs_run(client, connection, options, sync_id, log)?;
    log.info(&format!("docs run {} ({})", docs.id, docs.href.as_deref().unwrap_or("no link")));
    let freshness = freshness_run(client, connection, notes, log)?;
    Ok(ChosenRuns { docs, freshness })
}

fn docs_run(
    client: &Client,
    connection: &Connection,
    options: &SyncOptions,
    sync_id: u64,
    log: &Logger,
) -> Result<Run> {
    if let Some(run_id) = options.run_id {
        let run = client.run(run_id)?;
        runs::check_given_run(&run, connection.project.id)?;
        return Ok(run);
    }
    if let Some(pr) = options.pull_request {
        let found = runs::latest_of_pull_request(client, connection.project.id, pr)?;
        let found = found.ok_or_else(|| {
            Error::NotFound(format!(
                "project {} has no successful run with artifacts triggered by pull request {pr} \
                 (CI jobs run on pull requests; check that the pull request's CI run finished)",
                connection.project.id
            ))
        })?;
        return client.run(found.id);
    }
    if let Some(sha) = &options.git_sha {
        if !(7..=40).contains(&sha.len()) || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::setting("git-sha", format!("{sha:?} is not a commit: 7 to 40 hex digits")));
        }
        let found = runs::latest_of_commit(client, connection.project.id, sha)?.ok_or_else(|| {
            Error::NotFound(format!(
                "project {} has no successful run with artifacts of commit {sha}",
                connection.project.id
            ))
        })?;
        return client.run(found.id);
    }
    let job = connection.docs_job.as_ref().map(|j| &j.job).ok_or_else(|| {
        Error::NotFound(format!(
            "project {} has no documentation job; set one in dbt Cloud (project Artifacts settings) or configure docs-job-id",
            connection.project.id
        ))
    })?;
    if options.run_job {
        let cause = format!("model-sync sync {sync_id} ({})", options.triggered_by);
        let wait = WaitOptions {
            timeout: std::time::Duration::from_secs(
                options.wait_timeout_secs.unwrap_or(trigger::DEFAULT_WAIT_SECS).into(),
            ),
            cancel_on_timeout: options.cancel_on_timeout,
        };
        return trigger::run_and_wait(client, job.id, &cause, wait, log);
    }
    let found = match &options.git_branch {
        Some(branch) => runs::latest_on_branch(client, job.id, Purpose::Docs, branch)?.ok_or_else(|| {
            Error::NotFound(format!("docs job {} has no successful run on branch `{branch}`", job.id))
        })?,
        None => runs::latest_usable(client, job.id, Purpose::Docs)?.ok_or_else(|| {
            Error::NotFound(format!(
                "docs job {} ({}) has no successful run with artifacts; run it in dbt Cloud first",
                job.id, job.name
            ))
        })?,
    };
    client.run(found.id)
}

fn freshness_run(client: &Client, connection: &Connection, notes: &mut Notes, log: &Logger) -> Result<Option<Run>> {
    let Some(job) = &connection.freshness_job else {
        notes.warn(log, "no source freshness job: the catalog has no freshness data".to_string());
        return Ok(None);
    };
    match runs::latest_usable(client, job.job.id, Purpose::Freshness)? {
        Some(r) => client.run(r.id).map(Some),
        None => {
            let id = job.job.id;
            notes.warn(log, format!("freshness job {id} has no successful run with sources.json; no freshness data"));
            Ok(None)
        }
    }
}

/// What the history keeps of a run a sync read.
pub fn run_used(run: &Run, purpose: Purpose, artifacts: Vec<String>) -> crate::history::RunUsed {
    crate::history::RunUsed {
        job_id: run.job_definition_id.unwrap_or(0),
        run_id: run.id,
        purpose,
        artifacts,
        href: run.href.clone(),
        git_branch: run.git_branch.clone(),
        git_sha: run.git_sha.clone(),
        finished_at: run.finished_at.as_deref().map(time::normalize),
        pull_request: run.trigger.as_ref().and_then(|t| t.pull_request()),
    }
}
