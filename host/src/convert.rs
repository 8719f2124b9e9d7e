//! Every conversion between the WIT types and the host's Rust types, as
//! `From` impls in one place.

use crate::bindings::exports::modelsync::plugin::model_sync as api;
use crate::bindings::modelsync::plugin::host as host_api;
use crate::error::{ErrorKind, ErrorParts};
use crate::kv::{KvError, KvOp};

impl From<api::Error> for ErrorParts {
    fn from(e: api::Error) -> Self {
        use api::Error as E;
        let (kind, message, field, retry_after_secs) = match e {
            E::InvalidSetting(p) => (ErrorKind::InvalidSetting, p.message, Some(p.field), None),
            E::RateLimited(r) => (ErrorKind::RateLimited, r.message, None, r.retry_after_secs),
            E::NotConfigured(m) => (ErrorKind::NotConfigured, m, None, None),
            E::Unauthorized(m) => (ErrorKind::Unauthorized, m, None, None),
            E::Forbidden(m) => (ErrorKind::Forbidden, m, None, None),
            E::NotFound(m) => (ErrorKind::NotFound, m, None, None),
            E::ApiNotEnabled(m) => (ErrorKind::ApiNotEnabled, m, None, None),
            E::Network(m) => (ErrorKind::Network, m, None, None),
            E::NetworkDenied(m) => (ErrorKind::NetworkDenied, m, None, None),
            E::Timeout(m) => (ErrorKind::Timeout, m, None, None),
            E::Upstream(m) => (ErrorKind::Upstream, m, None, None),
            E::BadArtifact(m) => (ErrorKind::BadArtifact, m, None, None),
            E::RunFailed(m) => (ErrorKind::RunFailed, m, None, None),
            E::Storage(m) => (ErrorKind::Storage, m, None, None),
            E::Other(m) => (ErrorKind::Other, m, None, None),
        };
        ErrorParts { kind, message, field, retry_after_secs }
    }
}

impl From<ErrorParts> for api::Error {
    fn from(p: ErrorParts) -> Self {
        use api::Error as E;
        let m = p.message;
        match p.kind {
            ErrorKind::InvalidSetting => {
                E::InvalidSetting(api::SettingProblem { field: p.field.unwrap_or_default(), message: m })
            }
            ErrorKind::RateLimited => {
                E::RateLimited(api::RateLimit { retry_after_secs: p.retry_after_secs, message: m })
            }
            ErrorKind::NotConfigured => E::NotConfigured(m),
            ErrorKind::Unauthorized => E::Unauthorized(m),
            ErrorKind::Forbidden => E::Forbidden(m),
            ErrorKind::NotFound => E::NotFound(m),
            ErrorKind::ApiNotEnabled => E::ApiNotEnabled(m),
            ErrorKind::Network => E::Network(m),
            ErrorKind::NetworkDenied => E::NetworkDenied(m),
            ErrorKind::Timeout => E::Timeout(m),
            ErrorKind::Upstream => E::Upstream(m),
            ErrorKind::BadArtifact => E::BadArtifact(m),
            ErrorKind::RunFailed => E::RunFailed(m),
            ErrorKind::Storage => E::Storage(m),
            ErrorKind::Other => E::Other(m),
        }
    }
}

impl From<KvError> for host_api::StoreError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::InvalidKey(m) => Self::InvalidKey(m),
            KvError::QuotaExceeded(m) => Self::QuotaExceeded(m),
            KvError::Io(m) => Self::Io(m),
        }
    }
}

impl From<host_api::StoreOp> for KvOp {
    fn from(op: host_api::StoreOp) -> Self {
        match op {
            host_api::StoreOp::Set(kv) => KvOp::Set { key: kv.key, value: kv.value },
            host_api::StoreOp::Delete(key) => KvOp::Delete { key },
        }
    }
}

impl From<host_api::Level> for &'static str {
    fn from(level: host_api::Level) -> Self {
        match level {
            host_api::Level::Debug => "debug",
            host_api::Level::Info => "info",
            host_api::Level::Warn => "warn",
            host_api::Level::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_case_survives_the_round_trip_through_its_parts() {
        let cases = vec![
            api::Error::InvalidSetting(api::SettingProblem { field: "account-id".into(), message: "m".into() }),
            api::Error::RateLimited(api::RateLimit { retry_after_secs: Some(3), message: "m".into() }),
            api::Error::NotConfigured("m".into()),
            api::Error::Unauthorized("m".into()),
            api::Error::Forbidden("m".into()),
            api::Error::NotFound("m".into()),
            api::Error::ApiNotEnabled("m".into()),
            api::Error::Network("m".into()),
            api::Error::NetworkDenied("m".into()),
            api::Error::Timeout("m".into()),
            api::Error::Upstream("m".into()),
            api::Error::BadArtifact("m".into()),
            api::Error::RunFailed("m".into()),
            api::Error::Storage("m".into()),
            api::Error::Other("m".into()),
        ];
        let mut kinds = std::collections::BTreeSet::new();
        for e in cases {
            let parts = ErrorParts::from(e.clone());
            kinds.insert(parts.kind.as_str());
            assert_eq!(api::Error::from(parts), e);
        }
        assert_eq!(kinds.len(), 15, "each case has its own kind name");
        let (kind, text) = crate::error::describe(&api::Error::InvalidSetting(api::SettingProblem {
            field: "project-id".into(),
            message: "missing".into(),
        }));
        assert_eq!((kind, text.as_str()), ("invalid-setting", "project-id: missing"));
    }
}
