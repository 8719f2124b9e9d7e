//! `trigger-sync`: choose the runs, reuse the previous catalog or fetch and
//! parse the artifacts, build the catalog, store what the history lacks of
//! it, compare it with the previous sync, and record the sync.

mod choose;
mod fetch;
mod notes;
mod options;

use crate::api::Client;
use crate::artifacts::manifest::{CodePolicy, KeepCode, SkipCode};
use crate::catalog::{self, Catalog};
use crate::connect::Connection;
use crate::error::Result;
use crate::explorer::Explorer;
use crate::history::{ChangeSummary, History, Root, SyncRecord, SyncStatus, changes};
use crate::lineage;
use crate::log::{Level, Logger};
use crate::time;

use choose::ChosenRuns;
use notes::Notes;
pub use options::SyncOptions;

/// Runs a sync and records it. The record is written when the sync starts
/// (status running) and again, with the catalog's index, when it ends, so an
/// interrupted sync shows and never leaves half a catalog.
pub fn run(
    client: &Client,
    connection: &Connection,
    options: &SyncOptions,
    history: &History,
    log: &Logger,
) -> Result<SyncRecord> {
    let clock = client.clock();
    let mut record = SyncRecord::started(history.next_id()?, &options.triggered_by, time::now_rfc3339(clock));
    let id = record.id;
    history.save(&record)?;
    log.info(&format!(
        "sync {id} of project {} ({}) on {}",
        connection.project.id, connection.project.name, connection.api_base_url
    ));
    let mut notes = Notes::default();
    let outcome = perform(client, connection, options, history, &mut notes, &mut record, log);
    record.finished_at = Some(time::now_rfc3339(clock));
    record.warnings = notes.into_warnings();
    match outcome {
        Ok(root) => {
            record.status =
                if record.warnings.is_empty() { SyncStatus::Succeeded } else { SyncStatus::SucceededWithWarnings };
            log.info(&format!("sync {id} finished: {} entries", root.entries));
            record.log = log.lines();
            history.commit(&record, Some(&root))?;
            record.has_catalog = true;
            if let Some(keep) = options.keep_catalogs {
                retain(history, keep, log);
            }
            Ok(record)
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

/// Applies the retention asked for; a failure is logged, not fatal, as the
/// sync itself is committed.
fn retain(history: &History, keep: u32, log: &Logger) {
    match history.prune(keep as usize) {
        Ok(r) if r.pruned > 0 || r.entries_deleted > 0 => log.info(&format!(
            "retention (newest {keep} catalogs): dropped {} catalogs and {} stored parts, {} bytes",
            r.pruned, r.entries_deleted, r.bytes_freed
        )),
        Ok(_) => {}
        Err(e) => log.warn(&format!("retention (newest {keep} catalogs) failed, nothing was lost: {e}")),
    }
}

/// The steps of a sync between its two record writes; returns the index root
/// of the catalog, stored but not yet committed.
fn perform(
    client: &Client,
    connection: &Connection,
    options: &SyncOptions,
    history: &History,
    notes: &mut Notes,
    record: &mut SyncRecord,
    log: &Logger,
) -> Result<Root> {
    let chosen = choose::choose_runs(client, connection, options, record.id, notes, log)?;
    let previous = history.latest_baseline()?;
    let previous_root = match &previous {
        Some(p) => history.root(p.id)?,
        None => None,
    };
    if !options.force
        && let (Some(previous), Some(root)) = (&previous, &previous_root)
        && previous.runs.iter().map(|r| r.run_id).collect::<Vec<_>>() == chosen.ids()
    {
        log.info(&format!(
            "the runs are those of sync {}: reusing its catalog without downloading (force downloads again)",
            previous.id
        ));
        record.runs = previous.runs.clone();
        record.counts = previous.counts.clone();
        record.column_lineage = previous.column_lineage.clone();
        record.changes = Some(ChangeSummary::unchanged(previous.id));
        return Ok(root.clone());
    }
    let catalog = if options.exclude_code {
        fetch_and_build::<SkipCode>(client, connection, &chosen, notes, record, log)?
    } else {
        fetch_and_build::<KeepCode>(client, connection, &chosen, notes, record, log)?
    };
    record.counts = catalog.counts();
    let mut known = match &previous_root {
        Some(root) => history.known(root)?,
        None => Default::default(),
    };
    let root = timed(client, log, "catalog stored", || history.store_catalog(&catalog, &mut known))?;
    if let (Some(previous), Some(before)) = (&previous, &previous_root) {
        let changes =
            timed(client, log, "compared with the previous catalog", || history.index_changes(Some(before), &root))?;
        let summary = changes::summarize(previous.id, &changes);
        log.info(&format!(
            "since sync {}: {} added, {} removed, {} modified",
            previous.id, summary.added, summary.removed, summary.modified
        ));
        record.changes = Some(summary);
    }
    Ok(root)
}

/// Downloads and parses the chosen runs' artifacts and builds the catalog,
/// each entry linked to its page in dbt Explorer, each model column to the
/// upstream columns its compiled SQL reads.
fn fetch_and_build<C: CodePolicy>(
    client: &Client,
    connection: &Connection,
    chosen: &ChosenRuns,
    notes: &mut Notes,
    record: &mut SyncRecord,
    log: &Logger,
) -> Result<Catalog> {
    let fetched = fetch::fetch::<C>(client, chosen, notes, log)?;
    record.runs = fetched.runs;
    let adapter = fetched.manifest.metadata.adapter_type.clone();
    let mut catalog = timed(client, log, "catalog built", || catalog::build(fetched.manifest, fetched.inputs));
    let explorer = Explorer {
        base_url: connection.api_base_url.clone(),
        account_id: connection.account.id,
        project_id: connection.project.id,
        environment_id: connection.docs_job.as_ref().and_then(|j| j.job.environment_id),
    };
    catalog.link(&explorer);
    let started = client.clock().monotonic();
    let coverage = lineage::annotate(&mut catalog, adapter.as_deref());
    let took = client.clock().monotonic().saturating_sub(started);
    if coverage.models > 0 {
        log.info(&format!(
            "column lineage: {} of {} model columns ({:.1}%) traced to upstream columns in {} models' compiled SQL ({} ms)",
            coverage.resolved,
            coverage.columns,
            coverage.percent(),
            coverage.models - coverage.unparsed,
            took.as_millis()
        ));
        if coverage.unparsed > 0 {
            notes.warn(
                log,
                format!(
                    "{} models' SQL could not be followed for column lineage (they keep node-level lineage): {}",
                    coverage.unparsed,
                    coverage.unparsed_examples.join("; ")
                ),
            );
        }
        record.column_lineage = Some(coverage);
    }
    Ok(catalog)
}

/// Runs `step`, logging how long it took at debug level (`-v`; the benchmark reads these).
fn timed<T>(client: &Client, log: &Logger, what: &str, step: impl FnOnce() -> T) -> T {
    let started = client.clock().monotonic();
    let out = step();
    log.debug(&format!("{what} in {} ms", client.clock().monotonic().saturating_sub(started).as_millis()));
    out
}

#[cfg(test)]
mod tests;
