//! Choosing runs, and the steps of a run whose artifacts to read.

use crate::api::Client;
use crate::api::client::RunsQuery;
use crate::api::models::{Run, status};
use crate::error::{Error, Result};
use crate::purpose::Purpose;

/// The newest successful run of `job_id` that saved the artifacts of `purpose`,
/// however many failed or running runs came after it.
pub fn latest_usable(client: &Client, job_id: u64, purpose: Purpose) -> Result<Option<Run>> {
    client.find_run(&RunsQuery::successful(job_id), |r| purpose.saved_by(r))
}

/// The newest usable run of `job_id` on git branch `branch`.
pub fn latest_on_branch(client: &Client, job_id: u64, purpose: Purpose, branch: &str) -> Result<Option<Run>> {
    client.find_run(&RunsQuery::successful(job_id), |r| purpose.saved_by(r) && r.git_branch.as_deref() == Some(branch))
}

/// How many pages (of 100 runs) to look through for a pull request's or a
/// commit's run: CI runs of an old pull request are not worth a long walk.
const PROJECT_PAGES: u64 = 10;

/// The newest successful run with artifacts of project `project_id` that
/// pull request `pr` triggered (any job; CI jobs are the ones that do).
pub fn latest_of_pull_request(client: &Client, project_id: u64, pr: u64) -> Result<Option<Run>> {
    let query = RunsQuery::project_with_trigger(project_id, PROJECT_PAGES);
    client.find_run(&query, |r| {
        Purpose::Docs.saved_by(r) && r.trigger.as_ref().and_then(|t| t.pull_request()) == Some(pr)
    })
}

/// The newest successful run with artifacts of project `project_id` that
/// built commit `sha` (a full sha or a prefix of at least 7 hex digits,
/// compared without case).
pub fn latest_of_commit(client: &Client, project_id: u64, sha: &str) -> Result<Option<Run>> {
    let sha = sha.to_ascii_lowercase();
    let query = RunsQuery::project_with_trigger(project_id, PROJECT_PAGES);
    client.find_run(&query, |r| {
        Purpose::Docs.saved_by(r) && r.git_sha.as_deref().is_some_and(|s| s.to_ascii_lowercase().starts_with(&sha))
    })
}

/// The step whose run_results.json describes the build: the last step that
/// invokes `dbt build`, `run`, `test`, `seed` or `snapshot` (a trailing
/// `dbt docs generate` step writes results without test outcomes).
pub fn results_step(run: &Run) -> Option<u32> {
    let steps = run.run_steps.as_ref()?;
    steps
        .iter()
        .filter(|s| matches!(s.dbt_words().first(), Some(&("build" | "run" | "test" | "seed" | "snapshot"))))
        .filter_map(|s| s.index)
        .max()
}

/// The step that ran `dbt source freshness`.
pub fn freshness_step(run: &Run) -> Option<u32> {
    let steps = run.run_steps.as_ref()?;
    steps.iter().filter(|s| s.dbt_words().starts_with(&["source", "freshness"])).filter_map(|s| s.index).max()
}

/// Checks that a run named by the user can be used for the project.
pub fn check_given_run(run: &Run, project_id: u64) -> Result<()> {
    if run.project_id.is_some_and(|p| p != project_id) {
        return Err(Error::NotFound(format!(
            "run {} belongs to project {}, not to the configured project {project_id}",
            run.id,
            run.project_id.unwrap_or(0)
        )));
    }
    if run.status != status::SUCCESS && run.status != status::ERROR {
        return Err(Error::RunFailed(format!(
            "run {} has status {} and cannot be synced; use a finished run",
            run.id,
            run.status_humanized.as_deref().unwrap_or("unknown")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::models::RunStep;

    fn step(index: u32, name: &str) -> RunStep {
        RunStep { index: Some(index), name: name.into(), status: Some(10), logs: None }
    }

    #[test]
    fn picks_the_build_step_not_docs_generate() {
        let run: Run = serde_json::from_str(r#"{"id":1,"status":10}"#).unwrap();
        assert_eq!(results_step(&run), None);
        let run = Run {
            run_steps: Some(vec![
                step(1, "Clone git repository"),
                step(2, "Invoke dbt with `dbt deps`"),
                step(3, "Invoke dbt with `dbt source freshness`"),
                step(4, "Invoke dbt with `dbt build`"),
                step(5, "Invoke dbt with `dbt docs generate`"),
            ]),
            ..run
        };
        assert_eq!(results_step(&run), Some(4));
        assert_eq!(freshness_step(&run), Some(3));
    }
}
