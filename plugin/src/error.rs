//! The plugin's error type: one case per thing a user can act on.
//!
//! It mirrors the WIT `error` variant; `component/convert.rs` converts one
//! into the other.
//! Messages never leave the plugin with the API token in them: see
//! [`Error::scrubbed`].

use std::fmt;

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum Error {
    /// A setting is malformed or inconsistent; nothing was sent.
    InvalidSetting {
        /// The setting's name, as in the WIT `settings` record.
        field: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// A call that needs a connection came before a successful `configure`.
    NotConfigured(String),
    /// The token was refused.
    Unauthorized(String),
    /// The token lacks a permission.
    Forbidden(String),
    /// Something does not exist or is not visible to the token.
    NotFound(String),
    /// The plan does not include API access, or the account is locked.
    ApiNotEnabled(String),
    /// The backend keeps answering 429.
    RateLimited {
        /// Seconds the backend asked us to wait.
        retry_after_secs: Option<u32>,
        /// What happened and when to try again.
        message: String,
    },
    /// The backend could not be reached.
    Network(String),
    /// The sandbox does not allow the destination.
    NetworkDenied(String),
    /// A deadline passed.
    Timeout(String),
    /// The backend failed.
    Upstream(String),
    /// An artifact is malformed or of the wrong kind.
    BadArtifact(String),
    /// A job run ended in error or was cancelled.
    RunFailed(String),
    /// The history store failed.
    Storage(String),
    /// Anything else; the message says what. Not meant to be parsed.
    Other(String),
}

impl Error {
    /// An invalid-setting error for `field`.
    pub fn setting(field: &str, message: impl Into<String>) -> Self {
        Error::InvalidSetting { field: field.to_string(), message: message.into() }
    }

    /// The kebab-case name of the case, as in the WIT variant.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidSetting { .. } => "invalid-setting",
            Error::NotConfigured(_) => "not-configured",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not-found",
            Error::ApiNotEnabled(_) => "api-not-enabled",
            Error::RateLimited { .. } => "rate-limited",
            Error::Network(_) => "network",
            Error::NetworkDenied(_) => "network-denied",
            Error::Timeout(_) => "timeout",
            Error::Upstream(_) => "upstream",
            Error::BadArtifact(_) => "bad-artifact",
            Error::RunFailed(_) => "run-failed",
            Error::Storage(_) => "storage",
            Error::Other(_) => "other",
        }
    }

    /// The error with every registered token taken out of its text (see
    /// [`crate::secrets::scrub`]); applied where errors leave the plugin.
    pub fn scrubbed(self) -> Self {
        use crate::secrets::scrub;
        match self {
            Error::InvalidSetting { field, message } => Error::InvalidSetting { field, message: scrub(&message) },
            Error::RateLimited { retry_after_secs, message } => {
                Error::RateLimited { retry_after_secs, message: scrub(&message) }
            }
            Error::NotConfigured(m) => Error::NotConfigured(scrub(&m)),
            Error::Unauthorized(m) => Error::Unauthorized(scrub(&m)),
            Error::Forbidden(m) => Error::Forbidden(scrub(&m)),
            Error::NotFound(m) => Error::NotFound(scrub(&m)),
            Error::ApiNotEnabled(m) => Error::ApiNotEnabled(scrub(&m)),
            Error::Network(m) => Error::Network(scrub(&m)),
            Error::NetworkDenied(m) => Error::NetworkDenied(scrub(&m)),
            Error::Timeout(m) => Error::Timeout(scrub(&m)),
            Error::Upstream(m) => Error::Upstream(scrub(&m)),
            Error::BadArtifact(m) => Error::BadArtifact(scrub(&m)),
            Error::RunFailed(m) => Error::RunFailed(scrub(&m)),
            Error::Storage(m) => Error::Storage(scrub(&m)),
            Error::Other(m) => Error::Other(scrub(&m)),
        }
    }

    /// The human message of the error.
    pub fn message(&self) -> String {
        match self {
            Error::InvalidSetting { field, message } => format!("{field}: {message}"),
            Error::RateLimited { message, .. } => message.clone(),
            Error::NotConfigured(m)
            | Error::Unauthorized(m)
            | Error::Forbidden(m)
            | Error::NotFound(m)
            | Error::ApiNotEnabled(m)
            | Error::Network(m)
            | Error::NetworkDenied(m)
            | Error::Timeout(m)
            | Error::Upstream(m)
            | Error::BadArtifact(m)
            | Error::RunFailed(m)
            | Error::Storage(m)
            | Error::Other(m) => m.clone(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for Error {}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
