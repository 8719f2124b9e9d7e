//! Links back to dbt Explorer: each entry's page, built from the project's
//! host, account, project and environment, as peers link for navigation.

/// The resource types Explorer has a page for.
const WITH_PAGES: [&str; 8] =
    ["model", "source", "seed", "snapshot", "exposure", "metric", "semantic_model", "saved_query"];

/// Where a project's entries live in Explorer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explorer {
    /// `scheme://host[:port]` of dbt Cloud (the API's host serves the UI).
    pub base_url: String,
    /// The account id.
    pub account_id: u64,
    /// The project id.
    pub project_id: u64,
    /// The environment of the docs job; Explorer's production view when none.
    pub environment_id: Option<u64>,
}

impl Explorer {
    /// The Explorer page of the entry `unique_id`:
    /// `HOST/explore/{account}/projects/{project}/environments/{env|production}/details/{unique_id}`.
    pub fn url(&self, unique_id: &str) -> String {
        let environment = self.environment_id.map_or("production".to_string(), |id| id.to_string());
        let mut id = String::with_capacity(unique_id.len());
        for b in unique_id.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                id.push(b as char);
            } else {
                id.push_str(&format!("%{b:02X}"));
            }
        }
        format!(
            "{}/explore/{}/projects/{}/environments/{environment}/details/{id}",
            self.base_url.trim_end_matches('/'),
            self.account_id,
            self.project_id
        )
    }

    /// The page of an entry of `resource_type`, if Explorer has pages for
    /// that type (not for tests and unit tests).
    pub fn page(&self, resource_type: &str, unique_id: &str) -> Option<String> {
        WITH_PAGES.contains(&resource_type).then(|| self.url(unique_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_for_models_and_metrics_none_for_tests() {
        let explorer = Explorer {
            base_url: "https://ab123.us1.dbt.com/".into(),
            account_id: 70403103922125,
            project_id: 70403103922201,
            environment_id: Some(70403103920001),
        };
        assert_eq!(
            explorer.page("model", "model.p.orders.v2").as_deref(),
            Some(
                "https://ab123.us1.dbt.com/explore/70403103922125/projects/70403103922201/environments/70403103920001/details/model.p.orders.v2"
            )
        );
        assert_eq!(explorer.page("test", "test.p.x"), None);
        assert!(explorer.page("metric", "metric.p.a b").unwrap_or_default().ends_with("/details/metric.p.a%20b"));
        let production = Explorer { environment_id: None, ..explorer };
        assert!(production.url("model.p.a").contains("/environments/production/details/model.p.a"));
    }
}
