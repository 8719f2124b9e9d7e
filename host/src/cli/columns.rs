//! What changed in the columns of the entries a diff lists as modified in
//! `columns`, column by column: which were added or removed, and in which
//! of type, description, tests, key and upstream columns the others differ.

use std::collections::{BTreeMap, HashSet};

use model_sync_host::{CallError, Session, api};
use serde_json::{Value, json};

/// The column changes of one entry.
#[derive(Debug, Default, PartialEq)]
pub struct ColumnChanges {
    /// Columns only in the later sync.
    pub added: Vec<String>,
    /// Columns only in the earlier sync.
    pub removed: Vec<String>,
    /// Columns in both that differ.
    pub changed: Vec<ColumnChange>,
}

/// A column in both syncs that differs.
#[derive(Debug, PartialEq)]
pub struct ColumnChange {
    /// Its name in the later sync.
    pub name: String,
    /// What differs: `data_type`, `description`, `tests`, `primary_key`, `upstream`.
    pub what: Vec<&'static str>,
    /// The types before and after, when the type differs.
    pub types: Option<(String, String)>,
}

/// Compares an entry's columns in two syncs (names compared without case).
pub fn compare(old: &[api::Column], new: &[api::Column]) -> ColumnChanges {
    let key = |c: &api::Column| c.name.to_ascii_lowercase();
    let mut out = ColumnChanges::default();
    for c in new.iter().filter(|c| !old.iter().any(|o| key(o) == key(c))) {
        out.added.push(c.name.clone());
    }
    for c in old.iter().filter(|c| !new.iter().any(|n| key(n) == key(c))) {
        out.removed.push(c.name.clone());
    }
    for n in new {
        let Some(o) = old.iter().find(|o| key(o) == key(n)) else { continue };
        let upstream =
            |c: &api::Column| c.upstream.iter().map(|u| (u.node.clone(), u.column.clone())).collect::<Vec<_>>();
        let what: Vec<&'static str> = [
            ("data_type", o.data_type != n.data_type),
            ("description", o.description != n.description),
            ("tests", o.tests != n.tests),
            ("primary_key", o.primary_key != n.primary_key),
            ("upstream", upstream(o) != upstream(n)),
        ]
        .into_iter()
        .filter_map(|(facet, differs)| differs.then_some(facet))
        .collect();
        if !what.is_empty() {
            let types = (o.data_type != n.data_type).then(|| {
                (o.data_type.clone().unwrap_or_else(|| "?".into()), n.data_type.clone().unwrap_or_else(|| "?".into()))
            });
            out.changed.push(ColumnChange { name: n.name.clone(), what, types });
        }
    }
    out
}

/// The column changes of every entry in `changes` modified in its columns,
/// between syncs `from` and `to` (both catalogs are read page by page; only
/// those entries' columns are kept).
pub async fn read(
    session: &mut Session,
    from: u64,
    to: u64,
    changes: &[api::EntityChange],
) -> Result<BTreeMap<String, ColumnChanges>, CallError> {
    let wanted: HashSet<&str> = changes
        .iter()
        .filter(|c| c.kind == api::ChangeKind::Modified && c.facets.contains(&api::Facet::Columns))
        .map(|c| c.unique_id.as_str())
        .collect();
    if wanted.is_empty() || from == 0 {
        return Ok(BTreeMap::new());
    }
    let mut columns = [BTreeMap::new(), BTreeMap::new()];
    for (side, id) in [from, to].into_iter().enumerate() {
        let keep = &mut columns[side];
        session
            .each_catalog_page(id, None, |nodes| {
                for n in nodes.into_iter().filter(|n| wanted.contains(n.unique_id.as_str())) {
                    keep.insert(n.unique_id, n.columns);
                }
                true
            })
            .await?;
    }
    let [old, new] = columns;
    Ok(new.iter().filter_map(|(id, n)| Some((id.clone(), compare(old.get(id)?, n)))).collect())
}

/// One entry's column changes as the diff's JSON has them.
pub fn json(c: &ColumnChanges) -> Value {
    json!({
        "added": c.added,
        "removed": c.removed,
        "changed": c.changed.iter().map(|change| {
            let mut v = json!({"name": change.name, "changed": change.what});
            if let Some((before, after)) = &change.types {
                v["data_type"] = json!({"from": before, "to": after});
            }
            v
        }).collect::<Vec<_>>(),
    })
}

/// One entry's column changes as lines under its row in the diff's table.
pub fn text(c: &ColumnChanges) -> String {
    let mut out = String::new();
    for name in &c.added {
        out.push_str(&format!("              + column {name}\n"));
    }
    for name in &c.removed {
        out.push_str(&format!("              - column {name}\n"));
    }
    for ColumnChange { name, what, types } in &c.changed {
        let detail: Vec<String> = what
            .iter()
            .map(|w| match (w, types) {
                (&"data_type", Some((before, after))) => format!("type {before} -> {after}"),
                (w, _) => w.replace('_', " "),
            })
            .collect();
        out.push_str(&format!("              ~ column {name}: {}\n", detail.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, data_type: &str, upstream: &[(&str, &str)]) -> api::Column {
        api::Column {
            name: name.into(),
            description: String::new(),
            data_type: Some(data_type.into()),
            tests: vec![],
            primary_key: false,
            upstream: upstream
                .iter()
                .map(|(n, c)| api::ColumnRef { node: n.to_string(), column: c.to_string() })
                .collect(),
        }
    }

    #[test]
    fn added_removed_and_changed_columns() {
        let old = [column("id", "VARCHAR", &[("model.p.a", "id")]), column("gone", "INT", &[])];
        let new = [column("ID", "BIGINT", &[("model.p.b", "id")]), column("fresh", "INT", &[])];
        let c = compare(&old, &new);
        assert_eq!((c.added.as_slice(), c.removed.as_slice()), (&["fresh".to_string()][..], &["gone".to_string()][..]));
        let id = ColumnChange {
            name: "ID".into(),
            what: vec!["data_type", "upstream"],
            types: Some(("VARCHAR".into(), "BIGINT".into())),
        };
        assert_eq!(c.changed, [id]);
        assert!(text(&c).contains("~ column ID: type VARCHAR -> BIGINT, upstream"), "{}", text(&c));
        assert_eq!(json(&c)["changed"][0]["data_type"], json!({"from": "VARCHAR", "to": "BIGINT"}));
        assert_eq!(compare(&new, &new), ColumnChanges::default());
    }
}
