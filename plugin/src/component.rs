//! The WIT glue: exports `model-sync`, converts between WIT types and the
//! plain Rust types beneath, and adapts the host's services.

use std::sync::Mutex;

wit_bindgen::generate!({
    path: "../wit",
    world: "dbt-cloud-plugin",
    generate_all,
});

use exports::modelsync::plugin::model_sync as wit;
use modelsync::plugin::host;

use crate::api::Client;
use crate::catalog::{Catalog, Node};
use crate::connect::{self, Connection, JobSummary};
use crate::error::Error;
use crate::history::{History, KvStore, SyncRecord, SyncStatus};
use crate::log::{Level, LogSink, Logger};
use crate::settings::{self, RawSettings, Settings};
use crate::sync::{self, SyncOptions};
use crate::wasi_transport::WasiTransport;

/// What `configure` established for this instance.
struct Connected {
    settings: Settings,
    connection: Connection,
}

static STATE: Mutex<Option<Connected>> = Mutex::new(None);

/// The most entries `get-catalog` returns at once.
const MAX_PAGE: u32 = 5000;

struct HostSink;

impl LogSink for HostSink {
    fn line(&self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => host::Level::Debug,
            Level::Info => host::Level::Info,
            Level::Warn => host::Level::Warn,
            Level::Error => host::Level::Error,
        };
        host::log(level, message);
    }

    fn progress(&self, step: &str, done: u64, total: Option<u64>) {
        host::progress(step, done, total);
    }
}

struct HostStore;

fn store_error(e: host::StoreError) -> String {
    match e {
        host::StoreError::InvalidKey(m) => format!("invalid key: {m}"),
        host::StoreError::QuotaExceeded(m) => format!("quota exceeded: {m}"),
        host::StoreError::Io(m) => m,
    }
}

impl KvStore for HostStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        host::kv_get(key).map_err(store_error)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        host::kv_set(key, value).map_err(store_error)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        host::kv_list(prefix).map_err(store_error)
    }
}

struct Plugin;

impl wit::Guest for Plugin {
    fn configure(raw: wit::Settings) -> Result<wit::Connection, wit::Error> {
        let raw = RawSettings {
            api_token: raw.api_token,
            access_url: raw.access_url,
            account_id: raw.account_id,
            project_id: raw.project_id,
            docs_job_id: raw.docs_job_id,
            freshness_job_id: raw.freshness_job_id,
        };
        let (settings, warnings) = settings::validate(&raw).map_err(to_wit_error)?;
        let sink = HostSink;
        let logger = Logger::new(&sink);
        for w in &warnings {
            logger.warn(w);
        }
        let connection = {
            let client = Client::new(&WasiTransport, &settings, &logger);
            connect::connect(&client, warnings).map_err(to_wit_error)?
        };
        let out = connection_to_wit(&connection);
        if let Ok(mut state) = STATE.lock() {
            *state = Some(Connected { settings, connection });
        }
        Ok(out)
    }

    fn list_syncs(limit: Option<u32>) -> Result<Vec<wit::SyncRecord>, wit::Error> {
        let history = History::new(&HostStore);
        let records = history.list(limit).map_err(to_wit_error)?;
        Ok(records.iter().map(record_to_wit).collect())
    }

    fn get_sync(id: u64) -> Result<wit::SyncDetail, wit::Error> {
        let history = History::new(&HostStore);
        let record = history
            .get(id)
            .map_err(to_wit_error)?
            .ok_or_else(|| to_wit_error(Error::NotFound(format!("there is no sync {id} in the history"))))?;
        let catalog = history.catalog(id).map_err(to_wit_error)?;
        Ok(wit::SyncDetail {
            sync: record_to_wit(&record),
            log: record.log.clone(),
            catalog: catalog.map(catalog_to_wit),
        })
    }

    fn get_catalog(
        id: u64,
        offset: u32,
        limit: u32,
        resource_type: Option<String>,
    ) -> Result<wit::CatalogPage, wit::Error> {
        let history = History::new(&HostStore);
        let catalog = history
            .catalog(id)
            .map_err(to_wit_error)?
            .ok_or_else(|| to_wit_error(Error::NotFound(format!("sync {id} has no catalog"))))?;
        let (nodes, total) = catalog.page(offset as usize, limit.min(MAX_PAGE) as usize, resource_type.as_deref());
        Ok(wit::CatalogPage { nodes: nodes.into_iter().map(node_to_wit).collect(), total: total as u32 })
    }

    fn trigger_sync(options: wit::SyncOptions) -> Result<wit::SyncReport, wit::Error> {
        let state = STATE.lock().map_err(|_| to_wit_error(Error::Other("plugin state poisoned".into())))?;
        let Some(connected) = state.as_ref() else {
            return Err(to_wit_error(Error::NotConfigured(
                "call configure with the connection settings before trigger-sync".into(),
            )));
        };
        let options = SyncOptions {
            run_id: options.run_id,
            git_branch: options.git_branch,
            run_job: options.run_job,
            wait_timeout_secs: options.wait_timeout_secs,
            cancel_on_timeout: options.cancel_on_timeout,
            force: options.force,
            include_code: options.include_code,
            triggered_by: options.triggered_by,
        };
        let sink = HostSink;
        let logger = Logger::new(&sink);
        for w in &connected.connection.warnings {
            logger.log(Level::Debug, &format!("configure: {w}"));
        }
        let client = Client::new(&WasiTransport, &connected.settings, &logger);
        let history = History::new(&HostStore);
        let (record, catalog) =
            sync::run(&client, &connected.connection, &options, &history, &logger).map_err(to_wit_error)?;
        Ok(wit::SyncReport { sync: record_to_wit(&record), catalog: catalog_to_wit(catalog) })
    }
}

