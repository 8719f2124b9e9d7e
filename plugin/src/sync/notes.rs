//! The warnings a sync gathers for its record.

use crate::log::Logger;

/// The warnings a sync gathers for its record, also sent to the log.
#[derive(Debug, Default)]
pub struct Notes {
    warnings: Vec<String>,
}

impl Notes {
    /// Logs a warning and keeps it for the sync's record.
    pub fn warn(&mut self, log: &Logger, message: String) {
        log.warn(&message);
        self.warnings.push(message);
    }

    /// The warnings, in the order they came.
    pub fn into_warnings(self) -> Vec<String> {
        self.warnings
    }
}
