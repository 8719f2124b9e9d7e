//! catalog.json (schema v1): what the warehouse says about each relation:
//! column types and statistics.

use serde::Deserialize;

use super::lenient;
use super::split::{Failure, Splitter};
use super::{Artifact, Metadata, entries};

/// The parts of catalog.json the catalog needs.
#[derive(Debug, Default, Deserialize)]
pub struct WarehouseCatalog {
    /// The schema version and the dbt that wrote the file.
    #[serde(default)]
    pub metadata: Metadata,
    /// Relations of models, seeds, snapshots, keyed by unique id.
    #[serde(default, deserialize_with = "lenient::map_entries")]
    pub nodes: Vec<(String, Relation)>,
    /// Relations of sources, keyed by unique id.
    #[serde(default, deserialize_with = "lenient::map_entries")]
    pub sources: Vec<(String, Relation)>,
}

/// A relation in the warehouse.
#[derive(Debug, Default, Deserialize)]
pub struct Relation {
    /// Columns keyed by the warehouse's spelling of their names.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub columns: Vec<WarehouseColumn>,
    /// Statistics keyed by id.
    #[serde(default, deserialize_with = "lenient::map_values")]
    pub stats: Vec<Stat>,
    /// Owner and comment of the relation.
    #[serde(default)]
    pub metadata: Option<RelationMetadata>,
}

/// `metadata` of a relation.
#[derive(Debug, Default, Deserialize)]
pub struct RelationMetadata {
    /// The warehouse owner.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub owner: Option<String>,
}

/// A statistic the warehouse reports for a relation.
#[derive(Debug, Default, Deserialize)]
pub struct Stat {
    /// dbt's key for the statistic (`row_count`, `bytes`...).
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: String,
    /// How dbt labels it ("Row Count").
    #[serde(default, deserialize_with = "lenient::string")]
    pub label: String,
    /// The value; any JSON scalar, kept as text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
    /// Whether dbt shows it.
    #[serde(default)]
    pub include: Option<bool>,
}

/// A column in the warehouse.
#[derive(Debug, Default, Deserialize)]
pub struct WarehouseColumn {
    /// The column name as the warehouse spells it.
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// The warehouse type (`NUMBER(38,0)`, `text`...).
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub data_type: Option<String>,
    /// The 1-based position in the relation.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub index: Option<u64>,
    /// The warehouse comment.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub comment: Option<String>,
}

impl Artifact for WarehouseCatalog {
    fn read<R: std::io::Read>(source: &mut Splitter<R>) -> Result<Self, Failure> {
        let mut out = WarehouseCatalog::default();
        source.members("a catalog object", |s, key| {
            match key.as_deref().unwrap_or_default() {
                "metadata" => out.metadata = s.value()?,
                "nodes" => out.nodes = entries(s)?,
                "sources" => out.sources = entries(s)?,
                _ => s.skip()?,
            }
            Ok(())
        })?;
        Ok(out)
    }
}