export!(Plugin);

fn to_wit_error(e: Error) -> wit::Error {
    match e {
        Error::InvalidSetting { field, message } => wit::Error::InvalidSetting(wit::SettingProblem { field, message }),
        Error::NotConfigured(m) => wit::Error::NotConfigured(m),
        Error::Unauthorized(m) => wit::Error::Unauthorized(m),
        Error::Forbidden(m) => wit::Error::Forbidden(m),
        Error::NotFound(m) => wit::Error::NotFound(m),
        Error::ApiNotEnabled(m) => wit::Error::ApiNotEnabled(m),
        Error::RateLimited { retry_after_secs, message } => {
            wit::Error::RateLimited(wit::RateLimit { retry_after_secs, message })
        }
        Error::Network(m) => wit::Error::Network(m),
        Error::NetworkDenied(m) => wit::Error::NetworkDenied(m),
        Error::Timeout(m) => wit::Error::Timeout(m),
        Error::Upstream(m) => wit::Error::Upstream(m),
        Error::BadArtifact(m) => wit::Error::BadArtifact(m),
        Error::RunFailed(m) => wit::Error::RunFailed(m),
        Error::Storage(m) => wit::Error::Storage(m),
        Error::Other(m) => wit::Error::Other(m),
    }
}

fn job_to_wit(j: &JobSummary) -> wit::JobSummary {
    wit::JobSummary {
        id: j.job.id,
        name: j.job.name.clone(),
        environment_id: j.job.environment_id,
        chosen_by: j.chosen_by.as_str().to_string(),
        latest_run_id: j.latest_run_id,
        latest_run_finished_at: j.latest_run_finished_at.clone(),
    }
}

fn connection_to_wit(c: &Connection) -> wit::Connection {
    wit::Connection {
        api_base_url: c.api_base_url.clone(),
        account_id: c.account.id,
        account_name: c.account.name.clone(),
        plan: c.account.plan.clone(),
        project_id: c.project.id,
        project_name: c.project.name.clone(),
        docs_job: c.docs_job.as_ref().map(job_to_wit),
        freshness_job: c.freshness_job.as_ref().map(job_to_wit),
        warnings: c.warnings.clone(),
    }
}

fn record_to_wit(r: &SyncRecord) -> wit::SyncRecord {
    wit::SyncRecord {
        id: r.id,
        status: match r.status {
            SyncStatus::Running => wit::SyncStatus::Running,
            SyncStatus::Succeeded => wit::SyncStatus::Succeeded,
            SyncStatus::SucceededWithWarnings => wit::SyncStatus::SucceededWithWarnings,
            SyncStatus::Failed => wit::SyncStatus::Failed,
        },
        triggered_by: r.triggered_by.clone(),
        started_at: r.started_at.clone(),
        finished_at: r.finished_at.clone(),
        runs: r
            .runs
            .iter()
            .map(|u| wit::RunUsed {
                job_id: u.job_id,
                run_id: u.run_id,
                purpose: u.purpose.clone(),
                artifacts: u.artifacts.clone(),
                href: u.href.clone(),
                git_branch: u.git_branch.clone(),
                git_sha: u.git_sha.clone(),
                finished_at: u.finished_at.clone(),
            })
            .collect(),
        counts: r.counts.iter().map(|(k, v)| wit::ResourceCount { resource_type: k.clone(), count: *v }).collect(),
        warnings: r.warnings.clone(),
        error: r.error.clone().map(to_wit_error),
        changes: r.changes.map(|c| wit::ChangeSummary {
            previous_sync_id: c.previous_sync_id,
            added: c.added,
            removed: c.removed,
            modified: c.modified,
        }),
    }
}

fn node_to_wit(n: Node) -> wit::CatalogNode {
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
        columns: n
            .columns
            .into_iter()
            .map(|c| wit::Column {
                name: c.name,
                description: c.description,
                data_type: c.data_type,
                tests: c.tests,
                primary_key: c.primary_key,
            })
            .collect(),
        depends_on: n.depends_on,
        tested_node: n.tested_node,
        tested_column: n.tested_column,
        test_name: n.test_name,
        raw_code: n.raw_code,
        compiled_code: n.compiled_code,
        last_run: n.last_run.map(|o| wit::RunOutcome {
            status: o.status,
            message: o.message,
            execution_time_secs: o.execution_time_secs,
            completed_at: o.completed_at,
            failures: o.failures,
        }),
        freshness: n.freshness.map(|f| wit::Freshness {
            status: f.status,
            max_loaded_at: f.max_loaded_at,
            snapshotted_at: f.snapshotted_at,
            age_secs: f.age_secs,
            criteria: f.criteria,
            error: f.error,
        }),
        stats: n.stats.into_iter().map(|s| wit::Stat { id: s.id, label: s.label, value: s.value }).collect(),
        test_outcomes: n
            .test_outcomes
            .into_iter()
            .map(|t| wit::TestOutcome {
                test_id: t.test_id,
                test_name: t.test_name,
                column: t.column,
                status: t.status,
                failures: t.failures,
            })
            .collect(),
    }
}

fn catalog_to_wit(c: Catalog) -> wit::Catalog {
    wit::Catalog { nodes: c.nodes.into_iter().map(node_to_wit).collect() }
}
