//! Every conversion between the WIT types and the plugin's Rust types, as
//! `From` impls in one place: settings and options come in, connections,
//! records, catalogs and errors go out.

use super::wit::exports::modelsync::plugin::model_sync as wit;
use super::wit::modelsync::plugin::host;
use crate::catalog::{Catalog, Column, Freshness, Node, RunOutcome, Stat, TestOutcome};
use crate::connect::{Connection, JobSummary};
use crate::error::Error;
use crate::history::{ChangeSummary, RunUsed, SyncRecord, SyncStatus};
use crate::log::Level;
use crate::settings::RawSettings;
use crate::sync::SyncOptions;

impl From<wit::Settings> for RawSettings {
    fn from(s: wit::Settings) -> Self {
        RawSettings {
            api_token: s.api_token,
            access_url: s.access_url,
            account_id: s.account_id,
            project_id: s.project_id,
            docs_job_id: s.docs_job_id,
            freshness_job_id: s.freshness_job_id,
        }
    }
}

impl From<wit::SyncOptions> for SyncOptions {
    fn from(o: wit::SyncOptions) -> Self {
        SyncOptions {
            run_id: o.run_id,
            git_branch: o.git_branch,
            run_job: o.run_job,
            wait_timeout_secs: o.wait_timeout_secs,
            cancel_on_timeout: o.cancel_on_timeout,
            force: o.force,
            include_code: o.include_code,
            triggered_by: o.triggered_by,
        }
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidSetting { field, message } => Self::InvalidSetting(wit::SettingProblem { field, message }),
            Error::NotConfigured(m) => Self::NotConfigured(m),
            Error::Unauthorized(m) => Self::Unauthorized(m),
            Error::Forbidden(m) => Self::Forbidden(m),
            Error::NotFound(m) => Self::NotFound(m),
            Error::ApiNotEnabled(m) => Self::ApiNotEnabled(m),
            Error::RateLimited { retry_after_secs, message } => {
                Self::RateLimited(wit::RateLimit { retry_after_secs, message })
            }
            Error::Network(m) => Self::Network(m),
            Error::NetworkDenied(m) => Self::NetworkDenied(m),
            Error::Timeout(m) => Self::Timeout(m),
            Error::Upstream(m) => Self::Upstream(m),
            Error::BadArtifact(m) => Self::BadArtifact(m),
            Error::RunFailed(m) => Self::RunFailed(m),
            Error::Storage(m) => Self::Storage(m),
            Error::Other(m) => Self::Other(m),
        }
    }
}

impl From<&JobSummary> for wit::JobSummary {
    fn from(j: &JobSummary) -> Self {
        wit::JobSummary {
            id: j.job.id,
            name: j.job.name.clone(),
            environment_id: j.job.environment_id,
            chosen_by: j.chosen_by.as_str().to_string(),
            latest_run_id: j.latest_run_id,
            latest_run_finished_at: j.latest_run_finished_at.clone(),
        }
    }
}

impl From<&Connection> for wit::Connection {
    fn from(c: &Connection) -> Self {
        wit::Connection {
            api_base_url: c.api_base_url.clone(),
            account_id: c.account.id,
            account_name: c.account.name.clone(),
            plan: c.account.plan.clone(),
            project_id: c.project.id,
            project_name: c.project.name.clone(),
            docs_job: c.docs_job.as_ref().map(Into::into),
            freshness_job: c.freshness_job.as_ref().map(Into::into),
            warnings: c.warnings.clone(),
        }
    }
}

impl From<SyncStatus> for wit::SyncStatus {
    fn from(s: SyncStatus) -> Self {
        match s {
            SyncStatus::Running => Self::Running,
            SyncStatus::Succeeded => Self::Succeeded,
            SyncStatus::SucceededWithWarnings => Self::SucceededWithWarnings,
            SyncStatus::Failed => Self::Failed,
        }
    }
}

impl From<&RunUsed> for wit::RunUsed {
    fn from(u: &RunUsed) -> Self {
        wit::RunUsed {
            job_id: u.job_id,
            run_id: u.run_id,
            purpose: u.purpose.clone(),
            artifacts: u.artifacts.clone(),
            href: u.href.clone(),
            git_branch: u.git_branch.clone(),
            git_sha: u.git_sha.clone(),
            finished_at: u.finished_at.clone(),
        }
    }
}

