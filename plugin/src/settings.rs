//! Connection settings: validating what a user typed or pasted, and finding the
//! dbt Cloud host and ids in any URL copied from the dbt Cloud UI.

use crate::error::{Error, Result};
use crate::token::ApiToken;

/// The host used when the user gives none. It is the legacy multi-tenant host;
/// many accounts live on their own `<prefix>.<cell>.dbt.com` host instead.
pub const DEFAULT_HOST: &str = "https://cloud.getdbt.com";

/// Hosts that serve many accounts and answer a token of an account that lives
/// elsewhere with a misleading 401.
pub const LEGACY_HOSTS: [&str; 3] = ["cloud.getdbt.com", "emea.dbt.com", "au.dbt.com"];

/// Settings as entered, before validation (mirrors the WIT record).
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    /// The token, unchecked.
    pub api_token: String,
    /// A host or a pasted dbt Cloud URL.
    pub access_url: Option<String>,
    /// The account id.
    pub account_id: Option<u64>,
    /// The project id.
    pub project_id: Option<u64>,
    /// An explicit docs job.
    pub docs_job_id: Option<u64>,
    /// An explicit freshness job.
    pub freshness_job_id: Option<u64>,
}

/// Settings after validation: a usable token, a base URL and both ids.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The API token, redacted in `Debug`.
    pub token: ApiToken,
    /// `scheme://host[:port]`, no trailing slash.
    pub base_url: String,
    /// Whether `base_url` came from the default rather than the user.
    pub default_host: bool,
    /// The account id (from the settings or the pasted URL).
    pub account_id: u64,
    /// The project id (from the settings or the pasted URL).
    pub project_id: u64,
    /// An explicit docs job.
    pub docs_job_id: Option<u64>,
    /// An explicit freshness job.
    pub freshness_job_id: Option<u64>,
}

impl Settings {
    /// The host part of the base URL.
    pub fn host(&self) -> &str {
        let rest = self.base_url.split_once("://").map_or(self.base_url.as_str(), |(_, r)| r);
        rest.split(':').next().unwrap_or(rest)
    }

    /// Whether the host is one of the legacy multi-tenant hosts.
    pub fn on_legacy_host(&self) -> bool {
        LEGACY_HOSTS.contains(&self.host())
    }
}

/// What a pasted URL says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedUrl {
    /// `scheme://host[:port]`.
    pub base_url: String,
    /// The account id in the path, if any.
    pub account_id: Option<u64>,
    /// The project id in the path, if any.
    pub project_id: Option<u64>,
    /// The job id in the path, if any.
    pub job_id: Option<u64>,
    /// The run id in the path, if any.
    pub run_id: Option<u64>,
}

const MAX_URL_LEN: usize = 2048;

