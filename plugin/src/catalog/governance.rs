//! How a model is governed (dbt 1.5+): version, access, group and its
//! owner, contract, constraints and deprecation, from any manifest version
//! that has them (v9+; access and group sat in config before).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::artifacts::manifest::{CodePolicy, Constraint as ConstraintDef, Group, Resource};

/// A model's or column's constraint (the WIT `constraint`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Constraint {
    /// `primary_key`, `foreign_key`, `unique`, `not_null`, `check`, `custom`.
    pub kind: String,
    /// Its name, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The columns it applies to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// A check's or custom constraint's expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// A foreign key's target (`ref('customers')`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    /// A foreign key's target columns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reference_columns: Vec<String>,
}

/// A model's governance (the WIT `governance`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Governance {
    /// This version of a versioned model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The version an unversioned ref resolves to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_version: Option<String>,
    /// `private`, `protected` or `public`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// The model's group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The group's owner: name, or email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_owner: Option<String>,
    /// Whether the contract is enforced.
    pub contract_enforced: bool,
    /// Model-level constraints, then each column's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    /// When the model is deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecation_date: Option<String>,
}

/// Group owners by group name.
pub type Owners = HashMap<String, String>;

/// The owner of each group (name, or email when it has no name).
pub fn owners(groups: &[Group]) -> Owners {
    groups
        .iter()
        .filter_map(|g| {
            let owner = g.owner.as_ref()?;
            let who = owner.name.clone().or_else(|| owner.email.clone())?;
            Some((g.name.clone(), who))
        })
        .collect()
}

fn constraint(c: &ConstraintDef, column: Option<&str>) -> Constraint {
    Constraint {
        kind: c.kind.clone(),
        name: c.name.clone().filter(|n| !n.is_empty()),
        columns: match column {
            Some(col) if c.columns.is_empty() => vec![col.to_string()],
            _ => c.columns.clone(),
        },
        expression: c.expression.clone().filter(|e| !e.is_empty()),
        references: c.to.clone().filter(|t| !t.is_empty()),
        reference_columns: c.to_columns.clone(),
    }
}

/// The governance of model `r`; none for other resources, and for a model
/// whose manifest says nothing about governance (before dbt 1.5).
pub fn of<C: CodePolicy>(r: &Resource<C>, owners: &Owners) -> Option<Governance> {
    if r.resource_type != "model" {
        return None;
    }
    let config = r.config.as_ref();
    let access = r.access.clone().or_else(|| config?.access.clone());
    let group = r.group.clone().or_else(|| config?.group.clone()).filter(|g| !g.is_empty());
    let contract_enforced = config
        .and_then(|c| c.contract.as_ref())
        .and_then(|c| c.get("enforced"))
        .and_then(|e| e.as_bool())
        .unwrap_or(false);
    let mut constraints: Vec<Constraint> = r.constraints.iter().map(|c| constraint(c, None)).collect();
    for column in &r.columns {
        constraints.extend(column.constraints.iter().map(|c| constraint(c, Some(&column.name))));
    }
    let governance = Governance {
        version: r.version.clone(),
        latest_version: r.latest_version.clone(),
        group_owner: group.as_ref().and_then(|g| owners.get(g).cloned()),
        access,
        group,
        contract_enforced,
        constraints,
        deprecation_date: r.deprecation_date.clone().filter(|d| !d.is_empty()),
    };
    (governance != Governance::default()).then_some(governance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::manifest::Manifest;

    fn manifest(json: &str) -> Manifest {
        crate::artifacts::parse("manifest.json", json.as_bytes()).expect("parses")
    }

    #[test]
    fn versions_access_groups_contracts_and_constraints() {
        let m = manifest(
            r#"{"groups": {"group.p.finance": {"name": "finance", "owner": {"email": "fin@example.com", "name": null}}},
            "nodes": {"model.p.orders.v2": {"unique_id": "model.p.orders.v2", "resource_type": "model", "name": "orders",
              "version": 2, "latest_version": 1, "access": "public", "group": "finance",
              "deprecation_date": "2052-05-01T00:00:00-04:00",
              "config": {"contract": {"enforced": true, "alias_types": true}},
              "constraints": [{"type": "foreign_key", "columns": ["customer_id"], "to": "ref('customers')", "to_columns": ["id"]},
                              {"type": "check", "name": "positive", "expression": "amount > 0", "columns": ["amount"]}],
              "columns": {"id": {"name": "id", "constraints": [{"type": "not_null"}, {"type": "primary_key"}]}}}}}"#,
        );
        let owners = owners(&m.groups);
        let g = of(&m.nodes[0], &owners).expect("governed");
        assert_eq!((g.version.as_deref(), g.latest_version.as_deref()), (Some("2"), Some("1")));
        assert_eq!((g.access.as_deref(), g.group.as_deref()), (Some("public"), Some("finance")));
        assert_eq!(g.group_owner.as_deref(), Some("fin@example.com"));
        assert!(g.contract_enforced);
        assert_eq!(g.deprecation_date.as_deref(), Some("2052-05-01T00:00:00-04:00"));
        let kinds: Vec<(&str, Vec<&str>)> =
            g.constraints.iter().map(|c| (c.kind.as_str(), c.columns.iter().map(String::as_str).collect())).collect();
        assert_eq!(
            kinds,
            [
                ("foreign_key", vec!["customer_id"]),
                ("check", vec!["amount"]),
                ("not_null", vec!["id"]),
                ("primary_key", vec!["id"])
            ]
        );
        assert_eq!(g.constraints[0].references.as_deref(), Some("ref('customers')"));
        assert_eq!(g.constraints[0].reference_columns, ["id"]);
        assert_eq!(g.constraints[1].expression.as_deref(), Some("amount > 0"));
    }

    #[test]
    fn before_dbt_1_5_and_for_other_resources_there_is_none() {
        let m = manifest(
            r#"{"nodes": {"model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "name": "a", "config": {"materialized": "view"}},
                          "seed.p.s": {"unique_id": "seed.p.s", "resource_type": "seed", "name": "s", "access": "public"},
                          "model.p.old": {"unique_id": "model.p.old", "resource_type": "model", "name": "old", "config": {"access": "protected", "group": "ops"}}}}"#,
        );
        let owners = Owners::new();
        assert_eq!(of(&m.nodes[0], &owners), None);
        assert_eq!(of(&m.nodes[1], &owners), None);
        let old = of(&m.nodes[2], &owners).expect("config access counts");
        assert_eq!(
            (old.access.as_deref(), old.group.as_deref(), old.group_owner),
            (Some("protected"), Some("ops"), None)
        );
    }
}
