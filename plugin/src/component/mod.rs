//! The WIT glue (wasm32 only): exports `model-sync` by calling the plain Rust
//! modules beneath, over the host's services and `wasi:http`.
//!
//! `wit` holds the generated bindings and is private to this module;
//! `convert` turns WIT values into Rust ones and back (`definitions`: a
//! model's governance and the semantic layer); `services` adapts the
//! host's log and store; `transport` is the HTTP client.

mod convert;
mod definitions;
mod services;
mod transport;
mod wit;

use std::sync::Mutex;

use wit::exports::modelsync::plugin::model_sync as api;

use crate::api::Client;
use crate::connect::{self, Connection};
use crate::error::Error;
use crate::history::History;
use crate::log::{Level, Logger};
use crate::settings::{self, Settings};
use crate::sync;
use crate::time::SystemClock;
use services::{HostSink, HostStore};
use transport::WasiTransport;

/// What `configure` established for this instance.
struct Connected {
    settings: Settings,
    connection: Connection,
}

/// The instance's connection: set by `configure`, read by `trigger-sync`.
static STATE: Mutex<Option<Connected>> = Mutex::new(None);

/// The most entries `get-catalog` returns at once.
const MAX_PAGE: u32 = 5000;

struct Plugin;

impl api::Guest for Plugin {
    fn configure(raw: api::Settings) -> Result<api::Connection, api::Error> {
        let (settings, warnings) = settings::validate(&raw.into())?;
        let logger = Logger::new(&HostSink);
        for w in &warnings {
            logger.warn(w);
        }
        let clock = SystemClock::default();
        let connection = connect::connect(&Client::new(&WasiTransport, &clock, &settings, &logger), warnings)?;
        let out = api::Connection::from(&connection);
        if let Ok(mut state) = STATE.lock() {
            *state = Some(Connected { settings, connection });
        }
        Ok(out)
    }

    fn list_syncs(limit: Option<u32>) -> Result<Vec<api::SyncRecord>, api::Error> {
        let records = History::open(&HostStore)?.list(limit)?;
        Ok(records.iter().map(Into::into).collect())
    }

    fn get_sync(id: u64) -> Result<api::SyncDetail, api::Error> {
        let record = History::open(&HostStore)?
            .get(id)?
            .ok_or_else(|| Error::NotFound(format!("there is no sync {id} in the history")))?;
        Ok(api::SyncDetail { sync: (&record).into(), log: record.log })
    }

    fn get_catalog(
        id: u64,
        offset: u32,
        limit: u32,
        resource_type: Option<api::ResourceType>,
    ) -> Result<api::CatalogPage, api::Error> {
        let resource_type = resource_type.map(String::from);
        let (nodes, total) = History::open(&HostStore)?.catalog_page(
            id,
            offset as usize,
            limit.min(MAX_PAGE) as usize,
            resource_type.as_deref(),
        )?;
        Ok(api::CatalogPage { nodes: nodes.into_iter().map(Into::into).collect(), total: total as u32 })
    }

    fn get_changes(from: Option<u64>, to: u64, offset: u32, limit: u32) -> Result<api::ChangePage, api::Error> {
        let history = History::open(&HostStore)?;
        let (from, old, new) = history.change_span(from, to)?;
        let all = history.index_changes(old.as_ref(), &new)?;
        let mut changes = Vec::new();
        for change in all.iter().skip(offset as usize).take(limit.min(MAX_PAGE) as usize) {
            changes.push(api::EntityChange {
                unique_id: change.unique_id().to_string(),
                resource_type: change.resource_type().into(),
                kind: change.kind.into(),
                facets: history.facets(change)?.into_iter().map(Into::into).collect(),
            });
        }
        Ok(api::ChangePage { from_sync: from, to_sync: to, changes, total: all.len() as u32 })
    }

    fn trigger_sync(options: api::SyncOptions) -> Result<api::SyncRecord, api::Error> {
        let state = STATE.lock().map_err(|_| Error::Other("plugin state poisoned".into()))?;
        let connected = state.as_ref().ok_or_else(|| {
            Error::NotConfigured("call configure with the connection settings before trigger-sync".into())
        })?;
        let logger = Logger::new(&HostSink);
        for w in &connected.connection.warnings {
            logger.log(Level::Debug, &format!("configure: {w}"));
        }
        let clock = SystemClock::default();
        let client = Client::new(&WasiTransport, &clock, &connected.settings, &logger);
        let history = History::open(&HostStore)?;
        let record = sync::run(&client, &connected.connection, &options.into(), &history, &logger)?;
        Ok((&record).into())
    }

    fn prune(keep: u32) -> Result<api::PruneReport, api::Error> {
        Ok(History::open(&HostStore)?.prune(keep as usize)?.into())
    }
}

wit::export!(Plugin with_types_in wit);
