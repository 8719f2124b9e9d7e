//! The parts of dbt Cloud API responses the plugin reads. Every field is
//! optional or defaulted, unknown fields are ignored, ids are 64-bit.

use serde::Deserialize;

/// The envelope around every JSON response.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    /// The status block.
    #[serde(default)]
    pub status: Option<Status>,
    /// The payload: an object, or a list on list endpoints; null on errors.
    pub data: Option<T>,
    /// Pagination and filters.
    #[serde(default)]
    pub extra: Option<Extra>,
}

/// `status` of the envelope.
#[derive(Debug, Default, Deserialize)]
pub struct Status {
    /// Mirrors the HTTP status.
    #[serde(default)]
    pub code: Option<u16>,
    /// Whether the call succeeded.
    #[serde(default)]
    pub is_success: Option<bool>,
    /// A message for people.
    #[serde(default)]
    pub user_message: Option<String>,
    /// A message for developers (often empty or null).
    #[serde(default)]
    pub developer_message: Option<String>,
}

/// `extra` of the envelope.
#[derive(Debug, Default, Deserialize)]
pub struct Extra {
    /// Present on list endpoints.
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

/// `extra.pagination`.
#[derive(Debug, Default, Deserialize)]
pub struct Pagination {
    /// Items in this page.
    #[serde(default)]
    pub count: Option<u64>,
    /// Items in all pages.
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// A dbt Cloud account (`GET /api/v2/accounts/{id}/`).
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// The account id (up to 14 digits on cell-based hosts).
    pub id: u64,
    /// The account's display name.
    #[serde(default)]
    pub name: String,
    /// Plan (`developer`, `team`, `enterprise`...).
    #[serde(default)]
    pub plan: Option<String>,
    /// Whether the account is locked.
    #[serde(default)]
    pub locked: Option<bool>,
    /// Why it is locked.
    #[serde(default)]
    pub lock_reason: Option<String>,
    /// The account's own host prefix.
    #[serde(default)]
    pub static_subdomain: Option<String>,
}

/// A dbt Cloud project (`GET /api/v3/accounts/{a}/projects/{p}/`).
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    /// The project id.
    pub id: u64,
    /// The project's display name.
    #[serde(default)]
    pub name: String,
    /// 1 active, 2 deleted.
    #[serde(default)]
    pub state: Option<i64>,
    /// The project's documentation job (legacy setting, often null).
    #[serde(default)]
    pub docs_job_id: Option<u64>,
    /// The project's source freshness job (legacy setting, often null).
    #[serde(default)]
    pub freshness_job_id: Option<u64>,
}

/// A job definition.
#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    /// The job definition id.
    pub id: u64,
    /// The job's display name ("Nightly build").
    #[serde(default)]
    pub name: String,
    /// The project the job belongs to.
    #[serde(default)]
    pub project_id: Option<u64>,
    /// The environment the job runs in.
    #[serde(default)]
    pub environment_id: Option<u64>,
    /// The dbt commands it runs, one per step (`dbt build --select x`).
    #[serde(default)]
    pub execute_steps: Vec<String>,
    /// Whether a `dbt docs generate` step is appended.
    #[serde(default)]
    pub generate_docs: Option<bool>,
    /// Whether a `dbt source freshness` step is prepended.
    #[serde(default)]
    pub run_generate_sources: Option<bool>,
    /// `ci`, `scheduled`, `merge`, `other`...
    #[serde(default)]
    pub job_type: Option<String>,
    /// 1 active, 2 deleted.
    #[serde(default)]
    pub state: Option<i64>,
    /// The environment, with `include_related=environment`.
    #[serde(default)]
    pub environment: Option<Environment>,
}

/// The environment of a job (with `include_related=environment`).
#[derive(Debug, Clone, Deserialize)]
pub struct Environment {
    /// `production`, `staging` or none (general deployment).
    #[serde(default)]
    pub deployment_type: Option<String>,
}

/// A run of a job.
#[derive(Debug, Clone, Deserialize)]
pub struct Run {
    /// The run id (up to 14 digits).
    pub id: u64,
    /// The job definition it ran.
    #[serde(default)]
    pub job_definition_id: Option<u64>,
    /// The project it belongs to.
    #[serde(default)]
    pub project_id: Option<u64>,
    /// 1 queued, 2 starting, 3 running, 10 success, 20 error, 30 cancelled.
    #[serde(default)]
    pub status: i64,
    /// The status in words.
    #[serde(default)]
    pub status_humanized: Option<String>,
    /// Why it ended as it did.
    #[serde(default)]
    pub status_message: Option<String>,
    /// Its page in the dbt Cloud UI.
    #[serde(default)]
    pub href: Option<String>,
    /// The git branch it built.
    #[serde(default)]
    pub git_branch: Option<String>,
    /// The git commit it built.
    #[serde(default)]
    pub git_sha: Option<String>,
    /// When it finished (`YYYY-MM-DD HH:MM:SS.ffffff+00:00`).
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Whether the run saved its artifacts (false when it failed early).
    #[serde(default)]
    pub artifacts_saved: Option<bool>,
    /// Whether a `dbt docs generate` step wrote catalog.json.
    #[serde(default)]
    pub has_docs_generated: Option<bool>,
    /// Whether a `dbt source freshness` step wrote sources.json.
    #[serde(default)]
    pub has_sources_generated: Option<bool>,
    /// Steps, with `include_related=run_steps`.
    #[serde(default)]
    pub run_steps: Option<Vec<RunStep>>,
    /// What started it, with `include_related=trigger`.
    #[serde(default)]
    pub trigger: Option<Trigger>,
}

