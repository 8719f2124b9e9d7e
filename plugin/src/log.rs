//! Log lines and progress, sent to the host as they happen and kept for the
//! sync's history.

use std::cell::RefCell;

/// How important a log line is (the WIT `level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Troubleshooting detail; hosts usually hide it.
    Debug,
    /// Normal progress: which runs, how many entries.
    Info,
    /// Something the user should know; the sync goes on.
    Warn,
    /// A failure of the sync.
    Error,
}

impl Level {
    /// `debug`, `info`, `warn` or `error`, as kept in the history.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Where log lines and progress go (the host, in the component).
pub trait LogSink {
    /// Receives one log line as it happens.
    fn line(&self, level: Level, message: &str);
    /// Receives the progress of a step (bytes downloaded, polls made).
    fn progress(&self, step: &str, done: u64, total: Option<u64>);
}

/// A sink that drops everything (for native tests).
pub struct NullSink;

impl LogSink for NullSink {
    fn line(&self, _: Level, _: &str) {}
    fn progress(&self, _: &str, _: u64, _: Option<u64>) {}
}

/// Forwards to a sink and keeps the lines (up to a cap) for the sync history.
pub struct Logger<'a> {
    sink: &'a dyn LogSink,
    kept: RefCell<Vec<String>>,
}

/// The most lines kept in one sync's history.
pub const MAX_KEPT_LINES: usize = 2000;

impl<'a> Logger<'a> {
    /// A logger over `sink`.
    pub fn new(sink: &'a dyn LogSink) -> Self {
        Logger { sink, kept: RefCell::new(Vec::new()) }
    }

    /// Logs a line, the token taken out (see [`crate::secrets::scrub`]).
    pub fn log(&self, level: Level, message: &str) {
        let message = crate::secrets::scrub(message);
        let message = message.as_str();
        self.sink.line(level, message);
        let mut kept = self.kept.borrow_mut();
        if kept.len() < MAX_KEPT_LINES {
            kept.push(format!("{} {}", level.as_str(), message));
        } else if kept.len() == MAX_KEPT_LINES {
            kept.push("warn log truncated".to_string());
        }
    }

    /// Logs troubleshooting detail (kept in the history like every line).
    pub fn debug(&self, message: &str) {
        self.log(Level::Debug, message);
    }

    /// Logs at info.
    pub fn info(&self, message: &str) {
        self.log(Level::Info, message);
    }

    /// Logs at warn.
    pub fn warn(&self, message: &str) {
        self.log(Level::Warn, message);
    }

    /// Reports progress of a step to the sink (not kept in the history).
    pub fn progress(&self, step: &str, done: u64, total: Option<u64>) {
        self.sink.progress(step, done, total);
    }

    /// The lines kept so far.
    pub fn lines(&self) -> Vec<String> {
        self.kept.borrow().clone()
    }
}
