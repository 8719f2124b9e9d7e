//! Column-level lineage of a dbt project, natively: coverage, and the model
//! columns left unresolved with a guess at why.
//!
//! `cargo run --release -p model-sync-plugin --example lineage -- MANIFEST [CATALOG]`

use std::collections::BTreeMap;

use model_sync_plugin::artifacts::manifest::Manifest;
use model_sync_plugin::artifacts::parse;
use model_sync_plugin::artifacts::warehouse::WarehouseCatalog;
use model_sync_plugin::catalog::{Inputs, build};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let manifest_path = args.next().ok_or("usage: lineage MANIFEST [CATALOG]")?;
    let manifest: Manifest = parse("manifest.json", std::fs::File::open(&manifest_path)?)?;
    let adapter = manifest.metadata.adapter_type.clone();
    let warehouse = match args.next() {
        Some(path) => Some(parse::<WarehouseCatalog>("catalog.json", std::fs::File::open(path)?)?),
        None => None,
    };
    let mut catalog = build(manifest, Inputs { warehouse, ..Inputs::default() });
    let started = std::time::Instant::now();
    let coverage = model_sync_plugin::lineage::annotate(&mut catalog, adapter.as_deref());
    let elapsed = started.elapsed();
    println!(
        "adapter {}: {} of {} model columns resolved ({:.1}%), {} of {} models parsed, in {:.0} ms",
        adapter.as_deref().unwrap_or("?"),
        coverage.resolved,
        coverage.columns,
        coverage.percent(),
        coverage.models - coverage.unparsed,
        coverage.models,
        elapsed.as_secs_f64() * 1000.0
    );
    for example in &coverage.unparsed_examples {
        println!("  unparsed: {}", example.chars().take(160).collect::<String>());
    }
    // Why columns stay unresolved: the shape of the select item that makes them.
    let mut reasons: BTreeMap<&str, u32> = BTreeMap::new();
    for node in catalog.nodes.iter().filter(|n| n.resource_type == "model" && n.compiled_code.is_some()) {
        let sql = node.compiled_code.as_deref().unwrap_or("").to_ascii_lowercase();
        for c in node.columns.iter().filter(|c| c.upstream.is_empty()) {
            let name = c.name.to_ascii_lowercase();
            let reason = if !sql.contains(&name) {
                "not named in the SQL (from a star over an unknown relation, or a macro)"
            } else if made_of_constants(&sql, &name) {
                "a constant (a literal, null, a cast of one, or the current time)"
            } else {
                if std::env::var_os("LINEAGE_SHOW").is_some() {
                    println!("  untraced: {} {}", node.unique_id, c.name);
                }
                "named in the SQL but not traced"
            };
            *reasons.entry(reason).or_default() += 1;
        }
    }
    for (reason, count) in reasons {
        println!("  {count:>6} unresolved: {reason}");
    }
    Ok(())
}

/// Whether the expression that `... as name` aliases mentions no column: a
/// string or number, null, a cast of one, or the current time.
fn made_of_constants(sql: &str, name: &str) -> bool {
    let Some(at) = sql.find(&format!(" as {name}")) else { return false };
    let before = &sql[..at];
    let start = before.rfind([',', '\n']).map_or(0, |i| i + 1);
    let expression = before[start..].trim().trim_start_matches("select").trim();
    let words: Vec<&str> = expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '\''))
        .filter(|w| !w.is_empty() && !w.starts_with('\'') && !w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let constant_words = [
        "cast",
        "try_cast",
        "as",
        "null",
        "varchar",
        "int",
        "integer",
        "bigint",
        "numeric",
        "decimal",
        "date",
        "timestamp",
        "boolean",
        "true",
        "false",
        "text",
        "current_timestamp",
        "current_date",
        "now",
        "string",
        "float",
        "double",
    ];
    expression.contains('\'') && words.iter().all(|w| constant_words.contains(w))
        || words.iter().all(|w| constant_words.contains(w))
}
