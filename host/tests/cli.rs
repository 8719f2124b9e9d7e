//! The `model-sync` command line as scripts use it: the JSON contract, exit
//! codes, and a history that outlives the process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dbt_cloud_emulator::world::{ids, jaffle};
use dbt_cloud_emulator::{Emulator, World};
use serde_json::Value;

const TOKEN: &str = "dbtc_demo_service_token";

fn state_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn model_sync(dir: &Path, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_model-sync"))
        .arg("--state-dir")
        .arg(dir)
        .args(args)
        .env("DBT_CLOUD_API_TOKEN", token)
        .env("MODEL_SYNC_CACHE_DIR", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache"))
        .env_remove("DBT_CLOUD_HOST")
        .env_remove("DBT_CLOUD_ACCOUNT_ID")
        .env_remove("DBT_CLOUD_PROJECT_ID")
        .output()
        .expect("model-sync runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn configure(emulator: &Emulator, dir: &Path) -> Value {
    let url = format!("{}/deploy/{}/projects/{}/jobs", emulator.url(), ids::ACCOUNT, ids::PROJECT);
    let out = model_sync(dir, TOKEN, &["--json", "configure", "--url", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json(&out)
}

#[test]
fn configure_sync_syncs_and_show_follow_the_json_contract() {
    let emulator = Emulator::start(World::jaffle_shop()).expect("emulator");
    let dir = state_dir("contract");
    let c = configure(&emulator, &dir);
    assert_eq!(c["account_id"], ids::ACCOUNT);
    assert_eq!(c["project_id"], ids::PROJECT);
    assert_eq!(c["docs_job_id"], ids::DOCS_JOB);
    assert_eq!(c["freshness_job_id"], ids::FRESHNESS_JOB);
    assert!(c["warnings"].is_array());

    let out = model_sync(&dir, TOKEN, &["--json", "sync"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = json(&out);
    assert_eq!(s["id"], 1);
    assert_eq!(s["status"], "succeeded");
    for field in ["started_at", "finished_at"] {
        let t = s[field].as_str().expect(field);
        assert!(t.len() >= 20 && t.as_bytes()[10] == b'T' && t.ends_with('Z'), "{field}: {t}");
    }
    assert_eq!(s["runs"][0]["job_id"], ids::DOCS_JOB);
    assert_eq!(s["runs"][0]["run_id"], ids::DOCS_RUN);
    assert_eq!(s["runs"][0]["artifacts"][0], "manifest.json");
    let doc: Value = serde_json::from_slice(jaffle::MANIFEST).expect("manifest");
    let models = doc["nodes"].as_object().expect("nodes").values().filter(|n| n["resource_type"] == "model").count();
    assert_eq!(s["counts"]["model"], models);
    assert_eq!(s["counts"]["unit_test"], doc["unit_tests"].as_object().expect("unit_tests").len());
    assert!(s["warnings"].as_array().expect("warnings").is_empty());

    // A second process, a second sync, the same state directory.
    let out = model_sync(&dir, TOKEN, &["--json", "sync", "--force"]);
    assert!(out.status.success());
    let out = model_sync(&dir, "", &["--json", "syncs"]);
    assert!(out.status.success(), "listing needs no token: {}", String::from_utf8_lossy(&out.stderr));
    let list = json(&out);
    let ids: Vec<u64> = list.as_array().expect("array").iter().map(|r| r["id"].as_u64().expect("id")).collect();
    assert_eq!(ids, vec![2, 1]);

    let out = model_sync(&dir, "", &["--json", "show", "1"]);
    assert!(out.status.success());
    let shown = json(&out);
    assert_eq!(shown["id"], 1);
    assert!(shown["log"].as_array().expect("log").len() > 2);
    let nodes = shown["catalog"]["nodes"].as_array().expect("nodes");
    let orders = nodes.iter().find(|n| n["unique_id"] == "model.jaffle_shop.orders").expect("orders");
    assert_eq!(orders["resource_type"], "model");
    assert_eq!(orders["name"], "orders");
    assert!(orders["depends_on"].as_array().expect("depends_on").iter().any(|d| d == "model.jaffle_shop.stg_orders"));
    assert!(orders["columns"].as_array().expect("columns").iter().any(|c| c["name"] == "order_id"));
}

#[test]
fn failures_exit_non_zero_with_a_kind_and_never_show_the_token() {
    let emulator = Emulator::start(World::jaffle_shop()).expect("emulator");
    let dir = state_dir("failure");
    configure(&emulator, &dir);
    let secret = "dbtc_RecognisableSecret_4711";
    let out = model_sync(&dir, secret, &["--json", "sync"]);
    assert!(!out.status.success());
    let doc = json(&out);
    assert_eq!(doc["error"]["kind"], "unauthorized");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().any(|l| l.starts_with("error: unauthorized:")), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    assert!(!stderr.contains(secret));
    // Nor in the state directory: settings, history, failed sync records.
    for entry in walk(&dir) {
        let bytes = std::fs::read(&entry).expect("readable");
        assert!(!String::from_utf8_lossy(&bytes).contains(secret), "token in {}", entry.display());
    }
    let out = model_sync(&dir, "", &["syncs"]);
    assert!(out.status.success());
}

#[test]
fn sync_before_configure_says_what_to_do() {
    let dir = state_dir("unconfigured");
    let out = model_sync(&dir, TOKEN, &["sync"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not-configured") && stderr.contains("model-sync configure"), "{stderr}");
}

#[test]
fn demo_runs_a_real_sync() {
    let dir = state_dir("demo");
    let out = model_sync(&dir, "", &["--json", "demo"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["sync"]["status"], "succeeded");
    assert!(doc["sync"]["counts"]["model"].as_u64().unwrap_or(0) > 0);
    assert_eq!(doc["syncs"].as_array().map(Vec::len), Some(1));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
    }
    out
}

#[test]
fn non_numeric_and_negative_ids_name_the_field() {
    let dir = state_dir("bad-ids");
    for (flag, value, field) in [
        ("--account-id", "abc", "account-id"),
        ("--project-id", "-5", "project-id"),
        ("--docs-job-id", "1e3", "docs-job-id"),
        ("--freshness-job-id", "99999999999999999999999", "freshness-job-id"),
    ] {
        let arg = format!("{flag}={value}");
        let out = model_sync(&dir, TOKEN, &["--json", "configure", "--host", "https://ab123.us1.dbt.com", &arg]);
        assert!(!out.status.success(), "{flag} {value}");
        let doc = json(&out);
        assert_eq!(doc["error"]["kind"], "invalid-setting", "{flag} {value}");
        assert!(doc["error"]["message"].as_str().unwrap_or("").starts_with(field), "{doc}");
    }
}

#[test]
fn a_full_sync_leaves_the_token_nowhere() {
    let secret = "dbtc_RecognisableSecret_0815";
    let mut world = World::jaffle_shop();
    world.token = secret.into();
    let emulator = Emulator::start(world).expect("emulator");
    let dir = state_dir("secret");
    let url = format!("{}/deploy/{}/projects/{}/jobs", emulator.url(), ids::ACCOUNT, ids::PROJECT);
    let mut outputs = Vec::new();
    for args in [
        vec!["--json", "configure", "--url", url.as_str()],
        vec!["configure", "--url", url.as_str()],
        vec!["--json", "sync"],
        vec!["sync", "--force"],
        vec!["--json", "syncs"],
        vec!["--json", "show", "2"],
        vec!["show", "1", "--logs"],
        vec!["doctor"],
    ] {
        let out = model_sync(&dir, secret, &args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        outputs.push(out);
    }
    for out in &outputs {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
        assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    }
    let files = walk(&dir);
    assert!(files.iter().any(|f| f.ends_with("history.sqlite")) && files.len() >= 3, "{files:?}");
    for entry in files {
        let bytes = std::fs::read(&entry).expect("readable");
        assert!(!String::from_utf8_lossy(&bytes).contains(secret), "token in {}", entry.display());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).expect("state dir").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the state directory is readable only by its owner: {mode:o}");
        for file in walk(&dir) {
            let mode = std::fs::metadata(&file).expect("file").permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is readable only by its owner: {mode:o}", file.display());
        }
    }
    // The token did reach dbt Cloud, as a bearer token.
    assert!(
        emulator
            .requests()
            .iter()
            .all(|r| { r.headers.iter().any(|(k, v)| k == "authorization" && v == &format!("Bearer {secret}")) })
    );
}

#[test]
fn a_token_a_server_echoes_everywhere_is_in_no_output_and_no_file() {
    let secret = "dbtc_EchoedSecret_2342";
    let mut world = World::jaffle_shop();
    world.token = secret.into();
    world.echo = Some(format!(" (your token: {secret})"));
    world.polls_until_done = 1;
    world.triggered_status = 20;
    let emulator = Emulator::start(world).expect("emulator");
    let dir = state_dir("echo");
    let url = format!("{}/deploy/{}/projects/{}/jobs", emulator.url(), ids::ACCOUNT, ids::PROJECT);
    let mut outputs = vec![model_sync(&dir, secret, &["configure", "--url", url.as_str()])];
    // An error message, a redirect target and a run's status and step log echo it.
    let echo = dbt_cloud_emulator::FaultKind::Error { status: 404, message: format!("unknown token {secret}") };
    emulator.fault("/jobs/", 1, echo);
    outputs.push(model_sync(&dir, secret, &["sync"]));
    emulator.fault("/runs/", 1, dbt_cloud_emulator::FaultKind::Redirect(format!("https://x.example/?t={secret}")));
    outputs.push(model_sync(&dir, secret, &["--json", "sync"]));
    outputs.push(model_sync(&dir, secret, &["sync", "--run-job"]));
    // And an artifact carries it, in descriptions.
    let manifest = String::from_utf8_lossy(jaffle::MANIFEST).replacen(
        "\"description\": \"",
        &format!("\"description\": \"{secret} "),
        5,
    );
    emulator.fault("manifest.json", 1, dbt_cloud_emulator::FaultKind::Body(manifest.into_bytes()));
    let synced = model_sync(&dir, secret, &["--json", "sync"]);
    assert!(synced.status.success(), "{}", String::from_utf8_lossy(&synced.stderr));
    let id = json(&synced)["id"].to_string();
    outputs.push(synced);
    outputs.push(model_sync(&dir, secret, &["--json", "show", &id]));
    outputs.push(model_sync(&dir, secret, &["show", &id, "--logs"]));
    outputs.push(model_sync(&dir, secret, &["syncs"]));
    let all: String = outputs
        .iter()
        .map(|o| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
        .collect();
    assert!(all.contains("<redacted>"), "the echoes were seen, and redacted: {all}");
    assert!(!all.contains(secret), "{all}");
    for entry in walk(&dir) {
        let bytes = std::fs::read(&entry).expect("readable");
        assert!(!String::from_utf8_lossy(&bytes).contains(secret), "token in {}", entry.display());
    }
}

#[cfg(unix)]
#[test]
fn a_state_directory_others_can_write_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = state_dir("shared");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    for args in [vec!["syncs"], vec!["--json", "syncs"], vec!["demo"]] {
        let out = model_sync(&dir, TOKEN, &args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("writable by group or others") && stderr.contains("chmod go-w"), "{stderr}");
    }
    assert!(walk(&dir).is_empty(), "nothing was written into it");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // A temporary file that a crashed process left is swept on the next open.
    std::fs::write(dir.join(format!(".tmp-{}-0-settings.json", i32::MAX - 1)), b"{").expect("write");
    let out = model_sync(&dir, TOKEN, &["syncs"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(walk(&dir).iter().all(|f| !f.to_string_lossy().contains(".tmp-")), "{:?}", walk(&dir));
}

/// Serves `manifest` as the docs run's manifest.json.
fn serve_manifest(emulator: &Emulator, manifest: &Value) {
    let body = serde_json::to_vec(manifest).expect("JSON");
    assert!(emulator.with_world(|w| w.replace_artifact(ids::DOCS_RUN, "manifest.json", body)));
}

#[test]
fn diff_and_prune_follow_the_json_contract() {
    let emulator = Emulator::start(World::jaffle_shop()).expect("emulator");
    let dir = state_dir("diff");
    configure(&emulator, &dir);
    // Served as serde_json writes it (sorted keys), so that the edited copy differs only by the edit.
    let mut manifest: Value = serde_json::from_slice(jaffle::MANIFEST).expect("manifest");
    serve_manifest(&emulator, &manifest);
    assert!(model_sync(&dir, TOKEN, &["sync"]).status.success());
    let nodes = manifest["nodes"].as_object_mut().expect("nodes");
    // A leaf: no other model's column lineage leads to it.
    nodes.remove("model.jaffle_shop.customers").expect("a model");
    nodes["model.jaffle_shop.orders"]["description"] = "Orders, described anew.".into();
    serve_manifest(&emulator, &manifest);
    let out = model_sync(&dir, TOKEN, &["--json", "sync", "--force"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["changes"]["modified"], 1);

    let out = model_sync(&dir, "", &["--json", "diff", "2"]);
    assert!(out.status.success(), "diff needs no token: {}", String::from_utf8_lossy(&out.stderr));
    let diff = json(&out);
    assert_eq!(
        diff,
        serde_json::json!({"from": 1, "to": 2, "added": [], "removed": ["model.jaffle_shop.customers"],
            "modified": [{"unique_id": "model.jaffle_shop.orders", "changed": ["description"]}]})
    );
    assert_eq!(json(&model_sync(&dir, "", &["--json", "diff", "1", "2"])), diff, "FROM given");
    let text = String::from_utf8_lossy(&model_sync(&dir, "", &["diff", "2"]).stdout).into_owned();
    assert!(text.contains("modified  model.jaffle_shop.orders") && text.contains("description"), "{text}");
    assert!(text.contains("removed   model.jaffle_shop.customers"), "{text}");
    assert!(text.starts_with("sync 2 against sync 1: 0 added, 1 removed, 1 modified\n"), "{text}");

    let out = model_sync(&dir, "", &["--json", "prune", "--keep", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pruned = json(&out);
    assert_eq!(pruned["pruned"], 1);
    assert!(pruned["bytes_freed"].as_u64().unwrap_or(0) > 0, "{pruned}");
    let list = json(&model_sync(&dir, "", &["--json", "syncs"]));
    assert_eq!(list.as_array().map(Vec::len), Some(2), "records stay");
    assert_eq!(list[1]["has_catalog"], false);
    let shown = model_sync(&dir, "", &["--json", "show", "1"]);
    assert!(shown.status.success());
    assert_eq!(json(&shown)["catalog"], Value::Null);
    let out = model_sync(&dir, "", &["--json", "diff", "1", "2"]);
    assert_eq!(json(&out)["error"]["kind"], "not-found", "a pruned catalog cannot be compared");
}

#[test]
fn diff_names_the_columns_that_changed() {
    let emulator = Emulator::start(World::jaffle_shop()).expect("emulator");
    let dir = state_dir("diff-columns");
    configure(&emulator, &dir);
    let mut manifest: Value = serde_json::from_slice(jaffle::MANIFEST).expect("manifest");
    serve_manifest(&emulator, &manifest);
    assert!(model_sync(&dir, TOKEN, &["sync"]).status.success());
    manifest["nodes"]["model.jaffle_shop.orders"]["columns"]["order_id"]["description"] = "The order, renamed.".into();
    serve_manifest(&emulator, &manifest);
    assert!(model_sync(&dir, TOKEN, &["sync", "--force"]).status.success());
    let diff = json(&model_sync(&dir, "", &["--json", "diff", "2"]));
    let orders = &diff["modified"][0];
    assert_eq!(orders["unique_id"], "model.jaffle_shop.orders", "{diff}");
    assert_eq!(
        orders["columns"],
        serde_json::json!({"added": [], "removed": [], "changed": [{"name": "order_id", "changed": ["description"]}]})
    );
    let text = String::from_utf8_lossy(&model_sync(&dir, "", &["diff", "2"]).stdout).into_owned();
    assert!(text.contains("~ column order_id: description"), "{text}");
}

#[test]
fn show_streams_a_catalog_of_many_pages_as_one_json_document() {
    let generated = dbt_cloud_emulator::generate::project(1_500, 3);
    let mut world = World::jaffle_shop();
    for run in world.runs.iter_mut().filter(|r| r.id == ids::DOCS_RUN) {
        run.artifacts.clear();
        run.save("manifest.json", None, generated.manifest.clone());
        run.save("run_results.json", Some(4), generated.run_results.clone());
    }
    let emulator = Emulator::start(world).expect("emulator");
    let dir = state_dir("stream");
    configure(&emulator, &dir);
    assert!(model_sync(&dir, TOKEN, &["sync"]).status.success());
    let shown = json(&model_sync(&dir, "", &["--json", "show", "1"]));
    let nodes = shown["catalog"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), generated.entries, "every page, once");
    let ids: Vec<&str> = nodes.iter().map(|n| n["unique_id"].as_str().expect("id")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in unique-id order, without repeats");
    assert_eq!(shown["status"], "succeeded");
}

#[test]
fn a_history_kept_by_0_1_is_moved_into_the_database() {
    let dir = state_dir("v1");
    let kv = dir.join("kv");
    std::fs::create_dir_all(&kv).expect("kv dir");
    let record = serde_json::json!({"id": 1, "status": "succeeded", "triggered_by": "cli",
        "started_at": "2026-11-01T00:00:00Z", "finished_at": "2026-11-01T00:01:00Z",
        "runs": [{"job_id": 7, "run_id": 8, "purpose": "docs", "artifacts": ["manifest.json"], "href": null,
                  "git_branch": "main", "git_sha": null, "finished_at": null}],
        "counts": {"model": 2}, "warnings": [], "error": null, "changes": null, "log": ["info sync 1"]});
    std::fs::write(kv.join("sync%00000000000000000001"), serde_json::to_vec(&record).expect("JSON")).expect("write");
    let catalog = serde_json::json!({"nodes": [
        {"unique_id": "model.p.a", "resource_type": "model", "name": "a", "package_name": "p", "description": "A",
         "tags": [], "meta_json": "{}", "columns": [], "depends_on": []},
        {"unique_id": "model.p.b", "resource_type": "model", "name": "b", "package_name": "p", "description": "B",
         "tags": [], "meta_json": "{}", "columns": [], "depends_on": ["model.p.a"]}]});
    let bytes = serde_json::to_vec(&catalog).expect("JSON");
    let (first, rest) = bytes.split_at(40);
    std::fs::write(kv.join("catalog%00000000000000000001%000000"), first).expect("write");
    std::fs::write(kv.join("catalog%00000000000000000001%000001"), rest).expect("write");

    let out = model_sync(&dir, "", &["--json", "show", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = json(&out);
    assert_eq!(shown["runs"][0]["purpose"], "docs");
    let nodes = shown["catalog"]["nodes"].as_array().expect("the 0.1 catalog, converted");
    assert_eq!(
        nodes.iter().map(|n| n["unique_id"].as_str().unwrap_or("")).collect::<Vec<_>>(),
        ["model.p.a", "model.p.b"]
    );
    assert_eq!(nodes[1]["depends_on"][0], "model.p.a");
    assert!(!kv.exists() && dir.join("kv.0.1-imported").is_dir(), "imported once, the old directory kept aside");
    assert_eq!(json(&model_sync(&dir, "", &["--json", "syncs"])).as_array().map(Vec::len), Some(1));
}

#[test]
fn names_from_dbt_cloud_cannot_drive_the_terminal() {
    let mut world = World::jaffle_shop();
    world.projects[0].name = "shop\u{1b}]0;owned\u{7}\u{1b}[2J\u{202E}".into();
    world.account_name = "acme\r\u{1b}[31mred".into();
    let emulator = Emulator::start(world).expect("emulator");
    let dir = state_dir("terminal");
    let url = format!("{}/deploy/{}/projects/{}/jobs", emulator.url(), ids::ACCOUNT, ids::PROJECT);
    let out = model_sync(&dir, TOKEN, &["configure", "--url", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("shop]0;owned[2J") && text.contains("acme[31mred"), "{text}");
    for shown in [&out.stdout, &out.stderr] {
        let shown = String::from_utf8_lossy(shown);
        assert!(!shown.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{202E}'), "{shown:?}");
    }
    let json = json(&model_sync(&dir, TOKEN, &["--json", "configure", "--url", &url]));
    assert_eq!(json["project_name"], "shop\u{1b}]0;owned\u{7}\u{1b}[2J\u{202E}", "JSON keeps the data, escaped");
}

#[test]
fn help_says_what_the_tool_does_with_examples() {
    let out = model_sync(&state_dir("help"), "", &["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.starts_with("Sync a dbt Cloud project's models"), "{help}");
    assert!(help.contains("Examples:") && help.contains("model-sync diff"), "{help}");
    for command in ["diff", "prune", "show", "sync"] {
        assert!(help.contains(&format!("\n  {command} ")), "{command} is listed: {help}");
    }
}

#[test]
fn verbosity_completions_and_no_colour_off_a_terminal() {
    let emulator = Emulator::start(World::jaffle_shop()).expect("emulator");
    let dir = state_dir("verbosity");
    configure(&emulator, &dir);
    let quiet = model_sync(&dir, TOKEN, &["-q", "sync"]);
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "", "-q: errors only");
    let verbose = model_sync(&dir, TOKEN, &["-v", "sync", "--force"]);
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    assert!(stderr.contains("debug") && stderr.contains("downloading manifest.json"), "{stderr}");
    let normal = model_sync(&dir, TOKEN, &["sync", "--force"]);
    let stderr = String::from_utf8_lossy(&normal.stderr);
    assert!(!stderr.contains("debug") && stderr.contains("info"), "{stderr}");
    for out in [&quiet, &verbose, &normal] {
        assert!(!out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b), "no colour off a terminal");
    }
    let table = model_sync(&dir, TOKEN, &["syncs"]);
    let text = String::from_utf8_lossy(&table.stdout);
    let mut lines = text.lines();
    let header = lines.next().expect("a header");
    assert!(header.contains("status") && header.contains("duration") && header.contains("changes"), "{text}");
    assert_eq!(lines.filter(|l| l.trim_start().starts_with(char::is_numeric)).count(), 3, "{text}");
    assert!(text.contains("+0 -0 ~0 (since 2)"), "{text}");
    let shown = String::from_utf8_lossy(&model_sync(&dir, TOKEN, &["show", "1"]).stdout).into_owned();
    let header = shown.lines().find(|l| l.trim_start().starts_with("type")).expect("a catalog header");
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["type", "relation", "columns", "last", "key"]);
    let orders = shown.lines().find(|l| l.contains("\"main\".\"orders\"")).expect("the orders model");
    assert_eq!(orders.split_whitespace().collect::<Vec<_>>()[2..], ["18", "success", "order_id"], "{shown}");
    for text in [text.as_ref(), shown.as_str()] {
        assert!(!text.contains(['\u{E000}', '\u{E001}']), "tone marks never leave: {text}");
    }

    let pr = json(&model_sync(&dir, TOKEN, &["--json", "sync", "--pr", "42"]));
    assert_eq!(pr["runs"][0]["pull_request"], 42, "{pr}");
    let shown = String::from_utf8_lossy(&model_sync(&dir, TOKEN, &["show", &pr["id"].to_string()]).stdout).into_owned();
    assert!(shown.contains("on feature/orders (pull request 42)"), "{shown}");
    let both = model_sync(&dir, TOKEN, &["sync", "--pr", "42", "--sha", "abcdef1"]);
    assert!(!both.status.success() && String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));

    let completions = model_sync(&dir, TOKEN, &["completions", "bash"]);
    assert!(completions.status.success());
    let script = String::from_utf8_lossy(&completions.stdout);
    assert!(script.contains("_model__sync()") && script.contains("configure") && script.contains("--max-store-mb"));
}
