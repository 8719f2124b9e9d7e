//! Every request the plugin sends is valid against the official dbt Cloud
//! OpenAPI specification (`fixtures/openapi/`): a declared path and method,
//! typed path parameters, declared and typed query parameters, and a request
//! body with the required properties.

use crate::common;

use common::SyncAndRead;

use common::{Bench, options};
use dbt_cloud_emulator::world::ids;
use dbt_cloud_emulator::{FaultKind, Logged};
use model_sync_host::api;
use serde_yaml::Value;

fn spec(name: &str) -> Value {
    let path = format!("{}/fixtures/openapi/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("spec")).expect("spec parses")
}

fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut node = spec;
            for part in r.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            node
        }
        None => v,
    }
}

fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if template.ends_with('/') != path.ends_with('/') && !template.contains("{remainder}") {
        return false;
    }
    for (i, seg) in t.iter().enumerate() {
        if *seg == "{remainder}" {
            return p.len() > i;
        }
        match p.get(i) {
            Some(x) if seg.starts_with('{') || x == seg => {}
            _ => return false,
        }
    }
    t.len() == p.len()
}

fn check_value(name: &str, schema: &Value, value: &str) -> Result<(), String> {
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("string");
    let ok = match ty {
        "integer" => value.parse::<i64>().is_ok(),
        "boolean" => value == "true" || value == "false",
        "array" => value.starts_with('[') && value.ends_with(']'),
        _ => true,
    };
    if !ok {
        return Err(format!("parameter {name}={value} is not of type {ty}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_sequence)
        && !allowed
            .iter()
            .any(|a| a.as_str() == Some(value) || a.as_i64().map(|i| i.to_string()).as_deref() == Some(value))
    {
        return Err(format!("parameter {name}={value} is not one of {allowed:?}"));
    }
    Ok(())
}

/// Checks one request; returns the operation id it matched.
fn validate(specs: &[Value], r: &Logged) -> Result<String, String> {
    let method = r.method.to_ascii_lowercase();
    for spec in specs {
        let Some(paths) = spec["paths"].as_mapping() else {
            continue;
        };
        for (template, item) in paths {
            let template = template.as_str().unwrap_or("");
            if !matches_template(template, &r.path) {
                continue;
            }
            let Some(op) = item.get(&method) else {
                return Err(format!("{} {}: the spec has no {method} on {template}", r.method, r.path));
            };
            let params: Vec<&Value> = op["parameters"]
                .as_sequence()
                .map(|s| s.iter().map(|p| resolve(spec, p)).collect())
                .unwrap_or_default();
            let segments: Vec<&str> = r.path.split('/').collect();
            for (i, seg) in template.split('/').enumerate() {
                if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    let p = params
                        .iter()
                        .find(|p| p["name"] == name && p["in"] == "path")
                        .ok_or(format!("{template}: no path parameter {name}"))?;
                    if name != "remainder" {
                        check_value(name, &p["schema"], segments.get(i).copied().unwrap_or(""))?;
                    }
                }
            }
            for (k, v) in &r.query {
                let p = params
                    .iter()
                    .find(|p| p["name"].as_str() == Some(k.as_str()) && p["in"] == "query")
                    .ok_or(format!("{} {}: query parameter `{k}` is not in the spec", r.method, template))?;
                check_value(k, &p["schema"], v)?;
            }
            if let Some(body) = op.get("requestBody") {
                let schema = resolve(spec, &body["content"]["application/json"]["schema"]);
                let doc: serde_json::Value =
                    serde_json::from_slice(&r.body).map_err(|e| format!("{template}: body is not JSON: {e}"))?;
                for req in schema["required"].as_sequence().into_iter().flatten() {
                    let req = req.as_str().unwrap_or("");
                    if doc.get(req).is_none() {
                        return Err(format!("{template}: body lacks required `{req}`"));
                    }
                }
                if let (Some(obj), Some(props)) = (doc.as_object(), schema["properties"].as_mapping()) {
                    for key in obj.keys() {
                        if !props.contains_key(Value::String(key.clone())) {
                            return Err(format!("{template}: body property `{key}` is not in the spec"));
                        }
                    }
                }
            }
            return Ok(op["operationId"].as_str().unwrap_or(template).to_string());
        }
    }
    Err(format!("{} {}: no such path in the spec", r.method, r.path))
}

#[tokio::test]
async fn every_request_the_plugin_sends_is_in_the_specification() {
    let specs = [spec("openapi-v2.yaml"), spec("openapi-v3.yaml")];
    let bench = Bench::jaffle("contract");
    bench.emulator.with_world(|w| w.polls_until_done = 1);
    let mut session = bench.configured().await;
    session.sync(&options()).await.expect("sync");
    session.sync(&api::SyncOptions { run_id: Some(ids::DOCS_RUN + 30), ..options() }).await.expect("run id");
    session
        .sync(&api::SyncOptions { git_branch: Some("main".into()), force: true, ..options() })
        .await
        .expect("branch");
    bench.emulator.fault("/run/", 1, FaultKind::CutOff(0));
    session.sync(&api::SyncOptions { run_job: true, ..options() }).await.expect("run job");
    bench.emulator.with_world(|w| w.polls_until_done = 10_000);
    let timeout = api::SyncOptions { run_job: true, wait_timeout_secs: Some(1), cancel_on_timeout: true, ..options() };
    assert!(session.sync(&timeout).await.is_err());
    // Inferred jobs list the project's jobs.
    let mut fresh = bench.session().await;
    bench.emulator.with_world(|w| w.projects[0].docs_job_id = None);
    fresh.configure(&bench.settings()).await.expect("configure");

    let mut operations = std::collections::BTreeSet::new();
    let mut errors = Vec::new();
    for r in bench.emulator.requests() {
        match validate(&specs, &r) {
            Ok(op) => {
                operations.insert(op);
            }
            Err(e) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "requests outside the specification:\n{}", errors.join("\n"));
    for needed in ["List Runs", "Retrieve Run", "Trigger Job Run", "Cancel Run", "List Jobs", "Retrieve Job"] {
        assert!(operations.contains(needed), "{needed} not exercised: {operations:?}");
    }
    assert!(operations.len() >= 9, "{operations:?}");
}

#[test]
fn the_validator_rejects_what_the_specification_does_not_allow() {
    let specs = [spec("openapi-v2.yaml"), spec("openapi-v3.yaml")];
    let request = |method: &str, path: &str, query: &[(&str, &str)], body: &[u8]| Logged {
        method: method.into(),
        path: path.into(),
        query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        headers: vec![],
        body: body.to_vec(),
        status: 200,
        routed: true,
    };
    let ok = request("GET", "/api/v2/accounts/1/runs/", &[("job_definition_id", "5"), ("limit", "100")], b"");
    assert_eq!(validate(&specs, &ok).as_deref(), Ok("List Runs"));
    for bad in [
        request("GET", "/api/v2/accounts/1/runs/", &[("job_id", "5")], b""),
        request("GET", "/api/v2/accounts/1/runs/", &[("limit", "many")], b""),
        request("GET", "/api/v2/accounts/x/runs/", &[], b""),
        request("GET", "/api/v2/accounts/1/nothing/", &[], b""),
        request("DELETE", "/api/v2/accounts/1/runs/5/artifacts/", &[], b""),
        request("POST", "/api/v2/accounts/1/jobs/2/run/", &[], b"{}"),
        request("POST", "/api/v2/accounts/1/jobs/2/run/", &[], br#"{"cause":"x","because":"y"}"#),
    ] {
        assert!(validate(&specs, &bad).is_err(), "{} {} {:?} passed", bad.method, bad.path, bad.query);
    }
}