/// What started a run.
#[derive(Debug, Clone, Deserialize)]
pub struct Trigger {
    /// The cause given when the run was started ("Scheduled", or the text a
    /// `POST .../run/` sent); model-sync puts its sync id in it.
    #[serde(default)]
    pub cause: Option<String>,
    /// The GitHub pull request of a CI run.
    #[serde(default)]
    pub github_pull_request_id: Option<serde_json::Value>,
    /// The GitLab merge request of a CI run.
    #[serde(default)]
    pub gitlab_merge_request_id: Option<serde_json::Value>,
    /// The Azure DevOps pull request of a CI run.
    #[serde(default)]
    pub azure_pull_request_id: Option<serde_json::Value>,
    /// The pull request of a CI run from another git provider.
    #[serde(default)]
    pub non_native_pull_request_id: Option<serde_json::Value>,
}

impl Trigger {
    /// The pull (or merge) request that triggered the run, from whichever
    /// provider's field carries a positive number (ids are read leniently:
    /// a number, or a string of digits).
    pub fn pull_request(&self) -> Option<u64> {
        [
            &self.github_pull_request_id,
            &self.gitlab_merge_request_id,
            &self.azure_pull_request_id,
            &self.non_native_pull_request_id,
        ]
        .into_iter()
        .flatten()
        .find_map(|v| match v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        })
        .filter(|id| *id > 0)
    }
}

/// Run status codes (`Run::status`); below 10 the run has not finished.
pub mod status {
    /// The run finished and every step succeeded.
    pub const SUCCESS: i64 = 10;
    /// A step failed.
    pub const ERROR: i64 = 20;
    /// Someone (or a deadline) cancelled the run.
    pub const CANCELLED: i64 = 30;
}

/// The dbt subcommand words of a command line, up to the first flag:
/// `dbt --debug source freshness --select x` gives `["source", "freshness"]`.
pub fn dbt_words(command: &str) -> Vec<&str> {
    let mut words = command.split_whitespace().skip_while(|w| *w == "dbt" || w.starts_with('-'));
    let mut out = Vec::new();
    for w in words.by_ref() {
        if w.starts_with('-') {
            break;
        }
        out.push(w);
    }
    out
}

/// A step of a run.
#[derive(Debug, Clone, Deserialize)]
pub struct RunStep {
    /// 1-based position among the run's steps.
    #[serde(default)]
    pub index: Option<u32>,
    /// ``Invoke dbt with `dbt build` `` and the like.
    #[serde(default)]
    pub name: String,
    /// Status code, as for runs.
    #[serde(default)]
    pub status: Option<i64>,
    /// The step's log (dbt Cloud truncates it).
    #[serde(default)]
    pub logs: Option<String>,
}

impl RunStep {
    /// The dbt command of an ``Invoke dbt with `dbt ...` `` step.
    pub fn dbt_command(&self) -> Option<&str> {
        let start = self.name.find('`')?;
        let rest = &self.name[start + 1..];
        let end = rest.find('`')?;
        Some(&rest[..end])
    }

    /// The dbt subcommand words of the step (see [`dbt_words`]); empty for
    /// steps that run no dbt command, such as cloning the repository.
    pub fn dbt_words(&self) -> Vec<&str> {
        self.dbt_command().map(dbt_words).unwrap_or_default()
    }

    /// The last `lines` non-empty lines of the step's log.
    pub fn log_tail(&self, lines: usize) -> Option<String> {
        let logs = self.logs.as_deref()?;
        let kept: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
        (!kept.is_empty()).then(|| kept[kept.len().saturating_sub(lines)..].join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_step_commands() {
        let s =
            RunStep { index: Some(4), name: "Invoke dbt with `dbt build --select x`".into(), status: None, logs: None };
        assert_eq!(s.dbt_command(), Some("dbt build --select x"));
        assert_eq!(s.dbt_words(), vec!["build"]);
        let s = RunStep {
            index: Some(1),
            name: "Clone git repository".into(),
            status: None,
            logs: Some("cloning\n\n  one\ntwo\n".into()),
        };
        assert!(s.dbt_words().is_empty());
        assert_eq!(s.log_tail(2).as_deref(), Some("  one\ntwo"));
    }

    #[test]
    fn parses_fourteen_digit_ids_and_nulls() {
        let run: Run = serde_json::from_str(
            r#"{"id":70403117937023,"job_definition_id":70403103922125,"status":10,"finished_at":null,"extra_field":[1]}"#,
        )
        .unwrap();
        assert_eq!(run.id, 70403117937023);
        assert_eq!(run.finished_at, None);
    }
}
