//! Generated dbt projects of any size, for benchmarks: a valid v12 manifest
//! whose refs form a DAG, with 5-30 documented columns per model, generic
//! tests, sources, macros, and the matching run_results.json.

use std::fmt::Write;

/// A generated project's artifacts.
pub struct Generated {
    /// manifest.json.
    pub manifest: Vec<u8>,
    /// run_results.json of a `dbt build`.
    pub run_results: Vec<u8>,
    /// Models in it.
    pub models: usize,
    /// Entries a catalog of it has (models, tests, sources).
    pub entries: usize,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

const WORDS: [&str; 16] = [
    "customer", "order", "amount", "status", "region", "product", "created", "updated", "channel", "account",
    "revenue", "discount", "currency", "segment", "device", "campaign",
];

/// Generates a project of `models` models.
pub fn project(models: usize, seed: u64) -> Generated {
    let mut rng = Rng(seed | 1);
    let sources = (models / 10).max(5);
    let mut nodes = String::new();
    let mut results = String::new();
    let mut entries = 0;
    let mut node_sep = "";
    let push_result = |results: &mut String, id: &str, status: &str, failures: Option<u32>| {
        if !results.is_empty() {
            results.push(',');
        }
        let failures = failures.map_or("null".to_string(), |f| f.to_string());
        let _ = write!(
            results,
            r#"{{"status":{},"timing":[{{"name":"execute","started_at":"2026-11-22T06:00:00Z","completed_at":"2026-11-22T06:00:01Z"}}],"thread_id":"Thread-1","execution_time":0.42,"adapter_response":{{}},"message":"OK","failures":{failures},"unique_id":{}}}"#,
            q(status),
            q(id)
        );
    };
    let mut source_json = String::new();
    for s in 0..sources {
        let id = format!("source.gen.raw.table_{s}");
        if s > 0 {
            source_json.push(',');
        }
        let _ = write!(
            source_json,
            r#"{}:{{"database":"warehouse","schema":"raw","name":"table_{s}","resource_type":"source","package_name":"gen","path":"models/sources.yml","original_file_path":"models/sources.yml","unique_id":{},"fqn":["gen","raw","table_{s}"],"source_name":"raw","source_description":"","loader":"fivetran","identifier":"table_{s}","quoting":{{}},"loaded_at_field":"_loaded_at","freshness":{{"warn_after":{{"count":12,"period":"hour"}},"error_after":{{"count":24,"period":"hour"}},"filter":null}},"external":null,"description":"Raw table {s} as loaded by Fivetran.","columns":{{}},"meta":{{}},"source_meta":{{}},"tags":[],"config":{{"enabled":true}},"patch_path":null,"unrendered_config":{{}},"relation_name":"\"warehouse\".\"raw\".\"table_{s}\"","created_at":1700000000.0}}"#,
            q(&id),
            q(&id)
        );
        entries += 1;
    }
    for m in 0..models {
        let id = format!("model.gen.model_{m}");
        let mut deps: Vec<String> = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let dep = if m == 0 || rng.below(4) == 0 {
                format!("source.gen.raw.table_{}", rng.below(sources))
            } else {
                format!("model.gen.model_{}", rng.below(m))
            };
            if !deps.contains(&dep) {
                deps.push(dep);
            }
        }
        let columns = 5 + rng.below(26);
        let mut cols = String::new();
        let mut col_names = Vec::new();
        for c in 0..columns {
            let name = format!("{}_{}_{c}", WORDS[rng.below(16)], WORDS[rng.below(16)]);
            if c > 0 {
                cols.push(',');
            }
            let _ = write!(
                cols,
                r#"{}:{{"name":{},"description":{},"meta":{{}},"data_type":null,"constraints":[],"quote":null,"tags":[],"granularity":null,"doc_blocks":[]}}"#,
                q(&name),
                q(&name),
                q(&format!(
                    "The {} of the {} as reported by the source system, in the reporting currency.",
                    WORDS[c % 16],
                    WORDS[(c + m) % 16]
                ))
            );
            col_names.push(name);
        }
        let refs: Vec<String> =
            deps.iter().map(|d| format!("{{{{ ref('{}') }}}}", d.rsplit('.').next().unwrap_or(""))).collect();
        let raw = format!(
            "with base as (\n  select * from {}\n)\nselect\n  {}\nfrom base\nwhere status <> 'deleted'",
            refs.join("\n  join "),
            col_names.join(",\n  ")
        );
        let compiled = raw.replace("{{ ref('", "\"warehouse\".\"analytics\".\"").replace("') }}", "\"");
        let materialized = ["view", "table", "incremental"][rng.below(3)];
        let _ = write!(
            nodes,
            r#"{node_sep}{}:{{"database":"warehouse","schema":"analytics","name":"model_{m}","resource_type":"model","package_name":"gen","path":"marts/model_{m}.sql","original_file_path":"models/marts/model_{m}.sql","unique_id":{},"fqn":["gen","marts","model_{m}"],"alias":"model_{m}","checksum":{{"name":"sha256","checksum":"{:016x}"}},"config":{{"enabled":true,"alias":null,"schema":null,"database":null,"tags":["nightly"],"meta":{{"owner":"data-team"}},"materialized":"{materialized}","incremental_strategy":null,"persist_docs":{{}},"quoting":{{}},"column_types":{{}},"full_refresh":null,"unique_key":null,"on_schema_change":"ignore","grants":{{}},"packages":[],"docs":{{"show":true,"node_color":null}},"contract":{{"enforced":false,"alias_types":true}},"access":"protected"}},"tags":["nightly"],"description":{},"columns":{{{cols}}},"meta":{{"owner":"data-team"}},"group":null,"docs":{{"show":true,"node_color":null}},"patch_path":"gen://models/marts/schema.yml","build_path":null,"unrendered_config":{{"materialized":"{materialized}"}},"created_at":1700000000.0,"relation_name":"\"warehouse\".\"analytics\".\"model_{m}\"","raw_code":{},"language":"sql","refs":[],"sources":[],"metrics":[],"depends_on":{{"macros":["macro.dbt.run_query"],"nodes":{}}},"compiled_path":"target/compiled/gen/models/marts/model_{m}.sql","compiled":true,"compiled_code":{},"extra_ctes_injected":true,"extra_ctes":[],"contract":{{"enforced":false,"alias_types":true,"checksum":null}},"access":"protected","constraints":[],"version":null,"latest_version":null,"deprecation_date":null,"primary_key":[{}],"time_spine":null}}"#,
            q(&id),
            q(&id),
            rng.next(),
            q(&format!(
                "Model {m}: one row per {} and {}, built nightly from upstream staging models.",
                WORDS[m % 16],
                WORDS[(m / 16) % 16]
            )),
            q(&raw),
            serde_json::to_string(&deps).unwrap_or_default(),
            q(&compiled),
            q(&col_names[0]),
        );
        node_sep = ",";
        entries += 1;
        push_result(&mut results, &id, "success", None);
        for (test, column) in [("unique", &col_names[0]), ("not_null", &col_names[0]), ("not_null", &col_names[1])] {
            let tid = format!("test.gen.{test}_model_{m}_{column}.{:010x}", rng.next() & 0xff_ffff_ffff);
            let _ = write!(
                nodes,
                r#",{}:{{"database":"warehouse","schema":"analytics_dbt_test__audit","name":"{test}_model_{m}_{column}","resource_type":"test","package_name":"gen","path":"{test}_model_{m}_{column}.sql","original_file_path":"models/marts/schema.yml","unique_id":{},"fqn":["gen","marts","{test}_model_{m}_{column}"],"alias":"{test}_model_{m}_{column}","checksum":{{"name":"none","checksum":""}},"config":{{"enabled":true,"materialized":"test","severity":"ERROR","fail_calc":"count(*)","warn_if":"!= 0","error_if":"!= 0","tags":[],"meta":{{}}}},"tags":[],"description":"","columns":{{}},"meta":{{}},"relation_name":null,"raw_code":"{{{{ test_{test}(**_dbt_generic_test_kwargs) }}}}","language":"sql","refs":[{{"name":"model_{m}","package":null,"version":null}}],"sources":[],"metrics":[],"depends_on":{{"macros":["macro.dbt.test_{test}"],"nodes":[{}]}},"compiled":true,"compiled_code":"select {column} from \"warehouse\".\"analytics\".\"model_{m}\" where {column} is null","column_name":{},"file_key_name":"models.model_{m}","attached_node":{},"test_metadata":{{"name":"{test}","kwargs":{{"column_name":{},"model":"{{{{ get_where_subquery(ref('model_{m}')) }}}}"}},"namespace":null}}}}"#,
                q(&tid),
                q(&tid),
                q(&id),
                q(column),
                q(&id),
                q(column),
            );
            entries += 1;
            let fail = rng.below(50) == 0;
            push_result(&mut results, &tid, if fail { "fail" } else { "pass" }, Some(if fail { 3 } else { 0 }));
        }
    }
    let mut macros = String::new();
    for i in 0..300 {
        if i > 0 {
            macros.push(',');
        }
        let _ = write!(
            macros,
            r#""macro.gen.helper_{i}":{{"name":"helper_{i}","resource_type":"macro","package_name":"gen","path":"macros/helper_{i}.sql","original_file_path":"macros/helper_{i}.sql","unique_id":"macro.gen.helper_{i}","macro_sql":{},"depends_on":{{"macros":[]}},"description":"","meta":{{}},"docs":{{"show":true}},"patch_path":null,"arguments":[],"created_at":1700000000.0,"supported_languages":null}}"#,
            q(&format!(
                "{{% macro helper_{i}(column) %}}\n  coalesce({{{{ column }}}}, 0) * {i}\n{{% endmacro %}}\n{}",
                "-- padding\n".repeat(20)
            ))
        );
    }
    let manifest = format!(
        r#"{{"metadata":{{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","dbt_version":"1.11.0","generated_at":"2026-11-22T06:00:00Z","invocation_id":"00000000-0000-0000-0000-000000000000","env":{{}},"project_name":"gen","adapter_type":"snowflake"}},"nodes":{{{nodes}}},"sources":{{{source_json}}},"macros":{{{macros}}},"docs":{{}},"exposures":{{}},"metrics":{{}},"groups":{{}},"selectors":{{}},"disabled":{{}},"parent_map":null,"child_map":null,"group_map":{{}},"saved_queries":{{}},"semantic_models":{{}},"unit_tests":{{}}}}"#
    );
    let run_results = format!(
        r#"{{"metadata":{{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json","dbt_version":"1.11.0","generated_at":"2026-11-22T06:10:00Z"}},"results":[{results}],"elapsed_time":600.0,"args":{{"which":"build"}}}}"#
    );
    Generated { manifest: manifest.into_bytes(), run_results: run_results.into_bytes(), models, entries }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generates_valid_json_with_the_asked_size() {
        let g = super::project(50, 7);
        let doc: serde_json::Value = serde_json::from_slice(&g.manifest).expect("valid JSON");
        let nodes = doc["nodes"].as_object().expect("nodes");
        assert_eq!(nodes.values().filter(|n| n["resource_type"] == "model").count(), 50);
        assert_eq!(nodes.len() + doc["sources"].as_object().expect("sources").len(), g.entries);
        for n in nodes.values() {
            for d in n["depends_on"]["nodes"].as_array().expect("deps") {
                let d = d.as_str().expect("id");
                assert!(nodes.contains_key(d) || doc["sources"].get(d).is_some(), "dangling {d}");
            }
        }
        let rr: serde_json::Value = serde_json::from_slice(&g.run_results).expect("valid JSON");
        assert_eq!(rr["results"].as_array().expect("results").len(), nodes.len());
    }
}
