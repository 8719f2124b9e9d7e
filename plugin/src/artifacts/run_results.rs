//! run_results.json (schema v1 to v6): the outcome of each node in one dbt invocation.

use serde::Deserialize;

use super::lenient;
use super::split::{Failure, Splitter};
use super::{Artifact, Metadata, values};

/// The parts of run_results.json the catalog needs.
#[derive(Debug, Default, Deserialize)]
pub struct RunResults {
    /// The schema version and the dbt that wrote the file.
    #[serde(default)]
    pub metadata: Metadata,
    /// One result per node executed.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub results: Vec<NodeResult>,
    /// The invocation's arguments, of which `which` (the subcommand) matters.
    #[serde(default)]
    pub args: Option<Args>,
}

impl RunResults {
    /// The dbt subcommand that wrote the file (`build`, `run`, `test`, `generate`...).
    pub fn which(&self) -> Option<&str> {
        self.args.as_ref()?.which.as_deref()
    }

    /// Whether the results come from an invocation that executes nodes; those of
    /// `compile` or `docs generate` report success for tests that never ran.
    pub fn executes_nodes(&self) -> bool {
        !matches!(self.which(), Some("generate" | "compile" | "parse" | "ls" | "list" | "docs"))
    }
}

/// `args`.
#[derive(Debug, Default, Deserialize)]
pub struct Args {
    /// The dbt subcommand that wrote the file (`build`, `generate`...).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub which: Option<String>,
}

/// One node's result.
#[derive(Debug, Default, Deserialize)]
pub struct NodeResult {
    /// The unique id of the node the result is of.
    #[serde(default, deserialize_with = "lenient::string")]
    pub unique_id: String,
    /// `success`, `error`, `skipped`, `pass`, `fail`, `warn`, `no-op`...
    #[serde(default, deserialize_with = "lenient::string")]
    pub status: String,
    /// dbt's message for the node (an error's text, `SELECT 5`...).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// How long the node ran, in seconds.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub execution_time: Option<f64>,
    /// Failing rows of a test (v2+).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub failures: Option<u64>,
    /// Phases with their times.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub timing: Vec<Timing>,
}

impl NodeResult {
    /// When the last phase completed.
    pub fn completed_at(&self) -> Option<String> {
        self.timing.iter().filter_map(|t| t.completed_at.clone()).max()
    }
}

/// A phase (`compile`, `execute`).
#[derive(Debug, Default, Deserialize)]
pub struct Timing {
    /// When it completed.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub completed_at: Option<String>,
}

impl Artifact for RunResults {
    fn read<R: std::io::Read>(source: &mut Splitter<R>) -> Result<Self, Failure> {
        let mut r = RunResults::default();
        source.members("a run results object", |s, key| {
            match key.as_deref().unwrap_or_default() {
                "metadata" => r.metadata = s.value()?,
                "results" => r.results = values(s)?,
                "args" => r.args = s.value()?,
                _ => s.skip()?,
            }
            Ok(())
        })?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_results_and_args() {
        let doc = r#"{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v4.json"},
          "results":[{"unique_id":"test.p.t","status":"fail","failures":3,"message":null,"execution_time":0.5,
          "timing":[{"name":"execute","started_at":"2024-01-01T00:00:00Z","completed_at":"2024-01-01T00:00:01Z"}]}],
          "args":{"which":"build"},"elapsed_time":1.0}"#;
        let r: RunResults = crate::artifacts::parse("run_results.json", doc.as_bytes()).unwrap();
        assert_eq!(r.results[0].failures, Some(3));
        assert_eq!(r.results[0].completed_at().as_deref(), Some("2024-01-01T00:00:01Z"));
        assert!(r.executes_nodes());
        let r: RunResults = crate::artifacts::parse("r", r#"{"args":{"which":"generate"}}"#.as_bytes()).unwrap();
        assert!(!r.executes_nodes());
    }
}
