//! `trigger-sync`: choose the runs, reuse the previous catalog or fetch and
//! parse the artifacts, build the catalog, compare it with the previous sync,
//! and record the sync.

mod choose;
mod fetch;
mod notes;
mod options;

use crate::api::Client;
use crate::artifacts::manifest::{CodePolicy, KeepCode, SkipCode};
use crate::catalog::{self, Catalog};
use crate::connect::Connection;
use crate::error::Result;
use crate::history::{self, History, SyncRecord, SyncStatus};
use crate::log::{Level, Logger};
use crate::time;

use choose::ChosenRuns;
use notes::Notes;
pub use options::SyncOptions;

/// Runs a sync and records it. The record is written when the sync starts
/// (status running) and again when it ends, so an interrupted sync shows.
pub fn run(
    client: &Client,
    connection: &Connection,
    options: &SyncOptions,
    history: &History,
    log: &Logger,
) -> Result<(SyncRecord, Catalog)> {
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

/// The steps of a sync between its two record writes.
fn perform(
    client: &Client,
    connection: &Connection,
    options: &SyncOptions,
    history: &History,
    notes: &mut Notes,
    record: &mut SyncRecord,
    log: &Logger,
) -> Result<Catalog> {
    let chosen = choose::choose_runs(client, connection, options, record.id, notes, log)?;
    let previous = history.latest_successful()?;
    if !options.force
        && let Some(catalog) = reuse(history, previous.as_ref(), &chosen, record, log)
    {
        return Ok(catalog);
    }
    let catalog = if options.include_code {
        fetch_and_build::<KeepCode>(client, &chosen, notes, record, log)?
    } else {
        fetch_and_build::<SkipCode>(client, &chosen, notes, record, log)?
    };
    if let Some(previous) = previous {
        compare(history, &previous, &catalog, record, log);
    }
    Ok(catalog)
}

/// The previous sync's catalog when it read exactly the chosen runs: nothing
/// is downloaded again.
fn reuse(
    history: &History,
    previous: Option<&SyncRecord>,
    chosen: &ChosenRuns,
    record: &mut SyncRecord,
    log: &Logger,
) -> Option<Catalog> {
    let previous = previous?;
    if previous.runs.iter().map(|r| r.run_id).collect::<Vec<_>>() != chosen.ids() {
        return None;
    }
    let catalog = history.catalog(previous.id).ok().flatten()?;
    log.info(&format!(
        "the runs are those of sync {}: reusing its catalog without downloading (force downloads again)",
        previous.id
    ));
    record.runs = previous.runs.clone();
    record.changes = Some(history::ChangeSummary::unchanged(previous.id));
    Some(catalog)
}

/// Downloads and parses the chosen runs' artifacts and builds the catalog.
fn fetch_and_build<C: CodePolicy>(
    client: &Client,
    chosen: &ChosenRuns,
    notes: &mut Notes,
    record: &mut SyncRecord,
    log: &Logger,
) -> Result<Catalog> {
    let fetched = fetch::fetch::<C>(client, chosen, notes, log)?;
    record.runs = fetched.runs;
    Ok(catalog::build(fetched.manifest, fetched.inputs))
}

/// Records what changed since the previous successful sync.
fn compare(history: &History, previous: &SyncRecord, catalog: &Catalog, record: &mut SyncRecord, log: &Logger) {
    let Ok(Some(before)) = history.catalog(previous.id) else { return };
    let changes = history::diff(previous.id, &before, catalog);
    log.info(&format!(
        "since sync {}: {} added, {} removed, {} modified",
        previous.id, changes.added, changes.removed, changes.modified
    ));
    record.changes = Some(changes);
}

#[cfg(test)]
mod tests;
