//! Downloading and parsing the artifacts of the chosen runs, as streams.

use crate::api::Client;
use crate::api::client::Ahead;
use crate::api::models::Run;
use crate::artifacts::manifest::{CodePolicy, Manifest};
use crate::artifacts::{self, Counting, Metadata};
use crate::catalog::Inputs;
use crate::error::{Error, Result};
use crate::history::RunUsed;
use crate::log::Logger;
use crate::purpose::Purpose;
use crate::runs;

use super::choose::{ChosenRuns, run_used};
use super::notes::Notes;

/// The parsed artifacts of a sync's runs, and which runs gave which files.
pub struct Fetched<C: CodePolicy> {
    /// The docs run's manifest.
    pub manifest: Manifest<C>,
    /// Run results, freshness and warehouse catalog, where the runs had them.
    pub inputs: Inputs,
    /// The runs read, with the artifacts each gave.
    pub runs: Vec<RunUsed>,
}

/// Downloads and parses every artifact of `chosen`; SQL is kept or skipped as `C` says.
/// The requests go out together (the host fetches them side by side) and
/// are read one after another, each parsed as it streams in.
pub fn fetch<C: CodePolicy>(
    client: &Client,
    chosen: &ChosenRuns,
    notes: &mut Notes,
    log: &Logger,
) -> Result<Fetched<C>> {
    let docs = &chosen.docs;
    let manifest_ahead = client.start_artifact(docs.id, "manifest.json", None);
    let results_ahead = client.start_artifact(docs.id, "run_results.json", runs::results_step(docs));
    let catalog_ahead = client.start_artifact(docs.id, "catalog.json", None);
    let sources_ahead = chosen.freshness.as_ref().map(|run| client.start_artifact(run.id, "sources.json", None));

    let mut names = vec!["manifest.json".to_string()];
    let manifest: Manifest<C> = download(client, log, manifest_ahead)?
        .ok_or_else(|| Error::NotFound(format!("run {} saved no manifest.json; the sync needs it", docs.id)))?;
    check_version(&manifest.metadata, "manifest.json", "manifest", notes, log)?;
    let run_results = run_results(client, docs, results_ahead, notes, log)?;
    if run_results.is_some() {
        names.push("run_results.json".into());
    }
    let warehouse: Option<artifacts::warehouse::WarehouseCatalog> = download(client, log, catalog_ahead)?;
    match &warehouse {
        Some(_) => names.push("catalog.json".into()),
        None => log.info("no catalog.json in the docs run: column types only where documented"),
    }
    let mut runs = vec![run_used(docs, Purpose::Docs, names)];
    let mut sources = None;
    if let (Some(run), Some(ahead)) = (&chosen.freshness, sources_ahead) {
        sources = freshness(client, run, ahead, notes, log)?;
        if sources.is_some() {
            runs.push(run_used(run, Purpose::Freshness, vec!["sources.json".into()]));
        }
    }
    Ok(Fetched { manifest, inputs: Inputs { run_results, sources, warehouse }, runs })
}

/// run_results.json of the docs run's build step (a trailing `docs generate`
/// step writes one without test outcomes), started as `ahead`.
fn run_results(
    client: &Client,
    run: &Run,
    ahead: Ahead<'_>,
    notes: &mut Notes,
    log: &Logger,
) -> Result<Option<artifacts::run_results::RunResults>> {
    let Some(results) = download::<artifacts::run_results::RunResults>(client, log, ahead)? else {
        notes.warn(log, format!("run {} has no run_results.json: no run statuses or test results", run.id));
        return Ok(None);
    };
    check_version(&results.metadata, "run_results.json", "run-results", notes, log)?;
    if !results.executes_nodes() {
        notes.warn(
            log,
            format!(
                "run_results.json of run {} comes from `dbt {}`, which runs no models or tests: no run statuses",
                run.id,
                results.which().unwrap_or("?")
            ),
        );
    }
    Ok(Some(results))
}

/// sources.json of the freshness run: of its last step (started as `ahead`),
/// else of the step that ran `dbt source freshness`.
fn freshness(
    client: &Client,
    run: &Run,
    ahead: Ahead<'_>,
    notes: &mut Notes,
    log: &Logger,
) -> Result<Option<artifacts::sources::Sources>> {
    let mut found: Option<artifacts::sources::Sources> = download(client, log, ahead)?;
    if found.is_none()
        && let Some(step) = runs::freshness_step(run)
    {
        found = download(client, log, client.start_artifact(run.id, "sources.json", Some(step)))?;
    }
    match &found {
        Some(s) => check_version(&s.metadata, "sources.json", "sources", notes, log)?,
        None => notes.warn(log, format!("freshness run {} has no sources.json: no freshness data", run.id)),
    }
    Ok(found)
}

fn check_version(metadata: &Metadata, artifact: &str, kind: &str, notes: &mut Notes, log: &Logger) -> Result<()> {
    if let Some(w) = metadata.check(artifact, kind)? {
        notes.warn(log, w);
    }
    Ok(())
}

/// Reads and parses an artifact started ahead as a stream, reporting
/// progress; none when the run does not have it.
fn download<T: artifacts::Artifact>(client: &Client, log: &Logger, ahead: Ahead<'_>) -> Result<Option<T>> {
    let name = ahead.name().to_string();
    log.debug(&format!("downloading {name} of run {}", ahead.run()));
    let label = format!("download {name}");
    let started = client.clock().monotonic();
    client.read_artifact(ahead, |body, length, gzip| {
        let mut bytes = 0;
        let received = Counting::new(body, |n| {
            bytes = n;
            log.progress(&label, n, length)
        })
        .of_length(length);
        let parsed = artifacts::parse::<T>(&name, artifacts::decoded(received, gzip))?;
        let took = client.clock().monotonic().saturating_sub(started);
        let how = if gzip { " gzipped" } else { "" };
        log.debug(&format!("{name}: {bytes} bytes{how} downloaded and parsed in {} ms", took.as_millis()));
        Ok(parsed)
    })
}
