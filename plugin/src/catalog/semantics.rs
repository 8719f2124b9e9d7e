//! The semantic layer: semantic models (entities, dimensions, measures),
//! metrics (type, measure or expression, filter, inputs) and saved queries
//! (metrics, group-bys, exports), read from the JSON shapes every dbt
//! version wrote, so that a workbench can rebuild its metrics layer from the
//! catalog alone.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::artifacts::manifest::{CodePolicy, Resource};

/// An entity, dimension or measure (the WIT `semantic-element`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Element {
    /// Its name.
    pub name: String,
    /// The entity's or dimension's type, or the measure's aggregation.
    pub kind: String,
    /// Its SQL expression, when not the column of the same name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Time dimensions: the granularity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_granularity: Option<String>,
    /// Its description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Its label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A semantic model's definition (the WIT `semantic-model-definition`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SemanticModel {
    /// The model it reads (`ref('orders')`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The default time dimension of its measures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_time_dimension: Option<String>,
    /// Entities.
    pub entities: Vec<Element>,
    /// Dimensions.
    pub dimensions: Vec<Element>,
    /// Measures.
    pub measures: Vec<Element>,
}

/// What a metric is computed from (the WIT `metric-input`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricInput {
    /// The metric's or measure's name.
    pub name: String,
    /// `measure`, `numerator`, `denominator`, `metric`, `base-measure`, `conversion-measure`.
    pub role: String,
    /// Its alias in the expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Its own filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Its offset (`1 month`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_window: Option<String>,
}

/// A metric's definition (the WIT `metric-definition`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metric {
    /// `simple`, `ratio`, `derived`, `cumulative`, `conversion` (older: the calculation method).
    pub metric_type: String,
    /// Its label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A simple or cumulative metric's measure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    /// A derived metric's expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Its filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Every input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<MetricInput>,
    /// The window (`7 day`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// The grain to date (`month`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grain_to_date: Option<String>,
}

/// A saved query's export (the WIT `saved-query-export`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Export {
    /// Its name.
    pub name: String,
    /// `table` or `view`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_as: Option<String>,
    /// The relation written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
}

/// A saved query's definition (the WIT `saved-query-definition`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedQuery {
    /// The metrics queried.
    pub metrics: Vec<String>,
    /// The group-bys.
    pub group_by: Vec<String>,
    /// The where filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Where results go.
    pub exports: Vec<Export>,
}

/// The semantic definition of an entry (the WIT `semantics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Semantics {
    /// A semantic model.
    SemanticModel(SemanticModel),
    /// A metric.
    Metric(Metric),
    /// A saved query.
    SavedQuery(SavedQuery),
}

/// A string field of a JSON object; numbers count, empty strings do not.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn items(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A filter as text: a string (before v10), or the `where_sql_template`s of
/// `where_filters` joined with `and` (v10+).
fn filter(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(_) => {
            let parts: Vec<String> =
                items(v?.get("where_filters")).iter().filter_map(|f| text(f, "where_sql_template")).collect();
            (!parts.is_empty()).then(|| parts.join(" and "))
        }
        Value::Array(list) => {
            // Metrics before v8: [{field, operator, value}].
            let parts: Vec<String> = list
                .iter()
                .filter_map(|f| Some(format!("{} {} {}", text(f, "field")?, text(f, "operator")?, text(f, "value")?)))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" and "))
        }
        _ => None,
    }
}

/// A window as text: `{count, granularity}` as `7 day`, or a string as is.
fn window(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        w @ Value::Object(_) => Some(format!("{} {}", text(w, "count")?, text(w, "granularity")?)),
        _ => None,
    }
}

fn element(v: &Value, kind_key: &str) -> Option<Element> {
    // Metrics before v10 listed dimensions as plain names.
    if let Value::String(name) = v {
        return Some(Element { name: name.clone(), ..Element::default() });
    }
    Some(Element {
        name: text(v, "name")?,
        kind: text(v, kind_key).unwrap_or_default(),
        expression: text(v, "expr"),
        time_granularity: v.get("type_params").and_then(|p| text(p, "time_granularity")),
        description: text(v, "description").unwrap_or_default(),
        label: text(v, "label"),
    })
}

fn input(v: &Value, role: &str) -> Option<MetricInput> {
    if let Value::String(name) = v {
        return Some(MetricInput { name: name.clone(), role: role.into(), ..MetricInput::default() });
    }
    Some(MetricInput {
        name: text(v, "name")?,
        role: role.into(),
        alias: text(v, "alias"),
        filter: filter(v.get("filter")),
        offset_window: window(v.get("offset_window")),
    })
}

