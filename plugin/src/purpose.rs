//! What a job or run feeds into a sync: the documentation artifacts or the
//! source freshness results. Below `connect`, `runs` and `sync`, which all
//! choose jobs and runs by it.

use crate::api::models::{Job, Run, status};

/// The two roles a job can play in a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// manifest.json, run_results.json and catalog.json: the project's
    /// resources, run outcomes and warehouse types.
    Docs,
    /// sources.json: source freshness results.
    Freshness,
}

impl Purpose {
    /// `docs` or `freshness`, as the WIT `run-used.purpose` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Docs => "docs",
            Purpose::Freshness => "freshness",
        }
    }

    /// Whether `job`'s definition produces this purpose's artifacts: the
    /// docs or freshness setting of the job, or a step running
    /// `dbt docs generate` / `dbt source freshness`.
    pub fn produced_by(self, job: &Job) -> bool {
        let runs =
            |command: &[&str]| job.execute_steps.iter().any(|s| crate::api::models::dbt_words(s).starts_with(command));
        match self {
            Purpose::Docs => job.generate_docs == Some(true) || runs(&["docs", "generate"]),
            Purpose::Freshness => job.run_generate_sources == Some(true) || runs(&["source", "freshness"]),
        }
    }

    /// Whether a finished `run` succeeded and saved this purpose's artifacts.
    pub fn saved_by(self, run: &Run) -> bool {
        run.status == status::SUCCESS
            && run.artifacts_saved != Some(false)
            && (self != Purpose::Freshness || run.has_sources_generated != Some(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(steps: &[&str]) -> Job {
        serde_json::from_value(serde_json::json!({"id": 1, "execute_steps": steps})).expect("job")
    }

    #[test]
    fn a_job_produces_what_its_steps_run() {
        assert!(Purpose::Docs.produced_by(&job(&["dbt build", "dbt docs generate --no-compile"])));
        assert!(!Purpose::Docs.produced_by(&job(&["dbt run --select docs"])));
        assert!(Purpose::Freshness.produced_by(&job(&["dbt --debug source freshness"])));
        assert!(!Purpose::Freshness.produced_by(&job(&["dbt build"])));
    }
}
