//! manifest.json (schema v1 to v12, newer read best-effort): the project's
//! resources, their configuration, columns and lineage.

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};

use super::lenient;
use super::split::{Failure, Splitter};
use super::{Artifact, Metadata, values};

/// How the parser treats SQL text (`raw_code`, `compiled_code`): a type
/// parameter of [`Manifest`], so that the choice is explicit in every parse.
pub trait CodePolicy {
    /// Reads one SQL field.
    fn code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error>;
}

/// Keep SQL text, as the catalog's `raw_code` and `compiled_code`.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeepCode;

/// Skip SQL text without copying it, so that memory does not grow with the
/// project's code.
#[derive(Debug, Default, Clone, Copy)]
pub struct SkipCode;

impl CodePolicy for KeepCode {
    fn code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        lenient::opt_string(d)
    }
}

impl CodePolicy for SkipCode {
    fn code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        IgnoredAny::deserialize(d).map(|_| None)
    }
}

/// The parts of a manifest the catalog needs. `macros`, `docs`, `disabled`,
/// `parent_map`, `child_map` and the rest are skipped without being kept; SQL
/// is kept or skipped as `C` says.
#[derive(Debug, Default, Deserialize)]
#[serde(bound = "")]
pub struct Manifest<C: CodePolicy = KeepCode> {
    /// Schema version and the writing dbt.
    #[serde(default)]
    pub metadata: Metadata,
    /// Models, seeds, snapshots, tests, analyses, operations.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub nodes: Vec<Resource<C>>,
    /// Sources: tables loaded outside dbt.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub sources: Vec<Resource<C>>,
    /// Exposures: dashboards and apps that use the project.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub exposures: Vec<Resource<C>>,
    /// Metrics of the semantic layer.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub metrics: Vec<Resource<C>>,
    /// Semantic models (v10+).
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub semantic_models: Vec<Resource<C>>,
    /// Saved queries (v11+).
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub saved_queries: Vec<Resource<C>>,
    /// Unit tests (v12+).
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub unit_tests: Vec<Resource<C>>,
    /// Groups (v9+): who owns which models. Not catalog entries: their
    /// owners go into the governance of the groups' models.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub groups: Vec<Group>,
}

/// A group of models with an owner.
#[derive(Debug, Default, Deserialize)]
pub struct Group {
    /// The group's name, as models name it.
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// Its owner.
    #[serde(default)]
    pub owner: Option<Owner>,
}

impl<C: CodePolicy> Manifest<C> {
    /// Every resource, in document order per section.
    pub fn into_resources(self) -> impl Iterator<Item = Resource<C>> {
        self.nodes
            .into_iter()
            .chain(self.sources)
            .chain(self.exposures)
            .chain(self.metrics)
            .chain(self.semantic_models)
            .chain(self.saved_queries)
            .chain(self.unit_tests)
    }
}

