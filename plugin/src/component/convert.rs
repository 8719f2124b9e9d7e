//! Every conversion between the WIT types and the plugin's Rust types, as
//! `From` impls in one place: settings and options come in, connections,
//! records, catalogs and errors go out.

use super::wit::exports::modelsync::plugin::model_sync as wit;
use super::wit::modelsync::plugin::host;
use crate::catalog::{Column, Freshness, Node, RunOutcome, Stat, TestOutcome};
use crate::connect::{ChosenBy, Connection, JobSummary};
use crate::error::Error;
use crate::history::{ChangeKind, ChangeSummary, Facet, PruneReport, RunUsed, StoreOp, SyncRecord, SyncStatus};
use crate::log::Level;
use crate::purpose::Purpose;
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
            pull_request: o.pull_request,
            git_sha: o.git_sha,
            run_job: o.run_job,
            wait_timeout_secs: o.wait_timeout_secs,
            cancel_on_timeout: o.cancel_on_timeout,
            force: o.force,
            exclude_code: o.exclude_code,
            keep_catalogs: o.keep_catalogs,
            triggered_by: o.triggered_by,
        }
    }
}

impl From<Error> for wit::Error {
    /// Every error leaves the plugin through here, so the token is taken out here.
    fn from(e: Error) -> Self {
        match e.scrubbed() {
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
            chosen_by: j.chosen_by.into(),
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
            purpose: u.purpose.into(),
            artifacts: u.artifacts.clone(),
            href: u.href.clone(),
            git_branch: u.git_branch.clone(),
            git_sha: u.git_sha.clone(),
            finished_at: u.finished_at.clone(),
            pull_request: u.pull_request,
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
                    resource_type: resource_type.as_str().into(),
                    count: *count,
                })
                .collect(),
            warnings: r.warnings.clone(),
            error: r.error.clone().map(Into::into),
            changes: r.changes.map(Into::into),
            has_catalog: r.has_catalog,
            column_lineage: r.column_lineage.as_ref().map(|c| wit::LineageCoverage {
                models: c.models,
                unparsed: c.unparsed,
                columns: c.columns,
                resolved: c.resolved,
            }),
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
            upstream: c.upstream.into_iter().map(|u| wit::ColumnRef { node: u.node, column: u.column }).collect(),
        }
    }
}

impl From<RunOutcome> for wit::RunOutcome {
    fn from(o: RunOutcome) -> Self {
        wit::RunOutcome {
            status: o.status.as_str().into(),
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
            status: f.status.as_str().into(),
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
            status: t.status.as_deref().map(Into::into),
            failures: t.failures,
        }
    }
}

impl From<Node> for wit::CatalogNode {
    fn from(n: Node) -> Self {
        wit::CatalogNode {
            unique_id: n.unique_id,
            resource_type: n.resource_type.as_str().into(),
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
            governance: n.governance.map(Into::into),
            semantics: n.semantics.map(Into::into),
            explorer_url: n.explorer_url,
        }
    }
}

/// dbt's spelling of each known resource type, and the type it names.
fn resource_types() -> [(&'static str, wit::ResourceType); 12] {
    use wit::ResourceType as T;
    [
        ("model", T::Model),
        ("seed", T::Seed),
        ("snapshot", T::Snapshot),
        ("test", T::Test),
        ("analysis", T::Analysis),
        ("operation", T::Operation),
        ("source", T::Source),
        ("exposure", T::Exposure),
        ("metric", T::Metric),
        ("semantic_model", T::SemanticModel),
        ("saved_query", T::SavedQuery),
        ("unit_test", T::UnitTest),
    ]
}

impl From<&str> for wit::ResourceType {
    fn from(s: &str) -> Self {
        resource_types().into_iter().find(|(name, _)| *name == s).map_or_else(|| Self::Other(s.to_string()), |(_, t)| t)
    }
}

impl From<wit::ResourceType> for String {
    fn from(t: wit::ResourceType) -> Self {
        if let wit::ResourceType::Other(s) = t {
            return s;
        }
        let wanted = std::mem::discriminant(&t);
        resource_types()
            .into_iter()
            .find(|(_, known)| std::mem::discriminant(known) == wanted)
            .map_or_else(String::new, |(name, _)| name.to_string())
    }
}

impl From<&str> for wit::RunStatus {
    fn from(s: &str) -> Self {
        match s.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
            "success" => Self::Success,
            "error" => Self::Error,
            "skipped" => Self::Skipped,
            "pass" => Self::Pass,
            "fail" => Self::Fail,
            "warn" => Self::Warn,
            "runtime-error" => Self::RuntimeError,
            "no-op" => Self::NoOp,
            "partial-success" => Self::PartialSuccess,
            _ => Self::Other(s.to_string()),
        }
    }
}

impl From<&str> for wit::FreshnessStatus {
    fn from(s: &str) -> Self {
        match s.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
            "pass" => Self::Pass,
            "warn" => Self::Warn,
            "error" => Self::Error,
            "runtime-error" => Self::RuntimeError,
            _ => Self::Other(s.to_string()),
        }
    }
}

impl From<ChosenBy> for wit::ChosenBy {
    fn from(c: ChosenBy) -> Self {
        match c {
            ChosenBy::Explicit => Self::Explicit,
            ChosenBy::Project => Self::Project,
            ChosenBy::Inferred => Self::Inferred,
        }
    }
}

impl From<Purpose> for wit::RunPurpose {
    fn from(p: Purpose) -> Self {
        match p {
            Purpose::Docs => Self::Docs,
            Purpose::Freshness => Self::Freshness,
        }
    }
}

impl From<ChangeKind> for wit::ChangeKind {
    fn from(k: ChangeKind) -> Self {
        match k {
            ChangeKind::Added => Self::Added,
            ChangeKind::Removed => Self::Removed,
            ChangeKind::Modified => Self::Modified,
        }
    }
}

impl From<Facet> for wit::Facet {
    fn from(f: Facet) -> Self {
        match f {
            Facet::Location => Self::Location,
            Facet::Description => Self::Description,
            Facet::Config => Self::Config,
            Facet::Columns => Self::Columns,
            Facet::Code => Self::Code,
            Facet::DependsOn => Self::DependsOn,
            Facet::Tests => Self::Tests,
            Facet::LastRun => Self::LastRun,
            Facet::TestOutcomes => Self::TestOutcomes,
            Facet::Freshness => Self::Freshness,
            Facet::Stats => Self::Stats,
            Facet::Governance => Self::Governance,
            Facet::Semantics => Self::Semantics,
        }
    }
}

impl From<PruneReport> for wit::PruneReport {
    fn from(r: PruneReport) -> Self {
        wit::PruneReport { pruned: r.pruned, entries_deleted: r.entries_deleted, bytes_freed: r.bytes_freed }
    }
}

impl From<StoreOp> for host::StoreOp {
    fn from(op: StoreOp) -> Self {
        match op {
            StoreOp::Set(key, value) => Self::Set(host::KeyValue { key, value }),
            StoreOp::Delete(key) => Self::Delete(key),
        }
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
