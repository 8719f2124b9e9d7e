//! `configure`: checking settings live and finding the jobs that feed a sync.

use crate::api::Client;
use crate::api::models::{Account, Job, Project};
use crate::error::{Error, Result};
use crate::purpose::Purpose;
use crate::runs;

/// How a job feeding the sync was chosen, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// The user named it in the settings (docs-job-id, freshness-job-id).
    Explicit,
    /// The project's Artifacts setting names it.
    Project,
    /// Found among the project's jobs: not CI, production first, newest usable run.
    Inferred,
}

impl ChosenBy {
    /// `explicit`, `project` or `inferred`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChosenBy::Explicit => "explicit",
            ChosenBy::Project => "project",
            ChosenBy::Inferred => "inferred",
        }
    }
}

/// A job feeding the sync, as `configure` found it (the WIT `job-summary`).
#[derive(Debug, Clone)]
pub struct JobSummary {
    /// The job definition.
    pub job: Job,
    /// Whether the user, the project or inference chose it.
    pub chosen_by: ChosenBy,
    /// Its newest successful run that saved the artifacts, if any.
    pub latest_run_id: Option<u64>,
    /// When that run finished (RFC 3339).
    pub latest_run_finished_at: Option<String>,
}

/// What `configure` found (the WIT `connection`): kept for the instance's
/// later syncs.
#[derive(Debug, Clone)]
pub struct Connection {
    /// `scheme://host[:port]` of the dbt Cloud API.
    pub api_base_url: String,
    /// The account the token reached.
    pub account: Account,
    /// The configured project.
    pub project: Project,
    /// The job whose runs give manifest.json and run_results.json; none when
    /// neither the user, the project nor inference found one.
    pub docs_job: Option<JobSummary>,
    /// The job whose runs give sources.json; optional.
    pub freshness_job: Option<JobSummary>,
    /// Things the user should know (inferred jobs, personal token...).
    pub warnings: Vec<String>,
}

/// Checks the connection and resolves the jobs. `warnings` carries those of
/// validation.
pub fn connect(client: &Client, mut warnings: Vec<String>) -> Result<Connection> {
    let s = client.settings();
    let account = client.account()?;
    if account.locked == Some(true) {
        return Err(Error::ApiNotEnabled(format!(
            "account {} is locked{}; unlock it in dbt Cloud before syncing",
            account.id,
            account.lock_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
        )));
    }
    if s.on_legacy_host()
        && let Some(prefix) = account.static_subdomain.as_deref().filter(|p| !p.is_empty())
    {
        warnings.push(format!(
            "account {} has its own access URL with prefix `{prefix}` (e.g. https://{prefix}.us1.dbt.com); prefer it over {}",
            account.id, s.base_url
        ));
    }
    let project: Project = client.project()?;
    if project.state == Some(2) {
        return Err(Error::NotFound(format!("project {} of account {} has been deleted", s.project_id, s.account_id)));
    }
    if s.token.is_personal() {
        warnings.push(
            "this is a personal (user) token: it carries its user's full rights, including write; \
             a service token with the Read-Only or Job Viewer permission set is safer for syncing"
                .to_string(),
        );
    }
    let docs_job = resolve(client, Purpose::Docs, s.docs_job_id, project.docs_job_id, &mut warnings)?;
    let freshness_job =
        resolve(client, Purpose::Freshness, s.freshness_job_id, project.freshness_job_id, &mut warnings)?;
    match &docs_job {
        None => warnings.push(format!(
            "no documentation job found in project {}: set one under the project's Artifacts settings or name one (docs-job-id); syncs fail until then",
            project.id
        )),
        Some(j) if j.latest_run_id.is_none() => warnings.push(format!(
            "docs job {} ({}) has no successful run with artifacts yet; syncs fail until it has one",
            j.job.id, j.job.name
        )),
        Some(_) => {}
    }
    match &freshness_job {
        None => warnings.push(
            "no source freshness job: syncs will have no freshness data (set one under the project's Artifacts settings or name one)"
                .to_string(),
        ),
        Some(j) if j.latest_run_id.is_none() => warnings.push(format!(
            "freshness job {} ({}) has no successful run with sources.json yet",
            j.job.id, j.job.name
        )),
        Some(_) => {}
    }
    Ok(Connection { api_base_url: s.base_url.clone(), account, project, docs_job, freshness_job, warnings })
}

fn resolve(
    client: &Client,
    purpose: Purpose,
    explicit: Option<u64>,
    project_setting: Option<u64>,
    warnings: &mut Vec<String>,
) -> Result<Option<JobSummary>> {
    let s = client.settings();
    let (job, chosen_by) = match (explicit, project_setting) {
        (Some(id), _) => (client.job(id, purpose.as_str())?, ChosenBy::Explicit),
        (None, Some(id)) => (client.job(id, purpose.as_str())?, ChosenBy::Project),
        (None, None) => match infer(client, purpose)? {
            Some(job) => {
                warnings.push(format!(
                    "the project has no {} job set; inferred job {} ({}) from its jobs",
                    purpose.as_str(),
                    job.id,
                    job.name
                ));
                (job, ChosenBy::Inferred)
            }
            None => return Ok(None),
        },
    };
    if job.project_id.is_some_and(|p| p != s.project_id) {
        return Err(Error::setting(
            if purpose == Purpose::Docs { "docs-job-id" } else { "freshness-job-id" },
            format!(
                "job {} belongs to project {}, not to project {}",
                job.id,
                job.project_id.unwrap_or(0),
                s.project_id
            ),
        ));
    }
    let latest = runs::latest_usable(client, job.id, purpose)?;
    Ok(Some(JobSummary {
        latest_run_id: latest.as_ref().map(|r| r.id),
        latest_run_finished_at: latest.and_then(|r| r.finished_at).map(|t| crate::time::normalize(&t)),
        job,
        chosen_by,
    }))
}

/// Finds a job of the project that produces the artifacts: not a CI job; of
/// several, one in the production environment, then the one with the newest
/// usable run.
fn infer(client: &Client, purpose: Purpose) -> Result<Option<Job>> {
    let mut best: Option<(Job, (bool, String))> = None;
    for job in client.jobs()?.into_iter().filter(|j| purpose.produced_by(j) && j.job_type.as_deref() != Some("ci")) {
        if let Some(run) = runs::latest_usable(client, job.id, purpose)? {
            let environment = job.environment.as_ref().and_then(|e| e.deployment_type.as_deref());
            let rank = (environment == Some("production"), run.finished_at.unwrap_or_default());
            if best.as_ref().is_none_or(|(_, r)| rank > *r) {
                best = Some((job, rank));
            }
        }
    }
    Ok(best.map(|(j, _)| j))
}
