//! Why a plugin call gave no plugin result, and the plugin's own errors taken
//! apart into [`ErrorParts`]: the one description of the error cases from
//! which kind names, messages, truncation and the CLI's text and JSON derive.

use std::time::Duration;

use crate::bindings::exports::modelsync::plugin::model_sync as api;
use crate::limits::Limit;
use crate::redact::Redactor;

/// The cases of the WIT `error` variant, each a thing a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A setting is malformed or inconsistent; nothing was sent.
    InvalidSetting,
    /// A call that needs a connection came before a successful `configure`.
    NotConfigured,
    /// The token was refused.
    Unauthorized,
    /// The token lacks a permission.
    Forbidden,
    /// Something does not exist or is not visible to the token.
    NotFound,
    /// The plan includes no API access, or the account is locked.
    ApiNotEnabled,
    /// The backend kept answering 429.
    RateLimited,
    /// The backend could not be reached or the connection broke.
    Network,
    /// The sandbox policy does not allow the destination.
    NetworkDenied,
    /// A deadline or an HTTP timeout passed.
    Timeout,
    /// The backend failed or answered nonsense.
    Upstream,
    /// An artifact is malformed or of the wrong kind.
    BadArtifact,
    /// A dbt Cloud run ended in error or was cancelled.
    RunFailed,
    /// The history store failed.
    Storage,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The case's name as the WIT spells it (`invalid-setting`...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidSetting => "invalid-setting",
            ErrorKind::NotConfigured => "not-configured",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not-found",
            ErrorKind::ApiNotEnabled => "api-not-enabled",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::Network => "network",
            ErrorKind::NetworkDenied => "network-denied",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Upstream => "upstream",
            ErrorKind::BadArtifact => "bad-artifact",
            ErrorKind::RunFailed => "run-failed",
            ErrorKind::Storage => "storage",
            ErrorKind::Other => "other",
        }
    }
}

/// A plugin error taken apart: which case, and every field it carries.
/// `From` converts between it and `api::Error` both ways (in `convert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorParts {
    /// The case.
    pub kind: ErrorKind,
    /// What happened and what to do.
    pub message: String,
    /// `invalid-setting`: the setting's name.
    pub field: Option<String>,
    /// `rate-limited`: how long dbt Cloud asked to wait.
    pub retry_after_secs: Option<u32>,
}

impl ErrorParts {
    /// The message as a person reads it (`field: message` for a setting).
    pub fn text(&self) -> String {
        match &self.field {
            Some(field) => format!("{field}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// The kind name and the message of a plugin error.
pub fn describe(e: &api::Error) -> (&'static str, String) {
    let parts = ErrorParts::from(e.clone());
    (parts.kind.as_str(), parts.text())
}

/// Why a call did not return a plugin result.
#[derive(Debug)]
pub enum CallError {
    /// The plugin returned its own typed error.
    Plugin(api::Error),
    /// The call ran past the wall-clock deadline; the instance was discarded.
    Deadline(Duration),
    /// The plugin tried to grow its memory beyond the cap (bytes); the
    /// instance was discarded.
    MemoryLimit(usize),
    /// The plugin's responses exceeded the cap on response bytes (the value).
    ResponseLimit(u64),
    /// The plugin reached another cap of the sandbox (handles, tables,
    /// requests in flight...); the instance was discarded.
    Limit(Limit),
    /// The plugin trapped (a bug); the instance was discarded.
    Trap(String),
    /// The session was discarded by an earlier failure.
    Poisoned,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Plugin(e) => f.write_str(&describe(e).1),
            CallError::Deadline(d) => write!(f, "the plugin call exceeded its deadline of {}s", d.as_secs()),
            CallError::MemoryLimit(b) => write!(f, "the plugin exceeded its memory limit of {} MiB", b >> 20),
            CallError::ResponseLimit(b) => write!(
                f,
                "the plugin's HTTP responses exceeded the sandbox limit of {b} bytes ({} MiB); raise the policy's response limit",
                b >> 20
            ),
            CallError::Limit(limit) => {
                write!(f, "the plugin reached the sandbox's limit of {limit}; the instance was discarded")
            }
            CallError::Trap(m) => write!(f, "the plugin crashed: {m}"),
            CallError::Poisoned => write!(f, "the plugin instance was discarded after an earlier failure"),
        }
    }
}

impl std::error::Error for CallError {}

impl CallError {
    /// Whether the instance that failed so is discarded (anything but the
    /// plugin's own error): later calls on its session are refused.
    pub fn discards_instance(&self) -> bool {
        !matches!(self, CallError::Plugin(_))
    }

    /// A short kind name (`unauthorized`, `deadline`, `memory-limit`...).
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Plugin(e) => describe(e).0,
            CallError::Deadline(_) => "deadline",
            CallError::MemoryLimit(_) => "memory-limit",
            CallError::ResponseLimit(_) => "response-limit",
            CallError::Limit(_) => "sandbox-limit",
            CallError::Trap(_) | CallError::Poisoned => "plugin-crashed",
        }
    }
}

/// The longest error message passed on from a plugin.
pub const MAX_ERROR_MESSAGE: usize = 64 * 1024;

/// A plugin error as the host passes it on: the secrets taken out of each
/// text field, then each cut to [`MAX_ERROR_MESSAGE`] bytes.
pub(crate) fn clean_error(e: api::Error, redactor: &Redactor) -> api::Error {
    let clean = |text: &str| {
        let mut out = redactor.redact_cut(text, MAX_ERROR_MESSAGE);
        if out.len() < text.len() && text.len() > MAX_ERROR_MESSAGE {
            out.push_str(&format!("… (message of {} bytes cut by the host)", text.len()));
        }
        out
    };
    let mut parts = ErrorParts::from(e);
    parts.message = clean(&parts.message);
    parts.field = parts.field.as_deref().map(clean);
    parts.into()
}
