//! Column-level lineage: for each model column, the upstream (node, column)
//! pairs it is computed from, found by parsing the model's compiled SQL in
//! its adapter's dialect and resolving the relations it reads to the
//! catalog's entries (preferring the model's `depends_on`). A model whose SQL
//! does not parse keeps its node-level lineage and is counted, never a failed
//! sync.

mod query;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlparser::ast::Statement;
use sqlparser::dialect::{
    BigQueryDialect, DatabricksDialect, Dialect, DuckDbDialect, GenericDialect, MsSqlDialect, MySqlDialect,
    PostgreSqlDialect, RedshiftSqlDialect, SnowflakeDialect,
};
use sqlparser::parser::Parser;

use crate::catalog::{Catalog, ColumnRef};
use query::{Relation, Sources, Tables, Walker};

/// How much of a catalog's column lineage was found (the WIT
/// `lineage-coverage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Coverage {
    /// Models with compiled SQL.
    pub models: u32,
    /// Of those, models whose SQL did not parse or could not be followed.
    pub unparsed: u32,
    /// Columns of models with compiled SQL.
    pub columns: u32,
    /// Of those, columns with at least one upstream column.
    pub resolved: u32,
    /// The first few models that did not parse, with the parser's reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unparsed_examples: Vec<String>,
}

impl Coverage {
    /// The share of columns resolved, in percent (100 when there are none).
    pub fn percent(&self) -> f64 {
        if self.columns == 0 { 100.0 } else { f64::from(self.resolved) * 100.0 / f64::from(self.columns) }
    }
}

/// How many unparsed models [`Coverage`] names.
const EXAMPLES: usize = 5;

/// The SQL dialect of a dbt adapter.
fn dialect(adapter: Option<&str>) -> Box<dyn Dialect> {
    match adapter.unwrap_or("").to_ascii_lowercase().as_str() {
        "duckdb" | "motherduck" => Box::new(DuckDbDialect {}),
        "snowflake" => Box::new(SnowflakeDialect {}),
        "bigquery" => Box::new(BigQueryDialect {}),
        "postgres" | "materialize" => Box::new(PostgreSqlDialect {}),
        "redshift" => Box::new(RedshiftSqlDialect {}),
        "databricks" | "spark" => Box::new(DatabricksDialect {}),
        "sqlserver" | "fabric" | "synapse" => Box::new(MsSqlDialect {}),
        "mysql" | "mariadb" => Box::new(MySqlDialect {}),
        _ => Box::new(GenericDialect {}),
    }
}

/// A relation name without quotes, lower-cased, by its parts.
fn relation_parts(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in name.chars() {
        match (quote, c) {
            (None, '"' | '`' | '[') => quote = Some(if c == '[' { ']' } else { c }),
            (Some(q), c) if c == q => quote = None,
            (None, '.') => parts.push(std::mem::take(&mut current)),
            (_, c) => current.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(current);
    parts
}

/// The catalog's relations, for one model: which entry a table name means.
struct Catalogued<'a> {
    /// Entries by their full relation name.
    by_name: &'a HashMap<Vec<String>, Vec<usize>>,
    /// Each entry's columns, lower-cased, with their names as written.
    columns: &'a [Vec<(String, String)>],
    /// The model's `depends_on`, as entry indexes.
    depends_on: Vec<usize>,
    /// The entries' relation names by their parts, for suffix matches.
    parts: &'a [Vec<String>],
}

impl Tables for Catalogued<'_> {
    fn table(&self, name: &[String]) -> Option<Relation> {
        let prefer = |candidates: &[usize]| {
            candidates.iter().copied().find(|i| self.depends_on.contains(i)).or(candidates.first().copied())
        };
        let node = match self.by_name.get(name) {
            Some(candidates) => prefer(candidates),
            // A shorter name (`schema.table`, `table`): among what the model depends on.
            None => self.depends_on.iter().copied().find(|&i| self.parts[i].ends_with(name)),
        }?;
        let columns = &self.columns[node];
        Some(if columns.is_empty() {
            Relation { columns: Vec::new(), open: Some(node) }
        } else {
            Relation {
                columns: columns
                    .iter()
                    .map(|(lower, _)| (lower.clone(), Sources::from([(node, lower.clone())])))
                    .collect(),
                open: None,
            }
        })
    }
}