impl From<ChangeSummary> for wit::ChangeSummary {
    fn from(c: ChangeSummary) -> Self {
        wit::ChangeSummary {
            previous_sync_id: c.previous_sync_id,
            added: c.added,
            removed: c.removed,
            modified: c.modified,
        }
    }
}

impl From<&SyncRecord> for wit::SyncRecord {
    fn from(r: &SyncRecord) -> Self {
        wit::SyncRecord {
            id: r.id,
            status: r.status.into(),
            triggered_by: r.triggered_by.clone(),
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            runs: r.runs.iter().map(Into::into).collect(),
            counts: r
                .counts
                .iter()
                .map(|(resource_type, count)| wit::ResourceCount {
                    resource_type: resource_type.clone(),
                    count: *count,
                })
                .collect(),
            warnings: r.warnings.clone(),
            error: r.error.clone().map(Into::into),
            changes: r.changes.map(Into::into),
        }
    }
}

impl From<Column> for wit::Column {
    fn from(c: Column) -> Self {
        wit::Column {
            name: c.name,
            description: c.description,
            data_type: c.data_type,
            tests: c.tests,
            primary_key: c.primary_key,
        }
    }
}

impl From<RunOutcome> for wit::RunOutcome {
    fn from(o: RunOutcome) -> Self {
        wit::RunOutcome {
            status: o.status,
            message: o.message,
            execution_time_secs: o.execution_time_secs,
            completed_at: o.completed_at,
            failures: o.failures,
        }
    }
}

impl From<Freshness> for wit::Freshness {
    fn from(f: Freshness) -> Self {
        wit::Freshness {
            status: f.status,
            max_loaded_at: f.max_loaded_at,
            snapshotted_at: f.snapshotted_at,
            age_secs: f.age_secs,
            criteria: f.criteria,
            error: f.error,
        }
    }
}

impl From<Stat> for wit::Stat {
    fn from(s: Stat) -> Self {
        wit::Stat { id: s.id, label: s.label, value: s.value }
    }
}

impl From<TestOutcome> for wit::TestOutcome {
    fn from(t: TestOutcome) -> Self {
        wit::TestOutcome {
            test_id: t.test_id,
            test_name: t.test_name,
            column: t.column,
            status: t.status,
            failures: t.failures,
        }
    }
}

impl From<Node> for wit::CatalogNode {
    fn from(n: Node) -> Self {
        wit::CatalogNode {
            unique_id: n.unique_id,
            resource_type: n.resource_type,
            name: n.name,
            package_name: n.package_name,
            path: n.path,
            database: n.database,
            schema: n.schema,
            relation_name: n.relation_name,
            materialization: n.materialization,
            description: n.description,
            tags: n.tags,
            owner: n.owner,
            meta_json: n.meta_json,
            columns: n.columns.into_iter().map(Into::into).collect(),
            depends_on: n.depends_on,
            tested_node: n.tested_node,
            tested_column: n.tested_column,
            test_name: n.test_name,
            raw_code: n.raw_code,
            compiled_code: n.compiled_code,
            last_run: n.last_run.map(Into::into),
            freshness: n.freshness.map(Into::into),
            stats: n.stats.into_iter().map(Into::into).collect(),
            test_outcomes: n.test_outcomes.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Catalog> for wit::Catalog {
    fn from(c: Catalog) -> Self {
        wit::Catalog { nodes: c.nodes.into_iter().map(Into::into).collect() }
    }
}

impl From<Level> for host::Level {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => Self::Debug,
            Level::Info => Self::Info,
            Level::Warn => Self::Warn,
            Level::Error => Self::Error,
        }
    }
}

impl From<host::StoreError> for String {
    fn from(e: host::StoreError) -> Self {
        match e {
            host::StoreError::InvalidKey(m) => format!("invalid key: {m}"),
            host::StoreError::QuotaExceeded(m) => format!("quota exceeded: {m}"),
            host::StoreError::Io(m) => m,
        }
    }
}
