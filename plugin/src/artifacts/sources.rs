//! sources.json (schema v1 to v3): source freshness results.

use serde::Deserialize;

use super::lenient;
use super::split::{Failure, Splitter};
use super::{Artifact, Metadata, values};

/// The parts of sources.json the catalog needs.
#[derive(Debug, Default, Deserialize)]
pub struct Sources {
    /// The schema version and the dbt that wrote the file.
    #[serde(default)]
    pub metadata: Metadata,
    /// One result per source table.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub results: Vec<FreshnessResult>,
}

/// A source table's freshness.
#[derive(Debug, Default, Deserialize)]
pub struct FreshnessResult {
    /// The unique id of the source table.
    #[serde(default, deserialize_with = "lenient::string")]
    pub unique_id: String,
    /// `pass`, `warn`, `error`, `runtime error` (dbt 2.x capitalizes them).
    #[serde(default, deserialize_with = "lenient::string")]
    pub status: String,
    /// Newest loaded-at value.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub max_loaded_at: Option<String>,
    /// When dbt checked.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub snapshotted_at: Option<String>,
    /// Age in seconds.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub max_loaded_at_time_ago_in_s: Option<f64>,
    /// When the source counts as stale.
    #[serde(default)]
    pub criteria: Option<Criteria>,
    /// The error of a runtime error.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error: Option<String>,
}

/// A source's freshness criteria: when to warn, when to fail.
#[derive(Debug, Default, Deserialize)]
pub struct Criteria {
    /// When to warn.
    #[serde(default)]
    pub warn_after: Option<Period>,
    /// When to fail.
    #[serde(default)]
    pub error_after: Option<Period>,
}

/// `{count, period}`.
#[derive(Debug, Default, Deserialize)]
pub struct Period {
    /// How many periods.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub count: Option<u64>,
    /// `minute`, `hour`, `day`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub period: Option<String>,
}

impl Criteria {
    /// `warn after 24 hour, error after 30 day`.
    pub fn describe(&self) -> Option<String> {
        let part = |label: &str, p: &Option<Period>| {
            let p = p.as_ref()?;
            Some(format!("{label} after {} {}", p.count?, p.period.as_deref().unwrap_or("?")))
        };
        let parts: Vec<String> =
            [part("warn", &self.warn_after), part("error", &self.error_after)].into_iter().flatten().collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

impl Artifact for Sources {
    fn read<R: std::io::Read>(source: &mut Splitter<R>) -> Result<Self, Failure> {
        let mut out = Sources::default();
        source.members("a sources object", |s, key| {
            match key.as_deref().unwrap_or_default() {
                "metadata" => out.metadata = s.value()?,
                "results" => out.results = values(s)?,
                _ => s.skip()?,
            }
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v3_results_and_runtime_errors() {
        let doc = r#"{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/sources/v3.json"},
          "results":[{"unique_id":"source.p.s.t","status":"Warn","max_loaded_at":"2024-01-01T00:00:00+00:00",
            "max_loaded_at_time_ago_in_s":7200.0,"criteria":{"warn_after":{"count":1,"period":"hour"},"error_after":{"count":null,"period":null}}},
           {"unique_id":"source.p.s.u","status":"runtime error","error":"relation does not exist"}]}"#;
        let s: Sources = crate::artifacts::parse("sources.json", doc.as_bytes()).unwrap();
        assert_eq!(s.results.len(), 2);
        assert_eq!(s.results[0].criteria.as_ref().unwrap().describe().as_deref(), Some("warn after 1 hour"));
        assert_eq!(s.results[1].error.as_deref(), Some("relation does not exist"));
    }
}
