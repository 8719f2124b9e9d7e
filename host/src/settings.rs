//! What `configure` takes, as the host holds it: the plugin's settings with
//! the API token wrapped so that no `Debug` or `Display` of the host prints it.

use crate::bindings::exports::modelsync::plugin::model_sync as api;

/// A dbt Cloud API token. `Debug` and `Display` print `<redacted>`; only
/// [`ApiToken::expose`] gives the secret (for the one call that passes it on).
///
/// ```
/// use model_sync_host::{ApiToken, ConnectionSettings};
/// let s = ConnectionSettings { api_token: "dbtc_abc123456".into(), account_id: Some(1), ..Default::default() };
/// assert!(!format!("{s:?}").contains("abc123456"));
/// assert_eq!(s.api_token.expose(), "dbtc_abc123456");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps `token`.
    pub fn new(token: impl Into<String>) -> Self {
        ApiToken(token.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

impl std::fmt::Display for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::redact::REDACTED)
    }
}

impl From<&str> for ApiToken {
    fn from(token: &str) -> Self {
        ApiToken::new(token)
    }
}

impl From<String> for ApiToken {
    fn from(token: String) -> Self {
        ApiToken(token)
    }
}

/// The connection settings `configure` checks (the WIT `settings` record):
/// a token and where the project is. Unset ids are looked up or derived
/// from `access_url` by the plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// A service or personal token.
    pub api_token: ApiToken,
    /// The account's access URL, or any dbt Cloud URL of the project (ids are
    /// read from its path).
    pub access_url: Option<String>,
    /// The account id.
    pub account_id: Option<u64>,
    /// The project id.
    pub project_id: Option<u64>,
    /// The job whose runs give manifest, run results and catalog, when not
    /// the project's documentation job.
    pub docs_job_id: Option<u64>,
    /// The job whose runs give source freshness, when not the project's.
    pub freshness_job_id: Option<u64>,
}

impl ConnectionSettings {
    /// The WIT record, made only for the call that passes it to the plugin.
    pub(crate) fn to_wit(&self) -> api::Settings {
        api::Settings {
            api_token: self.api_token.expose().to_string(),
            access_url: self.access_url.clone(),
            account_id: self.account_id,
            project_id: self.project_id,
            docs_job_id: self.docs_job_id,
            freshness_job_id: self.freshness_job_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_debug_or_display_shows_the_token() {
        let s = ConnectionSettings { api_token: "dbtc_probe_secret".into(), ..Default::default() };
        let shown = format!("{s:?} {} {:?}", s.api_token, s.api_token);
        assert!(!shown.contains("probe_secret"), "{shown}");
        assert_eq!(s.to_wit().api_token, "dbtc_probe_secret");
    }
}
