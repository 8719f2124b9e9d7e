//! What a caller asks of a sync.

/// How to choose runs and what to keep (the WIT `sync-options`).
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Sync this run of the docs job (a pull request's CI run, or a failed
    /// run whose artifacts are wanted) instead of the newest usable one.
    pub run_id: Option<u64>,
    /// Sync the newest usable docs run built from this git branch.
    pub git_branch: Option<String>,
    /// Sync the newest usable run of the project triggered by this pull
    /// request (its CI run), compared with the latest non-PR sync.
    pub pull_request: Option<u64>,
    /// Sync the newest usable run of the project that built this commit.
    pub git_sha: Option<String>,
    /// Start the docs job in dbt Cloud and sync the run it makes.
    pub run_job: bool,
    /// With `run_job`: the longest wait for the run, seconds (default an hour).
    pub wait_timeout_secs: Option<u32>,
    /// With `run_job`: cancel the run when the wait times out.
    pub cancel_on_timeout: bool,
    /// Download again even if the runs are those the previous sync read.
    pub force: bool,
    /// Leave raw and compiled SQL out of the catalog (kept by default).
    pub exclude_code: bool,
    /// After a successful sync, drop the catalogs of all but the newest this
    /// many syncs; none keeps them all.
    pub keep_catalogs: Option<u32>,
    /// Who asked (`cli`, a user name, `schedule`); recorded with the sync.
    pub triggered_by: String,
}
