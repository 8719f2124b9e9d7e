//! An emulator of the dbt Cloud Administrative API (v2/v3) on 127.0.0.1, for
//! end-to-end tests and `model-sync demo`.
//!
//! It speaks the real envelope (`status`, `data`, `extra.pagination`), checks
//! the token (`Token` or `Bearer`), refuses `limit` above 100, serves raw
//! artifact bodies per run step, starts runs that finish after a few polls,
//! logs every request, and injects faults on request.

#![deny(missing_docs)]

pub mod generate;
pub mod http;
pub mod routes;
pub mod world;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use world::{Artifact, Job, Project, Run, World};

/// A request the emulator saw.
#[derive(Debug, Clone)]
pub struct Logged {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// All headers, the `authorization` value included (tests search it for leaks).
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The status answered.
    pub status: u16,
    /// Whether a route matched.
    pub routed: bool,
}

/// A fault to inject.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answer with this status and an error envelope (and `Retry-After`).
    Status {
        /// The status.
        status: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u32>,
    },
    /// Answer with this status and an error envelope carrying this message.
    Error {
        /// The status.
        status: u16,
        /// `status.user_message`.
        message: String,
    },
    /// Answer 302 with this `Location`.
    Redirect(String),
    /// Answer 502 with an HTML page.
    Html,
    /// Serve the real body in pieces with pauses.
    Slow {
        /// How many pieces the body is cut into.
        pieces: usize,
        /// Pause before each.
        pause: Duration,
    },
    /// Announce the full length but close after this many bytes.
    CutOff(usize),
    /// Replace the body with this one (status 200).
    Body(Vec<u8>),
    /// Wait before answering.
    Delay(Duration),
}

/// A fault for requests whose path contains `path_contains`, `times` times.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Substring of the path.
    pub path_contains: String,
    /// How many requests it hits.
    pub times: u32,
    /// What happens.
    pub kind: FaultKind,
}

/// The emulator's state, shared with the server threads.
pub struct Shared {
    /// The account.
    pub world: Mutex<World>,
    /// Every request.
    pub log: Mutex<Vec<Logged>>,
    /// Pending faults.
    pub faults: Mutex<Vec<Fault>>,
    /// `http://127.0.0.1:PORT`.
    pub base_url: Mutex<String>,
}

/// A running emulator; stops when dropped.
pub struct Emulator {
    server: http::Server,
    shared: Arc<Shared>,
}

impl Emulator {
    /// Starts an emulator of `world` on an ephemeral loopback port.
    pub fn start(world: World) -> std::io::Result<Self> {
        Self::start_on(world, 0)
    }

    /// Starts an emulator of `world` on `port` (0 for any).
    pub fn start_on(world: World, port: u16) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            base_url: Mutex::new(String::new()),
        });
        let for_handler = shared.clone();
        let server = http::Server::start(port, Arc::new(move |req| routes::handle(&for_handler, req)))?;
        *shared.base_url.lock().unwrap_or_else(|e| e.into_inner()) = format!("http://{}", server.addr);
        Ok(Emulator { server, shared })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.shared.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        self.shared.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Injects a fault.
    pub fn fault(&self, path_contains: &str, times: u32, kind: FaultKind) {
        self.shared.faults.lock().unwrap_or_else(|e| e.into_inner()).push(Fault {
            path_contains: path_contains.into(),
            times,
            kind,
        });
    }

    /// Changes the world.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.shared.world.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
