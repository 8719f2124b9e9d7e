//! The WIT's closed sets spelled as dbt and the CLI's JSON spell them
//! (`semantic_model`, `runtime error`, `depends_on`...), for hosts that
//! print, store or filter by them.

use crate::bindings::exports::modelsync::plugin::model_sync as api;

/// dbt's spelling of each known resource type.
const RESOURCE_TYPES: [(&str, api::ResourceType); 12] = [
    ("model", api::ResourceType::Model),
    ("seed", api::ResourceType::Seed),
    ("snapshot", api::ResourceType::Snapshot),
    ("test", api::ResourceType::Test),
    ("analysis", api::ResourceType::Analysis),
    ("operation", api::ResourceType::Operation),
    ("source", api::ResourceType::Source),
    ("exposure", api::ResourceType::Exposure),
    ("metric", api::ResourceType::Metric),
    ("semantic_model", api::ResourceType::SemanticModel),
    ("saved_query", api::ResourceType::SavedQuery),
    ("unit_test", api::ResourceType::UnitTest),
];

impl api::ResourceType {
    /// The type as dbt spells it (`semantic_model`); `other` as the backend did.
    pub fn as_str(&self) -> &str {
        match self {
            api::ResourceType::Other(s) => s,
            known => RESOURCE_TYPES.iter().find(|(_, t)| t == known).map_or("", |(n, _)| n),
        }
    }

    /// The type dbt spells `name`; `other` for names it does not know.
    pub fn parse(name: &str) -> Self {
        RESOURCE_TYPES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| api::ResourceType::Other(name.to_string()), |(_, t)| t.clone())
    }
}

impl api::RunStatus {
    /// The status as dbt writes it in run_results.json (`runtime error`...).
    pub fn as_str(&self) -> &str {
        match self {
            api::RunStatus::Success => "success",
            api::RunStatus::Error => "error",
            api::RunStatus::Skipped => "skipped",
            api::RunStatus::Pass => "pass",
            api::RunStatus::Fail => "fail",
            api::RunStatus::Warn => "warn",
            api::RunStatus::RuntimeError => "runtime error",
            api::RunStatus::NoOp => "no-op",
            api::RunStatus::PartialSuccess => "partial success",
            api::RunStatus::Other(s) => s,
        }
    }
}

impl api::FreshnessStatus {
    /// The status as dbt writes it in sources.json.
    pub fn as_str(&self) -> &str {
        match self {
            api::FreshnessStatus::Pass => "pass",
            api::FreshnessStatus::Warn => "warn",
            api::FreshnessStatus::Error => "error",
            api::FreshnessStatus::RuntimeError => "runtime error",
            api::FreshnessStatus::Other(s) => s,
        }
    }
}

impl api::ChosenBy {
    /// `explicit`, `project` or `inferred`.
    pub fn as_str(&self) -> &'static str {
        match self {
            api::ChosenBy::Explicit => "explicit",
            api::ChosenBy::Project => "project",
            api::ChosenBy::Inferred => "inferred",
        }
    }
}

impl api::RunPurpose {
    /// `docs` or `freshness`.
    pub fn as_str(&self) -> &'static str {
        match self {
            api::RunPurpose::Docs => "docs",
            api::RunPurpose::Freshness => "freshness",
        }
    }
}

impl api::ChangeKind {
    /// `added`, `removed` or `modified`.
    pub fn as_str(&self) -> &'static str {
        match self {
            api::ChangeKind::Added => "added",
            api::ChangeKind::Removed => "removed",
            api::ChangeKind::Modified => "modified",
        }
    }
}

impl api::Facet {
    /// The facet as the CLI's JSON names it (`depends_on`, `last_run`...).
    pub fn as_str(&self) -> &'static str {
        match self {
            api::Facet::Location => "location",
            api::Facet::Description => "description",
            api::Facet::Config => "config",
            api::Facet::Columns => "columns",
            api::Facet::Code => "code",
            api::Facet::DependsOn => "depends_on",
            api::Facet::Tests => "tests",
            api::Facet::LastRun => "last_run",
            api::Facet::TestOutcomes => "test_outcomes",
            api::Facet::Freshness => "freshness",
            api::Facet::Stats => "stats",
            api::Facet::Governance => "governance",
            api::Facet::Semantics => "semantics",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_round_trip_through_their_names() {
        for (name, t) in RESOURCE_TYPES {
            assert_eq!(api::ResourceType::parse(name), t);
            assert_eq!(t.as_str(), name);
        }
        assert_eq!(api::ResourceType::parse("function").as_str(), "function");
        assert_eq!(api::ResourceType::parse("function"), api::ResourceType::Other("function".into()));
    }
}
