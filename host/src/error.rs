//! Why a plugin call gave no plugin result, and how oversized plugin errors
//! are cut.

use std::time::Duration;

use crate::api;

/// Why a call did not return a plugin result.
#[derive(Debug)]
pub enum CallError {
    /// The plugin returned its own typed error.
    Plugin(api::Error),
    /// The call ran past the wall-clock deadline; the instance was discarded.
    Deadline(Duration),
    /// The plugin tried to grow its memory beyond the cap; the instance was discarded.
    MemoryLimit(usize),
    /// The plugin's responses exceeded the cap on response bytes (the value).
    ResponseLimit(u64),
    /// The plugin trapped (a bug or a limit); the instance was discarded.
    Trap(String),
    /// The session was discarded by an earlier failure.
    Poisoned,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Plugin(e) => write!(f, "{}", crate::describe_error(e).1),
            CallError::Deadline(d) => write!(f, "the plugin call exceeded its deadline of {}s", d.as_secs()),
            CallError::MemoryLimit(b) => {
                write!(f, "the plugin exceeded its memory limit of {} MiB", b >> 20)
            }
            CallError::ResponseLimit(b) => write!(
                f,
                "the plugin's HTTP responses exceeded the sandbox limit of {b} bytes ({} MiB); raise the response limit (--max-response-mb)",
                b >> 20
            ),
            CallError::Trap(m) => write!(f, "the plugin crashed: {m}"),
            CallError::Poisoned => write!(f, "the plugin instance was discarded after an earlier failure"),
        }
    }
}

impl std::error::Error for CallError {}

impl CallError {
    /// A short kind name (`unauthorized`, `deadline`, `memory-limit`...).
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Plugin(e) => crate::describe_error(e).0,
            CallError::Deadline(_) => "deadline",
            CallError::MemoryLimit(_) => "memory-limit",
            CallError::ResponseLimit(_) => "response-limit",
            CallError::Trap(_) => "plugin-crashed",
            CallError::Poisoned => "plugin-crashed",
        }
    }
}

/// The longest error message passed on from a plugin.
pub const MAX_ERROR_MESSAGE: usize = 64 * 1024;

fn cut(m: &mut String) {
    if m.len() > MAX_ERROR_MESSAGE {
        let mut end = MAX_ERROR_MESSAGE;
        while !m.is_char_boundary(end) {
            end -= 1;
        }
        let total = m.len();
        m.truncate(end);
        m.push_str(&format!("… (message of {total} bytes cut by the host)"));
    }
}

/// Cuts an oversized plugin error message.
pub(crate) fn truncate_error(mut e: api::Error) -> api::Error {
    use api::Error as E;
    match &mut e {
        E::InvalidSetting(p) => {
            cut(&mut p.field);
            cut(&mut p.message);
        }
        E::RateLimited(r) => cut(&mut r.message),
        E::NotConfigured(m)
        | E::Unauthorized(m)
        | E::Forbidden(m)
        | E::NotFound(m)
        | E::ApiNotEnabled(m)
        | E::Network(m)
        | E::NetworkDenied(m)
        | E::Timeout(m)
        | E::Upstream(m)
        | E::BadArtifact(m)
        | E::RunFailed(m)
        | E::Storage(m)
        | E::Other(m) => cut(m),
    }
    e
}