fn metric<C: CodePolicy>(r: &Resource<C>) -> Metric {
    let empty = Value::Null;
    let params = r.type_params.as_ref().unwrap_or(&empty);
    let cumulative = params.get("cumulative_type_params").unwrap_or(&empty);
    let conversion = params.get("conversion_type_params").unwrap_or(&empty);
    let measure = params.get("measure").and_then(|m| input(m, "measure"));
    let mut inputs: Vec<MetricInput> = measure.iter().cloned().collect();
    inputs.extend(params.get("numerator").and_then(|m| input(m, "numerator")));
    inputs.extend(params.get("denominator").and_then(|m| input(m, "denominator")));
    inputs.extend(items(params.get("metrics")).iter().filter_map(|m| input(m, "metric")));
    inputs.extend(conversion.get("base_measure").and_then(|m| input(m, "base-measure")));
    inputs.extend(conversion.get("conversion_measure").and_then(|m| input(m, "conversion-measure")));
    // Metrics before v10: derived metrics name their inputs in depends_on only.
    Metric {
        metric_type: r.kind.clone().or_else(|| r.calculation_method.clone()).unwrap_or_default(),
        label: r.label.clone().filter(|l| !l.is_empty()),
        measure: measure.map(|m| m.name),
        expression: text(params, "expr").or_else(|| r.expression.clone()).or_else(|| r.sql.clone()),
        filter: filter(r.filter.as_ref()),
        inputs,
        window: window(cumulative.get("window"))
            .or_else(|| window(params.get("window")))
            .or_else(|| window(conversion.get("window"))),
        grain_to_date: text(cumulative, "grain_to_date").or_else(|| text(params, "grain_to_date")),
    }
}

fn semantic_model<C: CodePolicy>(r: &Resource<C>) -> SemanticModel {
    SemanticModel {
        model: r.model.clone(),
        default_time_dimension: r.defaults.as_ref().and_then(|d| text(d, "agg_time_dimension")),
        entities: items(r.entities.as_ref()).iter().filter_map(|e| element(e, "type")).collect(),
        dimensions: items(r.dimensions.as_ref()).iter().filter_map(|e| element(e, "type")).collect(),
        measures: items(r.measures.as_ref()).iter().filter_map(|e| element(e, "agg")).collect(),
    }
}

fn saved_query<C: CodePolicy>(r: &Resource<C>) -> SavedQuery {
    let empty = Value::Null;
    let params = r.query_params.as_ref().unwrap_or(&empty);
    let strings = |key: &str| -> Vec<String> {
        items(params.get(key)).iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
    };
    let exports = items(r.exports.as_ref())
        .iter()
        .filter_map(|e| {
            let config = e.get("config").unwrap_or(&empty);
            let relation: Vec<String> =
                ["database", "schema_name", "alias"].iter().filter_map(|k| text(config, k)).collect();
            Some(Export {
                name: text(e, "name")?,
                export_as: text(config, "export_as"),
                relation: (!relation.is_empty()).then(|| relation.join(".")),
            })
        })
        .collect();
    SavedQuery {
        metrics: strings("metrics"),
        group_by: strings("group_by"),
        filter: filter(params.get("where")),
        exports,
    }
}

