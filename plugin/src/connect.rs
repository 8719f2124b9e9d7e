//! `configure`: checking settings live and finding the jobs that feed a sync.

use crate::api::Client;
use crate::api::models::{Account, Job, Project};
use crate::error::{Error, Result};
use crate::runs;

/// How a job was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// The user named it.
    Explicit,
    /// The project's artifact setting.
    Project,
    /// Found among the project's jobs.
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

/// A job feeding the sync (mirrors the WIT `job-summary`).
#[derive(Debug, Clone)]
pub struct JobSummary {
    /// The job.
    pub job: Job,
    /// How it was chosen.
    pub chosen_by: ChosenBy,
    /// Its latest usable run.
    pub latest_run_id: Option<u64>,
    /// When that run finished.
    pub latest_run_finished_at: Option<String>,
}

/// What `configure` found (mirrors the WIT `connection`).
#[derive(Debug, Clone)]
pub struct Connection {
    /// The API base URL.
    pub api_base_url: String,
    /// The account.
    pub account: Account,
    /// The project.
    pub project: Project,
    /// The docs job.
    pub docs_job: Option<JobSummary>,
    /// The freshness job.
    pub freshness_job: Option<JobSummary>,
    /// Warnings.
    pub warnings: Vec<String>,
}

/// The two roles a job can play in a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// manifest.json, run_results.json, catalog.json.
    Docs,
    /// sources.json.
    Freshness,
}

impl Purpose {
    /// `docs` or `freshness`.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Docs => "docs",
            Purpose::Freshness => "freshness",
        }
    }
}

/// Checks the connection and resolves the jobs. `warnings` carries those of
/// validation.
pub fn connect(client: &Client, mut warnings: Vec<String>) -> Result<Connection> {
    let s = client.settings();
    let account: Account = client.get_data(&format!("{}/", client.v2()), &format!("account {}", s.account_id))?;
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
    let what = format!("project {} of account {}", s.project_id, s.account_id);
    let project: Project = client.get_data(&format!("{}/projects/{}/", client.v3(), s.project_id), &what)?;
    if project.state == Some(2) {
        return Err(Error::NotFound(format!("{what} has been deleted")));
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
        (Some(id), _) => (get_job(client, id, purpose)?, ChosenBy::Explicit),
        (None, Some(id)) => (get_job(client, id, purpose)?, ChosenBy::Project),
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

fn get_job(client: &Client, id: u64, purpose: Purpose) -> Result<Job> {
    client.get_data(&format!("{}/jobs/{id}/", client.v2()), &format!("{} job {id}", purpose.as_str()))
}

/// Whether a job's definition produces the artifacts of `purpose`.
pub fn produces(job: &Job, purpose: Purpose) -> bool {
    let has_step = |needle: &str| job.execute_steps.iter().any(|s| s.contains(needle));
    match purpose {
        Purpose::Docs => job.generate_docs == Some(true) || has_step("docs generate"),
        Purpose::Freshness => job.run_generate_sources == Some(true) || has_step("source freshness"),
    }
}

/// Finds a job of the project that produces the artifacts: not a CI job; of
/// several, one in the production environment, then the one with the newest
/// usable run.
fn infer(client: &Client, purpose: Purpose) -> Result<Option<Job>> {
    let s = client.settings();
    let jobs: Vec<Job> = client.get_all(
        &format!("{}/jobs/", client.v2()),
        &[
            ("project_id", s.project_id.to_string()),
            ("order_by", "-id".to_string()),
            ("include_related", "environment".to_string()),
        ],
        &format!("the jobs of project {}", s.project_id),
    )?;
    let mut best: Option<(Job, (bool, String))> = None;
    for job in jobs.into_iter().filter(|j| produces(j, purpose) && j.job_type.as_deref() != Some("ci")) {
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
