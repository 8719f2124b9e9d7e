//! What an instance reports while a call runs ([`Event`]), where it goes
//! ([`EventSink`]), and the record of the caps it reached, each reported once.

use std::sync::Arc;

use crate::limits::Limit;

/// Something a plugin reports while a call runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A log line.
    Log {
        /// `debug`, `info`, `warn`, `error`.
        level: &'static str,
        /// The line.
        message: String,
    },
    /// Progress of a step.
    Progress {
        /// The step.
        step: String,
        /// Done so far.
        done: u64,
        /// Total, when known.
        total: Option<u64>,
    },
    /// The sandbox refused a request (the line says which and why).
    Denied(String),
    /// The instance reached a cap of the sandbox (reported once per cap):
    /// further log lines, progress or denials are dropped, or the call fails
    /// with [`crate::error::CallError::Limit`].
    LimitReached(Limit),
}

/// Receives events; must be cheap.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// The longest log line, progress step or denial passed on, in bytes;
/// longer ones are cut (after the secrets are taken out).
pub const MAX_LOG_LINE: usize = 4096;

/// The caps one instance reached, each reported once as
/// [`Event::LimitReached`] when first hit.
pub(crate) struct Reached {
    hit: std::sync::Mutex<Vec<Limit>>,
    events: EventSink,
}

impl Reached {
    /// Nothing reached yet; reports go to `events`.
    pub(crate) fn new(events: EventSink) -> Self {
        Reached { hit: std::sync::Mutex::new(Vec::new()), events }
    }

    /// Records that `limit` was reached, reporting it the first time.
    pub(crate) fn hit(&self, limit: Limit) {
        let first = match self.hit.lock() {
            Ok(mut hit) if !hit.contains(&limit) => {
                hit.push(limit);
                true
            }
            _ => false,
        };
        if first {
            (self.events)(Event::LimitReached(limit));
        }
    }

    /// The first cap reached that `which` picks, if any.
    pub(crate) fn find(&self, which: impl Fn(&Limit) -> bool) -> Option<Limit> {
        self.hit.lock().ok().and_then(|hit| hit.iter().copied().find(which))
    }
}