/// Any resource of a manifest: the union of the fields the catalog reads.
#[derive(Debug, Default, Deserialize)]
#[serde(bound = "")]
pub struct Resource<C: CodePolicy = KeepCode> {
    /// `model.pkg.name` and the like.
    #[serde(default, deserialize_with = "lenient::string")]
    pub unique_id: String,
    /// `model`, `source`, `metric`...
    #[serde(default, deserialize_with = "lenient::string")]
    pub resource_type: String,
    /// The resource's name (shared by a model's versions).
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// The dbt package that defines it.
    #[serde(default, deserialize_with = "lenient::string")]
    pub package_name: String,
    /// The defining file.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub original_file_path: Option<String>,
    /// The warehouse database of its relation.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub database: Option<String>,
    /// The warehouse schema of its relation.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub schema: Option<String>,
    /// Relation alias (models, seeds, snapshots).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub alias: Option<String>,
    /// Table identifier (sources).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub identifier: Option<String>,
    /// The quoted relation (compiled nodes, sources; v8+ on all relations).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub relation_name: Option<String>,
    /// Config: materialization, tags, meta.
    #[serde(default)]
    pub config: Option<Config>,
    /// The documented description; empty when there is none.
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: String,
    /// Label (exposures, metrics).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub label: Option<String>,
    /// Tags given on the resource itself.
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub tags: Vec<String>,
    /// The `meta` map given on the resource (overlays config meta).
    #[serde(default)]
    pub meta: Option<serde_json::Map<String, serde_json::Value>>,
    /// Documented columns keyed by name.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub columns: Vec<ColumnDef>,
    /// What the resource is built from.
    #[serde(default)]
    pub depends_on: Option<DependsOn>,
    /// SQL as written (`raw_sql` before v7).
    #[serde(default, alias = "raw_sql", deserialize_with = "C::code")]
    pub raw_code: Option<String>,
    /// SQL as compiled (`compiled_sql` before v7).
    #[serde(default, alias = "compiled_sql", deserialize_with = "C::code")]
    pub compiled_code: Option<String>,
    /// Generic tests: which test.
    #[serde(default)]
    pub test_metadata: Option<TestMetadata>,
    /// Generic tests: the column tested.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub column_name: Option<String>,
    /// Tests (v9+): the node tested.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub attached_node: Option<String>,
    /// Unit tests: the model tested.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub model: Option<String>,
    /// Exposures, groups: the owner.
    #[serde(default)]
    pub owner: Option<Owner>,
    /// Models (v12, dbt 1.9+): the declared primary key.
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub primary_key: Vec<String>,
    /// Models (v9+): constraints.
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    /// Sources: freshness criteria.
    #[serde(default)]
    pub freshness: Option<serde_json::Value>,
    /// Semantic models: the relation they read.
    #[serde(default)]
    pub node_relation: Option<NodeRelation>,
    /// Models (v9+): this version of a versioned model.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub version: Option<String>,
    /// Models (v9+): the version a ref without one resolves to.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub latest_version: Option<String>,
    /// Models (v9+): `private`, `protected` or `public`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub access: Option<String>,
    /// Models and others (v9+): the group's name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub group: Option<String>,
    /// Models (v10+): when the model is deprecated.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub deprecation_date: Option<String>,
    /// Metrics: `simple`, `ratio`... (older: `count`, `sum`, `expression`).
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    /// Metrics before v10: how the metric is calculated.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub calculation_method: Option<String>,
    /// Metrics before v10: the expression.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub expression: Option<String>,
    /// Metrics before v8: the column or expression aggregated.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub sql: Option<String>,
    /// Semantic models: entities (the semantic layer's parts are kept as
    /// JSON, because every dbt version shapes them differently).
    #[serde(default)]
    pub entities: Option<serde_json::Value>,
    /// Semantic models: dimensions.
    #[serde(default)]
    pub dimensions: Option<serde_json::Value>,
    /// Semantic models: measures.
    #[serde(default)]
    pub measures: Option<serde_json::Value>,
    /// Semantic models: defaults (`agg_time_dimension`).
    #[serde(default)]
    pub defaults: Option<serde_json::Value>,
    /// Metrics: their parameters by type.
    #[serde(default)]
    pub type_params: Option<serde_json::Value>,
    /// Metrics: the filter (text before v10, `where_filters` since).
    #[serde(default)]
    pub filter: Option<serde_json::Value>,
    /// Saved queries: metrics, group-by, where.
    #[serde(default)]
    pub query_params: Option<serde_json::Value>,
    /// Saved queries: exports.
    #[serde(default)]
    pub exports: Option<serde_json::Value>,
    /// Which [`CodePolicy`] read the SQL fields.
    #[serde(skip)]
    pub code_policy: PhantomData<C>,
}

/// Node config: an open map of which the catalog reads a few keys.
#[derive(Debug, Default, Deserialize)]
pub struct Config {
    /// `table`, `view`, `incremental`, `ephemeral`, `test`...
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub materialized: Option<String>,
    /// Tags set in config.
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub tags: Vec<String>,
    /// Meta set in config.
    #[serde(default)]
    pub meta: Option<serde_json::Map<String, serde_json::Value>>,
    /// Test severity.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub severity: Option<String>,
    /// Models (v9+): the contract, of which `enforced` matters.
    #[serde(default)]
    pub contract: Option<serde_json::Value>,
    /// Models before v9 wrote access and group in config too.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub access: Option<String>,
    /// See `access`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub group: Option<String>,
}

