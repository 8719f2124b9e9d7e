//! The conversions of a model's governance and of the semantic layer's
//! definitions into their WIT types (the rest of the catalog entry is in
//! `convert`).

use super::wit::exports::modelsync::plugin::model_sync as wit;
use crate::catalog::governance::{Constraint, Governance};
use crate::catalog::semantics::{Element, Export, Metric, MetricInput, SavedQuery, SemanticModel, Semantics};

impl From<Constraint> for wit::Constraint {
    fn from(c: Constraint) -> Self {
        wit::Constraint {
            kind: c.kind,
            name: c.name,
            columns: c.columns,
            expression: c.expression,
            references: c.references,
            reference_columns: c.reference_columns,
        }
    }
}

impl From<Governance> for wit::Governance {
    fn from(g: Governance) -> Self {
        wit::Governance {
            version: g.version,
            latest_version: g.latest_version,
            access: g.access,
            group: g.group,
            group_owner: g.group_owner,
            contract_enforced: g.contract_enforced,
            constraints: g.constraints.into_iter().map(Into::into).collect(),
            deprecation_date: g.deprecation_date,
        }
    }
}

impl From<Element> for wit::SemanticElement {
    fn from(e: Element) -> Self {
        wit::SemanticElement {
            name: e.name,
            kind: e.kind,
            expression: e.expression,
            time_granularity: e.time_granularity,
            description: e.description,
            label: e.label,
        }
    }
}

fn elements(list: Vec<Element>) -> Vec<wit::SemanticElement> {
    list.into_iter().map(Into::into).collect()
}

impl From<SemanticModel> for wit::SemanticModelDefinition {
    fn from(m: SemanticModel) -> Self {
        wit::SemanticModelDefinition {
            model: m.model,
            default_time_dimension: m.default_time_dimension,
            entities: elements(m.entities),
            dimensions: elements(m.dimensions),
            measures: elements(m.measures),
        }
    }
}

impl From<MetricInput> for wit::MetricInput {
    fn from(i: MetricInput) -> Self {
        wit::MetricInput {
            name: i.name,
            role: i.role,
            alias: i.alias,
            filter: i.filter,
            offset_window: i.offset_window,
        }
    }
}

impl From<Metric> for wit::MetricDefinition {
    fn from(m: Metric) -> Self {
        wit::MetricDefinition {
            metric_type: m.metric_type,
            label: m.label,
            measure: m.measure,
            expression: m.expression,
            filter: m.filter,
            inputs: m.inputs.into_iter().map(Into::into).collect(),
            window: m.window,
            grain_to_date: m.grain_to_date,
        }
    }
}

impl From<Export> for wit::SavedQueryExport {
    fn from(e: Export) -> Self {
        wit::SavedQueryExport { name: e.name, export_as: e.export_as, relation: e.relation }
    }
}

impl From<SavedQuery> for wit::SavedQueryDefinition {
    fn from(q: SavedQuery) -> Self {
        wit::SavedQueryDefinition {
            metrics: q.metrics,
            group_by: q.group_by,
            filter: q.filter,
            exports: q.exports.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Semantics> for wit::Semantics {
    fn from(s: Semantics) -> Self {
        match s {
            Semantics::SemanticModel(m) => wit::Semantics::SemanticModel(m.into()),
            Semantics::Metric(m) => wit::Semantics::Metric(m.into()),
            Semantics::SavedQuery(q) => wit::Semantics::SavedQuery(q.into()),
        }
    }
}