/// The semantic definition of `r`; none unless it is a semantic model,
/// metric or saved query.
pub fn of<C: CodePolicy>(r: &Resource<C>) -> Option<Semantics> {
    match r.resource_type.as_str() {
        "semantic_model" => Some(Semantics::SemanticModel(semantic_model(r))),
        "metric" => Some(Semantics::Metric(metric(r))),
        "saved_query" => Some(Semantics::SavedQuery(saved_query(r))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::manifest::Manifest;

    fn resources(json: &str) -> Vec<Resource> {
        let m: Manifest = crate::artifacts::parse("manifest.json", json.as_bytes()).expect("parses");
        m.into_resources().collect()
    }

    #[test]
    fn semantic_models_have_entities_dimensions_and_measures() {
        let r = resources(
            r#"{"semantic_models": {"semantic_model.p.orders": {"unique_id": "semantic_model.p.orders",
              "resource_type": "semantic_model", "name": "orders", "model": "ref('orders')",
              "defaults": {"agg_time_dimension": "ordered_at"},
              "entities": [{"name": "order", "type": "primary", "expr": "order_id"}],
              "dimensions": [{"name": "ordered_at", "type": "time", "type_params": {"time_granularity": "day"}},
                             {"name": "is_food", "type": "categorical", "expr": null}],
              "measures": [{"name": "revenue", "agg": "sum", "expr": "amount", "description": "All of it."}]}}}"#,
        );
        let Some(Semantics::SemanticModel(m)) = of(&r[0]) else { panic!("a semantic model") };
        assert_eq!(
            (m.model.as_deref(), m.default_time_dimension.as_deref()),
            (Some("ref('orders')"), Some("ordered_at"))
        );
        assert_eq!((m.entities[0].kind.as_str(), m.entities[0].expression.as_deref()), ("primary", Some("order_id")));
        assert_eq!((m.dimensions[0].kind.as_str(), m.dimensions[0].time_granularity.as_deref()), ("time", Some("day")));
        assert_eq!(m.dimensions[1].expression, None);
        assert_eq!((m.measures[0].kind.as_str(), m.measures[0].description.as_str()), ("sum", "All of it."));
    }

    #[test]
    fn every_metric_type_names_its_inputs() {
        let r = resources(
            r#"{"metrics": {
              "metric.p.ratio": {"unique_id": "metric.p.ratio", "resource_type": "metric", "name": "ratio", "type": "ratio",
                "label": "Food %", "type_params": {"numerator": {"name": "food", "filter": null}, "denominator": {"name": "revenue"}},
                "filter": {"where_filters": [{"where_sql_template": "{{ Dimension('order__is_food') }} = true"}, {"where_sql_template": "1 = 1"}]}},
              "metric.p.derived": {"unique_id": "metric.p.derived", "resource_type": "metric", "name": "derived", "type": "derived",
                "type_params": {"expr": "(a - b) / b", "metrics": [{"name": "revenue", "alias": "a"},
                  {"name": "revenue", "alias": "b", "offset_window": {"count": 1, "granularity": "month"}}]}},
              "metric.p.cumulative": {"unique_id": "metric.p.cumulative", "resource_type": "metric", "name": "cumulative",
                "type": "cumulative", "type_params": {"measure": {"name": "revenue"},
                "cumulative_type_params": {"window": {"count": 7, "granularity": "day"}, "grain_to_date": null}}},
              "metric.p.conversion": {"unique_id": "metric.p.conversion", "resource_type": "metric", "name": "conversion",
                "type": "conversion", "type_params": {"conversion_type_params": {"base_measure": {"name": "visits"},
                "conversion_measure": {"name": "buys"}, "window": "7 days"}}},
              "metric.p.old": {"unique_id": "metric.p.old", "resource_type": "metric", "name": "old",
                "calculation_method": "sum", "expression": "amount", "filters": [], "dimensions": ["status"]}}}"#,
        );
        let metric = |name: &str| match r.iter().find(|x| x.name == name).and_then(of) {
            Some(Semantics::Metric(m)) => m,
            other => panic!("{name}: {other:?}"),
        };
        let ratio = metric("ratio");
        assert_eq!((ratio.metric_type.as_str(), ratio.label.as_deref()), ("ratio", Some("Food %")));
        let roles: Vec<(&str, &str)> = ratio.inputs.iter().map(|i| (i.name.as_str(), i.role.as_str())).collect();
        assert_eq!(roles, [("food", "numerator"), ("revenue", "denominator")]);
        assert_eq!(ratio.filter.as_deref(), Some("{{ Dimension('order__is_food') }} = true and 1 = 1"));
        let derived = metric("derived");
        assert_eq!(derived.expression.as_deref(), Some("(a - b) / b"));
        assert_eq!(derived.inputs[1].alias.as_deref(), Some("b"));
        assert_eq!(derived.inputs[1].offset_window.as_deref(), Some("1 month"));
        let cumulative = metric("cumulative");
        assert_eq!((cumulative.measure.as_deref(), cumulative.window.as_deref()), (Some("revenue"), Some("7 day")));
        let conversion = metric("conversion");
        let roles: Vec<&str> = conversion.inputs.iter().map(|i| i.role.as_str()).collect();
        assert_eq!((roles, conversion.window.as_deref()), (vec!["base-measure", "conversion-measure"], Some("7 days")));
        let old = metric("old");
        assert_eq!((old.metric_type.as_str(), old.expression.as_deref()), ("sum", Some("amount")));
    }

    #[test]
    fn saved_queries_have_metrics_group_bys_and_exports() {
        let r = resources(
            r#"{"saved_queries": {"saved_query.p.q": {"unique_id": "saved_query.p.q", "resource_type": "saved_query", "name": "q",
              "query_params": {"metrics": ["revenue", "food"], "group_by": ["TimeDimension('metric_time', 'day')"],
                "where": {"where_filters": [{"where_sql_template": "{{ Dimension('x') }} > 1"}]}},
              "exports": [{"name": "revenue_metrics", "config": {"export_as": "table", "schema_name": "main", "alias": "rm", "database": "jaffle"}}]}}}"#,
        );
        let Some(Semantics::SavedQuery(q)) = of(&r[0]) else { panic!("a saved query") };
        assert_eq!(q.metrics, ["revenue", "food"]);
        assert_eq!(q.group_by, ["TimeDimension('metric_time', 'day')"]);
        assert_eq!(q.filter.as_deref(), Some("{{ Dimension('x') }} > 1"));
        assert_eq!(q.exports[0].relation.as_deref(), Some("jaffle.main.rm"));
        assert_eq!(q.exports[0].export_as.as_deref(), Some("table"));
    }

    #[test]
    fn odd_shapes_are_skipped_not_fatal() {
        let r = resources(
            r#"{"metrics": {"metric.p.m": {"unique_id": "metric.p.m", "resource_type": "metric", "name": "m",
              "type_params": {"metrics": [7, null, {"alias": "no name"}], "numerator": "plain", "measure": []},
              "filter": 12}}}"#,
        );
        let Some(Semantics::Metric(m)) = of(&r[0]) else { panic!("a metric") };
        assert_eq!(m.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["plain"]);
        assert_eq!((m.filter, m.measure), (None, None));
    }
}