/// Parses a host or a URL copied from the dbt Cloud UI (`/deploy/<a>/projects/<p>/...`,
/// `/next/deploy/...`, `/#/accounts/<a>/projects/<p>/...`, `/api/v2/accounts/<a>/...`).
pub fn parse_access_url(input: &str) -> Result<ParsedUrl> {
    const FIELD: &str = "access-url";
    let input = input.trim();
    if input.is_empty() {
        return Err(Error::setting(FIELD, "the access URL is empty"));
    }
    if input.len() > MAX_URL_LEN {
        return Err(Error::setting(FIELD, format!("the access URL is longer than {MAX_URL_LEN} characters")));
    }
    if input.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::setting(FIELD, "the access URL contains spaces or control characters"));
    }
    if !input.is_ascii() {
        return Err(Error::setting(
            FIELD,
            "the access URL contains non-ASCII characters (look-alike letters?); type the host in plain ASCII, e.g. https://ab123.us1.dbt.com",
        ));
    }
    let lower = input.to_ascii_lowercase();
    if lower.split(['/', '#', '?']).any(|seg| seg == ".." || seg == "%2e%2e" || seg == ".%2e" || seg == "%2e.") {
        return Err(Error::setting(
            FIELD,
            "the access URL contains a `..` path segment; paste the URL as the browser shows it",
        ));
    }
    let with_scheme = if input.contains("://") { input.to_string() } else { format!("https://{input}") };
    let url = url::Url::parse(&with_scheme)
        .map_err(|e| Error::setting(FIELD, format!("not a URL ({e}); expected e.g. https://ab123.us1.dbt.com")))?;
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(Error::setting(FIELD, format!("scheme `{scheme}` is not supported; use https://")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::setting(
            FIELD,
            "the access URL contains credentials; remove `user:password@` and give the token as the API token",
        ));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        None => return Err(Error::setting(FIELD, "the access URL has no host")),
    };
    if scheme == "http" && !is_loopback(&host) {
        return Err(Error::setting(FIELD, format!("plain http is only allowed to loopback; use https://{host}")));
    }
    let base_url = match url.port() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };
    let mut parsed = ParsedUrl { base_url, ..ParsedUrl::default() };
    let path = url.path().to_string();
    let fragment = url.fragment().unwrap_or("").to_string();
    let segments: Vec<&str> = path.split('/').chain(fragment.split('/')).filter(|s| !s.is_empty()).collect();
    for pair in segments.windows(2) {
        let slot = match pair[0] {
            "deploy" | "accounts" | "explore" | "settings" => &mut parsed.account_id,
            "projects" => &mut parsed.project_id,
            "jobs" => &mut parsed.job_id,
            "runs" => &mut parsed.run_id,
            _ => continue,
        };
        let digits = pair[1].bytes().filter(u8::is_ascii_digit).count();
        if digits == 0 {
            continue; // `/deploy/overview`, `/settings/profile`...
        }
        let id = pair[1].parse::<u64>().map_err(|_| {
            Error::setting(FIELD, format!("`{}` after `{}` in the URL is not a numeric id", pair[1], pair[0]))
        })?;
        if slot.is_none() {
            *slot = Some(id);
        }
    }
    Ok(parsed)
}

