//! What the history keeps of each sync: its record and log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::purpose::Purpose;

/// Where a sync stands (the WIT `sync-status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Still running, or interrupted (the host died during it).
    Running,
    /// Finished with a catalog and no warnings.
    Succeeded,
    /// Finished with a catalog; see the record's warnings.
    SucceededWithWarnings,
    /// Ended without a catalog; see the record's error.
    Failed,
}

/// A dbt Cloud run a sync read (the WIT `run-used`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunUsed {
    /// The job definition the run belongs to.
    pub job_id: u64,
    /// The run id.
    pub run_id: u64,
    /// What the sync read it for.
    pub purpose: Purpose,
    /// The artifact files read from it.
    pub artifacts: Vec<String>,
    /// The run's page in the dbt Cloud UI.
    pub href: Option<String>,
    /// The git branch the run built.
    pub git_branch: Option<String>,
    /// The git commit the run built.
    pub git_sha: Option<String>,
    /// When the run finished (RFC 3339).
    pub finished_at: Option<String>,
    /// The pull request that triggered it (CI runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
}

/// How many catalog entries changed since the previous successful sync (the
/// WIT `change-summary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    /// The sync compared against.
    pub previous_sync_id: u64,
    /// Entries whose unique id is new.
    pub added: u32,
    /// Entries of the previous sync that are gone.
    pub removed: u32,
    /// Entries present in both whose content differs.
    pub modified: u32,
}

impl ChangeSummary {
    /// No change since sync `previous_sync_id` (its catalog was reused).
    pub fn unchanged(previous_sync_id: u64) -> Self {
        ChangeSummary { previous_sync_id, added: 0, removed: 0, modified: 0 }
    }
}

/// One sync as the history keeps it (the WIT `sync-record`, plus its log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRecord {
    /// The sync's id, increasing from 1.
    pub id: u64,
    /// Running, succeeded (with or without warnings) or failed.
    pub status: SyncStatus,
    /// Who asked for it (`cli`, a user, a schedule).
    pub triggered_by: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended; none while running.
    pub finished_at: Option<String>,
    /// The dbt Cloud runs it read.
    pub runs: Vec<RunUsed>,
    /// Catalog entries per resource type.
    pub counts: BTreeMap<String, u32>,
    /// What the user should know about the result.
    pub warnings: Vec<String>,
    /// Why it failed, for failed syncs.
    pub error: Option<Error>,
    /// What changed since the previous successful sync.
    pub changes: Option<ChangeSummary>,
    /// The lines it logged (capped).
    #[serde(default)]
    pub log: Vec<String>,
    /// Whether its catalog is stored (not kept in the record: the history
    /// fills it in from its catalog indexes when it reads the record).
    #[serde(skip)]
    pub has_catalog: bool,
    /// The column-level lineage its catalog has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_lineage: Option<crate::lineage::Coverage>,
}

impl SyncRecord {
    /// The record of sync `id` as it starts: running, nothing read yet.
    pub fn started(id: u64, triggered_by: &str, started_at: String) -> Self {
        SyncRecord {
            id,
            status: SyncStatus::Running,
            triggered_by: if triggered_by.is_empty() { "unknown".into() } else { triggered_by.to_string() },
            started_at,
            finished_at: None,
            runs: Vec::new(),
            counts: BTreeMap::new(),
            warnings: Vec::new(),
            error: None,
            changes: None,
            log: Vec::new(),
            has_catalog: false,
            column_lineage: None,
        }
    }
}

/// The key of sync `id`'s record.
pub fn record_key(id: u64) -> String {
    format!("{RECORD_PREFIX}{id:020}")
}

/// The prefix of every record key.
pub const RECORD_PREFIX: &str = "sync/";