/// A documented column.
#[derive(Debug, Default, Deserialize)]
pub struct ColumnDef {
    /// The name as written in YAML.
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// The documented description; empty when there is none.
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: String,
    /// Declared type.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub data_type: Option<String>,
    /// Column constraints (v9+).
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

/// A model or column constraint.
#[derive(Debug, Default, Deserialize)]
pub struct Constraint {
    /// `primary_key`, `not_null`, `unique`...
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    /// For model-level constraints: the columns.
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub columns: Vec<String>,
    /// The constraint's name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// `check` and `custom`: the expression.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub expression: Option<String>,
    /// Foreign keys: what is referenced.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub to: Option<String>,
    /// Foreign keys: the referenced columns.
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub to_columns: Vec<String>,
}

/// `depends_on`.
#[derive(Debug, Default, Deserialize)]
pub struct DependsOn {
    /// Unique ids of upstream resources.
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub nodes: Vec<String>,
}

/// `test_metadata` of generic tests.
#[derive(Debug, Default, Deserialize)]
pub struct TestMetadata {
    /// `unique`, `not_null`, `relationships`...
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// Arguments, of which `column_name` matters.
    #[serde(default)]
    pub kwargs: Option<TestKwargs>,
}

/// The arguments of a generic test that the catalog reads.
#[derive(Debug, Default, Deserialize)]
pub struct TestKwargs {
    /// The column tested.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub column_name: Option<String>,
}

/// The owner of an exposure or group.
#[derive(Debug, Default, Deserialize)]
pub struct Owner {
    /// The owner's name, when given.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// The owner's email, when given (used when there is no name).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
}

/// `node_relation` of semantic models.
#[derive(Debug, Default, Deserialize)]
pub struct NodeRelation {
    /// The relation's alias (table name).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub alias: Option<String>,
    /// The warehouse schema of the relation.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub schema_name: Option<String>,
    /// The warehouse database of the relation.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub database: Option<String>,
    /// The fully quoted relation.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub relation_name: Option<String>,
}

impl<C: CodePolicy> Artifact for Manifest<C> {
    fn read<R: std::io::Read>(source: &mut Splitter<R>) -> Result<Self, Failure> {
        let mut m = Manifest {
            metadata: Metadata::default(),
            nodes: Vec::new(),
            sources: Vec::new(),
            exposures: Vec::new(),
            metrics: Vec::new(),
            semantic_models: Vec::new(),
            saved_queries: Vec::new(),
            unit_tests: Vec::new(),
            groups: Vec::new(),
        };
        source.members("a manifest object", |s, key| {
            match key.as_deref().unwrap_or_default() {
                "metadata" => m.metadata = s.value()?,
                "nodes" => m.nodes = values(s)?,
                "sources" => m.sources = values(s)?,
                "exposures" => m.exposures = values(s)?,
                "metrics" => m.metrics = values(s)?,
                "semantic_models" => m.semantic_models = values(s)?,
                "saved_queries" => m.saved_queries = values(s)?,
                "unit_tests" => m.unit_tests = values(s)?,
                "groups" => m.groups = values(s)?,
                _ => s.skip()?,
            }
            Ok(())
        })?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v6_and_v12_shapes() {
        let v6 = r#"{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v6.json"},
            "nodes":{"model.p.a":{"unique_id":"model.p.a","resource_type":"model","name":"a","raw_sql":"select 1",
              "compiled_sql":"select 1","depends_on":{"macros":[],"nodes":["seed.p.s"]},"config":{"materialized":"view"},
              "columns":{"id":{"name":"id","description":"key","data_type":null,"meta":{}}}}},
            "macros":{"macro.x":{"huge":[1,2,3]}},"disabled":[],"parent_map":null}"#;
        let m: Manifest = crate::artifacts::parse("manifest.json", v6.as_bytes()).unwrap();
        let n = &m.nodes[0];
        assert_eq!(n.raw_code.as_deref(), Some("select 1"));
        assert_eq!(n.depends_on.as_ref().unwrap().nodes, vec!["seed.p.s"]);
        assert_eq!(n.columns[0].name, "id");
        assert_eq!(m.metadata.schema(), Some(("manifest".into(), 6)));
        let v12 = r#"{"nodes":{"model.p.b":{"unique_id":"model.p.b","resource_type":"model","name":"b",
              "raw_code":"select 2","primary_key":["id"],"meta":null,"description":null,
              "depends_on":{"nodes":[],"nodes_with_ref_location":[["model.p.a",{"line":1}]]}}},
              "disabled":{"model.p.c":[{"x":1}]},"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"}}"#;
        let m: Manifest = crate::artifacts::parse("manifest.json", v12.as_bytes()).unwrap();
        assert_eq!(m.nodes[0].primary_key, vec!["id"]);
        assert_eq!(m.nodes[0].description, "");
        assert_eq!(m.nodes[0].raw_code.as_deref(), Some("select 2"));
        let skipped: Manifest<SkipCode> = crate::artifacts::parse("manifest.json", v12.as_bytes()).unwrap();
        assert_eq!((skipped.nodes[0].raw_code.as_deref(), skipped.nodes[0].primary_key.len()), (None, 1));
    }
}