/// Whether `host` names the local machine: `localhost`, an IPv4 address in
/// 127.0.0.0/8 or `::1` (bracketed or not). Names that merely look like it
/// (`127.0.0.1.example.com`) are not. The one definition the settings and the
/// host's sandbox policy share.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn merge_id(field: &str, given: Option<u64>, from_url: Option<u64>) -> Result<Option<u64>> {
    match (given, from_url) {
        (Some(0), _) | (None, Some(0)) => Err(Error::setting(field, "ids start at 1; 0 is not an id")),
        (Some(a), Some(b)) if a != b => Err(Error::setting(
            field,
            format!("{field} {a} differs from {b} in the access URL; give one or make them agree"),
        )),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// Validates raw settings. Sends nothing. Returns the settings and warnings.
pub fn validate(raw: &RawSettings) -> Result<(Settings, Vec<String>)> {
    let token = ApiToken::new(&raw.api_token)?;
    let mut warnings = Vec::new();
    let (parsed, default_host) = match raw.access_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(u) => (parse_access_url(u)?, false),
        None => {
            warnings.push(format!(
                "no access URL given: using {DEFAULT_HOST}. Accounts created since 2024 live on their own host \
                 (e.g. https://ab123.us1.dbt.com, shown under Account settings > Access URLs); set it if requests are refused."
            ));
            (ParsedUrl { base_url: DEFAULT_HOST.to_string(), ..ParsedUrl::default() }, true)
        }
    };
    let account_id = merge_id("account-id", raw.account_id, parsed.account_id)?.ok_or_else(|| {
        Error::setting("account-id", "the account id is missing; give it or paste a dbt Cloud URL that contains it")
    })?;
    let project_id = merge_id("project-id", raw.project_id, parsed.project_id)?.ok_or_else(|| {
        Error::setting("project-id", "the project id is missing; give it or paste a dbt Cloud URL that contains it")
    })?;
    let docs_job_id = merge_id("docs-job-id", raw.docs_job_id, None)?;
    let freshness_job_id = merge_id("freshness-job-id", raw.freshness_job_id, None)?;
    Ok((
        Settings {
            token,
            base_url: parsed.base_url,
            default_host,
            account_id,
            project_id,
            docs_job_id,
            freshness_job_id,
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_an_address_not_a_prefix() {
        for local in ["localhost", "LOCALHOST", "127.0.0.1", "127.255.3.4", "[::1]", "::1"] {
            assert!(is_loopback(local), "{local}");
        }
        for remote in
            ["127.0.0.1.example.com", "127.evil.com", "127.1", "128.0.0.1", "[::2]", "localhost.example.com", ""]
        {
            assert!(!is_loopback(remote), "{remote}");
        }
        assert!(
            validate(&RawSettings {
                api_token: "dbtc_test_token".into(),
                access_url: Some("http://127.0.0.1.example.com/deploy/1/projects/2".into()),
                ..RawSettings::default()
            })
            .is_err(),
            "plain http to a name that starts with 127. is refused"
        );
    }

    fn ids(u: &str) -> (String, Option<u64>, Option<u64>, Option<u64>, Option<u64>) {
        let p = parse_access_url(u).unwrap();
        (p.base_url, p.account_id, p.project_id, p.job_id, p.run_id)
    }

    #[test]
    fn takes_host_and_ids_from_ui_urls() {
        assert_eq!(
            ids("https://cloud.getdbt.com/deploy/12/projects/34/jobs"),
            ("https://cloud.getdbt.com".into(), Some(12), Some(34), None, None)
        );
        assert_eq!(
            ids("ab123.us1.dbt.com/next/deploy/70403103922125/projects/7/jobs/99/"),
            ("https://ab123.us1.dbt.com".into(), Some(70403103922125), Some(7), Some(99), None)
        );
        assert_eq!(
            ids("https://emea.dbt.com/#/accounts/5/projects/6/runs/70403117937023/"),
            ("https://emea.dbt.com".into(), Some(5), Some(6), None, Some(70403117937023))
        );
        assert_eq!(ids("HTTPS://Au.Dbt.Com/"), ("https://au.dbt.com".into(), None, None, None, None));
        assert_eq!(ids("http://127.0.0.1:8080"), ("http://127.0.0.1:8080".into(), None, None, None, None));
    }

    #[test]
    fn refuses_what_cannot_be_a_dbt_cloud_host() {
        for bad in [
            "ftp://cloud.getdbt.com",
            "http://cloud.getdbt.com",
            "https://user:pw@cloud.getdbt.com",
            "https://clоud.getdbt.com", // Cyrillic o
            "https://",
            "https://cloud.getdbt.com/deploy/12a/projects/1",
            "a b",
        ] {
            let err = parse_access_url(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid-setting", "{bad}");
        }
    }

    #[test]
    fn ids_must_agree_and_be_present() {
        let mut raw = RawSettings {
            api_token: "dbtc_test_token".into(),
            access_url: Some("https://x.us1.dbt.com/deploy/1/projects/2".into()),
            ..Default::default()
        };
        let (s, w) = validate(&raw).unwrap();
        assert_eq!((s.account_id, s.project_id), (1, 2));
        assert!(w.is_empty());
        raw.account_id = Some(3);
        assert!(matches!(validate(&raw), Err(Error::InvalidSetting { field, .. }) if field == "account-id"));
        let raw = RawSettings { api_token: "dbtc_test_token".into(), account_id: Some(1), ..Default::default() };
        assert!(matches!(validate(&raw), Err(Error::InvalidSetting { field, .. }) if field == "project-id"));
        let raw = RawSettings {
            api_token: "dbtc_test_token".into(),
            account_id: Some(1),
            project_id: Some(2),
            ..Default::default()
        };
        let (s, w) = validate(&raw).unwrap();
        assert!(s.default_host && s.on_legacy_host());
        assert_eq!(w.len(), 1);
    }
}
