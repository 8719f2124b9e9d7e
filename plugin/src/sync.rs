//! `trigger-sync`: choose the runs, download and parse their artifacts, build
//! the catalog and record the sync.

use std::io::Read;

use serde::de::DeserializeOwned;

use crate::api::Client;
use crate::api::models::Run;
use crate::artifacts::{self, Counting};
use crate::catalog::{self, Catalog, Inputs};
use crate::connect::{Connection, Purpose};
use crate::error::{Error, Result};
use crate::history::{self, History, RunUsed, SyncRecord, SyncStatus};
use crate::log::{Level, Logger};
use crate::{runs, time, trigger};

/// How to choose runs (mirrors the WIT `sync-options`).
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// A given docs run.
    pub run_id: Option<u64>,
    /// The latest run on this branch.
    pub git_branch: Option<String>,
    /// Start the docs job and wait.
    pub run_job: bool,
    /// How long to wait.
    pub wait_timeout_secs: Option<u32>,
    /// Cancel on timeout.
    pub cancel_on_timeout: bool,
    /// Download again even if the runs did not change.
    pub force: bool,
    /// Keep code.
    pub include_code: bool,
    /// Who asked.
    pub triggered_by: String,
}

/// Runs a sync and records it. The record is written when the sync starts
/// (status running) and again when it ends, so an interrupted sync shows.
pub fn run(
    client: &Client,
    connection: &Connection,
    options: &SyncOptions,
    history: &History,
    log: &Logger,
) -> Result<(SyncRecord, Catalog)> {
    let id = history.next_id()?;
    let mut record = SyncRecord {
        id,
        status: SyncStatus::Running,
        triggered_by: if options.triggered_by.is_empty() { "unknown".into() } else { options.triggered_by.clone() },
        started_at: time::now_rfc3339(),
        finished_at: None,
        runs: Vec::new(),
        counts: Default::default(),
        warnings: Vec::new(),
        error: None,
        changes: None,
        log: Vec::new(),
    };
    history.save(&record)?;
    log.info(&format!(
        "sync {id} of project {} ({}) on {}",
        connection.project.id, connection.project.name, connection.api_base_url
    ));
    let outcome = perform(client, connection, options, history, log, &mut record);
    record.finished_at = Some(time::now_rfc3339());
    match outcome {
        Ok(catalog) => {
            record.counts = catalog.counts();
            record.status =
                if record.warnings.is_empty() { SyncStatus::Succeeded } else { SyncStatus::SucceededWithWarnings };
            log.info(&format!("sync {id} finished: {} entries", catalog.nodes.len()));
            history.save_catalog(id, &catalog)?;
            record.log = log.lines();
            history.save(&record)?;
            Ok((record, catalog))
        }
        Err(e) => {
            log.log(Level::Error, &format!("sync {id} failed: {e}"));
            record.status = SyncStatus::Failed;
            record.error = Some(e.clone());
            record.log = log.lines();
            // The failure itself is what the caller needs; a failed write of its
            // record is secondary.
            let _ = history.save(&record);
            Err(e)
        }
    }
}

fn warn(record: &mut SyncRecord, log: &Logger, message: String) {
    log.warn(&message);
    record.warnings.push(message);
}