/// Finds the column lineage of every model with compiled SQL in `catalog`
/// (SQL in the dialect of `adapter`), sets each column's `upstream`, and
/// says how much was found.
pub fn annotate(catalog: &mut Catalog, adapter: Option<&str>) -> Coverage {
    let dialect = dialect(adapter);
    let ids: Vec<String> = catalog.nodes.iter().map(|n| n.unique_id.clone()).collect();
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let parts: Vec<Vec<String>> =
        catalog.nodes.iter().map(|n| n.relation_name.as_deref().map(relation_parts).unwrap_or_default()).collect();
    let mut by_name: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
    for (i, p) in parts.iter().enumerate().filter(|(_, p)| !p.is_empty()) {
        by_name.entry(p.clone()).or_default().push(i);
    }
    let columns: Vec<Vec<(String, String)>> = catalog
        .nodes
        .iter()
        .map(|n| n.columns.iter().map(|c| (c.name.to_ascii_lowercase(), c.name.clone())).collect())
        .collect();
    let mut coverage = Coverage::default();
    let mut found: Vec<(usize, Vec<(String, Sources)>)> = Vec::new();
    for (i, node) in catalog.nodes.iter().enumerate() {
        let Some(sql) = node.compiled_code.as_deref().filter(|_| node.resource_type == "model") else { continue };
        coverage.models += 1;
        coverage.columns += node.columns.len() as u32;
        let tables = Catalogued {
            by_name: &by_name,
            columns: &columns,
            depends_on: node.depends_on.iter().filter_map(|d| index.get(d.as_str()).copied()).collect(),
            parts: &parts,
        };
        match lineage_of(sql, dialect.as_ref(), &tables) {
            Ok(relation) => found.push((i, relation.columns)),
            Err(reason) => {
                coverage.unparsed += 1;
                if coverage.unparsed_examples.len() < EXAMPLES {
                    coverage.unparsed_examples.push(format!("{}: {reason}", node.unique_id));
                }
            }
        }
    }
    for (i, outputs) in found {
        let model = &mut catalog.nodes[i];
        for column in &mut model.columns {
            let wanted = column.name.to_ascii_lowercase();
            let Some((_, sources)) = outputs.iter().find(|(name, _)| *name == wanted) else { continue };
            column.upstream = sources
                .iter()
                .filter(|(node, _)| *node != i)
                .map(|(node, lower)| ColumnRef {
                    node: ids[*node].clone(),
                    column: columns[*node].iter().find(|(l, _)| l == lower).map_or(lower.clone(), |(_, n)| n.clone()),
                })
                .collect();
            if !column.upstream.is_empty() {
                coverage.resolved += 1;
            }
        }
    }
    coverage
}

/// How deep parentheses may nest in SQL that is parsed: sqlparser recurses
/// per level (tens of KiB of stack each in the component), so deeper SQL is
/// refused before parsing rather than overflowing the stack.
const MAX_NESTING: usize = 24;

/// The deepest nesting of parentheses in `sql`, outside string literals,
/// quoted identifiers and comments.
fn nesting(sql: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '(' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The output columns of the one query in `sql`.
fn lineage_of(sql: &str, dialect: &dyn Dialect, tables: &Catalogued) -> Result<Relation, String> {
    let depth = nesting(sql);
    if depth > MAX_NESTING {
        return Err(format!("parentheses nest {depth} deep, more than the {MAX_NESTING} lineage follows"));
    }
    let statements = Parser::new(dialect)
        .with_recursion_limit(MAX_NESTING * 2)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| e.to_string())?;
    let query = statements
        .iter()
        .rev()
        .find_map(|s| match s {
            Statement::Query(q) => Some(q),
            _ => None,
        })
        .ok_or_else(|| "no query in the compiled SQL".to_string())?;
    Walker::new(tables).query(query, 0).map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Column, Node};

    fn node(id: &str, t: &str, relation: &str, columns: &[&str], sql: Option<&str>, depends_on: &[&str]) -> Node {
        Node {
            unique_id: id.into(),
            resource_type: t.into(),
            relation_name: Some(relation.into()),
            columns: columns.iter().map(|c| Column { name: c.to_string(), ..Column::default() }).collect(),
            compiled_code: sql.map(str::to_string),
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            ..Node::default()
        }
    }

    #[test]
    fn relations_resolve_to_what_the_model_depends_on_and_bad_sql_is_counted() {
        let mut catalog = Catalog {
            nodes: vec![
                node("seed.p.raw", "seed", r#""db"."raw"."raw_orders""#, &["ID", "total"], None, &[]),
                node("source.p.raw", "source", r#""db"."raw"."raw_orders""#, &["ID", "total"], None, &[]),
                node(
                    "model.p.orders",
                    "model",
                    r#""db"."main"."orders""#,
                    &["order_id", "total", "loaded"],
                    Some(r#"select id as order_id, total, current_timestamp as loaded from "db"."raw"."raw_orders""#),
                    &["source.p.raw"],
                ),
                node("model.p.broken", "model", r#""db"."main"."broken""#, &["x"], Some("select from where"), &[]),
            ],
        };
        let coverage = annotate(&mut catalog, Some("duckdb"));
        let orders = &catalog.nodes[2];
        assert_eq!(orders.columns[0].upstream, [ColumnRef { node: "source.p.raw".into(), column: "ID".into() }]);
        assert_eq!(orders.columns[1].upstream[0].node, "source.p.raw");
        assert!(orders.columns[2].upstream.is_empty(), "a literal has no upstream");
        assert_eq!((coverage.models, coverage.unparsed, coverage.columns, coverage.resolved), (2, 1, 4, 2));
        assert!(coverage.unparsed_examples[0].starts_with("model.p.broken: "), "{:?}", coverage.unparsed_examples);
        assert_eq!(coverage.percent(), 50.0);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        assert_eq!(nesting("select (1 + (2)) as x, '(((' as s -- (((\n from t"), 2);
        let mut sql = String::from("select 1 as x");
        for _ in 0..(MAX_NESTING + 1) {
            sql = format!("select x from ({sql}) as t");
        }
        let tables = Catalogued { by_name: &HashMap::new(), columns: &[], depends_on: vec![], parts: &[] };
        let refused = lineage_of(&sql, &GenericDialect {}, &tables).err().unwrap_or_default();
        assert!(refused.contains("nest 25 deep"), "{refused}");
    }

    #[test]
    fn relation_names_lose_their_quotes_and_case() {
        assert_eq!(relation_parts(r#""DB"."Main"."t.x""#), ["db", "main", "t.x"]);
        assert_eq!(relation_parts("`proj`.`ds`.tbl"), ["proj", "ds", "tbl"]);
        assert_eq!(relation_parts("[dbo].[T]"), ["dbo", "t"]);
    }
}