fn perform(
    client: &Client,
    connection: &Connection,
    options: &SyncOptions,
    history: &History,
    log: &Logger,
    record: &mut SyncRecord,
) -> Result<Catalog> {
    let docs_job = connection.docs_job.as_ref();
    let docs_run: Run = if let Some(run_id) = options.run_id {
        let run = runs::get_run(client, run_id)?;
        runs::check_given_run(&run, connection.project.id)?;
        run
    } else {
        let job = docs_job.ok_or_else(|| {
            Error::NotFound(format!(
                "project {} has no documentation job; set one in dbt Cloud (project Artifacts settings) or configure docs-job-id",
                connection.project.id
            ))
        })?;
        if options.run_job {
            trigger::run_and_wait(client, &job.job, record.id, options, log)?
        } else if let Some(branch) = &options.git_branch {
            let run = runs::latest_on_branch(client, job.job.id, Purpose::Docs, branch)?.ok_or_else(|| {
                Error::NotFound(format!("docs job {} has no successful run on branch `{branch}`", job.job.id))
            })?;
            runs::get_run(client, run.id)?
        } else {
            let run = runs::latest_usable(client, job.job.id, Purpose::Docs)?.ok_or_else(|| {
                Error::NotFound(format!(
                    "docs job {} ({}) has no successful run with artifacts; run it in dbt Cloud first",
                    job.job.id, job.job.name
                ))
            })?;
            runs::get_run(client, run.id)?
        }
    };
    log.info(&format!("docs run {} ({})", docs_run.id, docs_run.href.as_deref().unwrap_or("no link")));

    let freshness_run = match &connection.freshness_job {
        Some(job) => match runs::latest_usable(client, job.job.id, Purpose::Freshness)? {
            Some(r) => Some(runs::get_run(client, r.id)?),
            None => {
                warn(
                    record,
                    log,
                    format!("freshness job {} has no successful run with sources.json; no freshness data", job.job.id),
                );
                None
            }
        },
        None => {
            warn(record, log, "no source freshness job: the catalog has no freshness data".to_string());
            None
        }
    };

    let previous = history.latest_successful()?;
    let run_ids: Vec<u64> = std::iter::once(docs_run.id).chain(freshness_run.as_ref().map(|r| r.id)).collect();
    if let Some(prev) = previous.as_ref().filter(|_| !options.force)
        && prev.runs.iter().map(|r| r.run_id).collect::<Vec<_>>() == run_ids
        && let Ok(Some(catalog)) = history.catalog(prev.id)
    {
        log.info(&format!(
            "the runs are those of sync {}: reusing its catalog without downloading (force downloads again)",
            prev.id
        ));
        record.runs = prev.runs.clone();
        record.changes = Some(history::diff(prev.id, &catalog, &catalog));
        return Ok(catalog);
    }

    let mut docs_artifacts = vec!["manifest.json".to_string()];
    let manifest: artifacts::manifest::Manifest = artifacts::lenient::with_code(options.include_code, || {
        download(client, log, docs_run.id, "manifest.json", None)
    })?
    .ok_or_else(|| Error::NotFound(format!("run {} saved no manifest.json; the sync needs it", docs_run.id)))?;
    if let Some(w) = manifest.metadata.check("manifest.json", "manifest")? {
        warn(record, log, w);
    }
    let step = runs::results_step(&docs_run);
    let run_results: Option<artifacts::run_results::RunResults> =
        download(client, log, docs_run.id, "run_results.json", step)?;
    match &run_results {
        Some(r) => {
            if let Some(w) = r.metadata.check("run_results.json", "run-results")? {
                warn(record, log, w);
            }
            docs_artifacts.push("run_results.json".into());
            if !r.executes_nodes() {
                warn(
                    record,
                    log,
                    format!(
                        "run_results.json of run {} comes from `dbt {}`, which runs no models or tests: no run statuses",
                        docs_run.id,
                        r.which().unwrap_or("?")
                    ),
                );
            }
        }
        None => {
            warn(record, log, format!("run {} has no run_results.json: no run statuses or test results", docs_run.id))
        }
    }
    let warehouse: Option<artifacts::warehouse::WarehouseCatalog> =
        download(client, log, docs_run.id, "catalog.json", None)?;
    match &warehouse {
        Some(_) => docs_artifacts.push("catalog.json".into()),
        None => log.info("no catalog.json in the docs run: column types only where documented"),
    }
    record.runs.push(run_used(&docs_run, Purpose::Docs, docs_artifacts));

    let mut sources = None;
    if let Some(run) = &freshness_run {
        let mut found: Option<artifacts::sources::Sources> = download(client, log, run.id, "sources.json", None)?;
        if found.is_none()
            && let Some(step) = runs::freshness_step(run)
        {
            found = download(client, log, run.id, "sources.json", Some(step))?;
        }
        match found {
            Some(s) => {
                if let Some(w) = s.metadata.check("sources.json", "sources")? {
                    warn(record, log, w);
                }
                record.runs.push(run_used(run, Purpose::Freshness, vec!["sources.json".into()]));
                sources = Some(s);
            }
            None => warn(record, log, format!("freshness run {} has no sources.json: no freshness data", run.id)),
        }
    }

    let catalog =
        catalog::build(manifest, Inputs { run_results, sources, warehouse, include_code: options.include_code });
    if let Some(prev) = previous
        && let Ok(Some(prev_catalog)) = history.catalog(prev.id)
    {
        let changes = history::diff(prev.id, &prev_catalog, &catalog);
        log.info(&format!(
            "since sync {}: {} added, {} removed, {} modified",
            prev.id, changes.added, changes.removed, changes.modified
        ));
        record.changes = Some(changes);
    }
    Ok(catalog)
}

fn run_used(run: &Run, purpose: Purpose, artifacts: Vec<String>) -> RunUsed {
    RunUsed {
        job_id: run.job_definition_id.unwrap_or(0),
        run_id: run.id,
        purpose: purpose.as_str().to_string(),
        artifacts,
        href: run.href.clone(),
        git_branch: run.git_branch.clone(),
        git_sha: run.git_sha.clone(),
        finished_at: run.finished_at.as_deref().map(time::normalize),
    }
}

/// Downloads and parses an artifact of a run as a stream; none when the run
/// does not have it.
fn download<T: DeserializeOwned>(
    client: &Client,
    log: &Logger,
    run_id: u64,
    name: &str,
    step: Option<u32>,
) -> Result<Option<T>> {
    let mut path = format!("{}/runs/{run_id}/artifacts/{name}", client.v2());
    if let Some(step) = step {
        path.push_str(&format!("?step={step}"));
    }
    let what = format!("{name} of run {run_id}");
    log.log(Level::Debug, &format!("downloading {what}"));
    let step_label = format!("download {name}");
    let result = client.get_stream(&path, &what, |body: &mut dyn Read| {
        let counting = Counting::new(body, |bytes| log.progress(&step_label, bytes, None));
        artifacts::parse::<T>(name, counting)
    });
    match result {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
