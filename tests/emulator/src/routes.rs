//! The endpoints: routing, auth, the envelope, pagination, filters and faults.

use serde_json::{Value, json};

use crate::http::{Body, Request, Response};
use crate::world::{Run, World};
use crate::{FaultKind, Logged, Shared};

fn envelope(status: u16, data: Value) -> Response {
    let ok = (200..300).contains(&status);
    Response::json(
        status,
        &json!({
            "status": {"code": status, "is_success": ok, "user_message": if ok { "Success!" } else { "" }, "developer_message": ""},
            "data": data,
        }),
    )
}

fn error(status: u16, message: &str) -> Response {
    Response::json(
        status,
        &json!({
            "status": {"code": status, "is_success": false, "user_message": message, "developer_message": ""},
            "data": null,
        }),
    )
}

/// The answer to a request the emulator has no route for: a 500 that names
/// it, so that a test sending it fails with the reason in view.
fn unrouted(req: &Request) -> Response {
    let query: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    error(500, &format!("the emulator has no route for {} {}?{}", req.method, req.path, query.join("&")))
}

fn not_found() -> Response {
    error(404, "The requested resource was not found.")
}

/// Handles one request: logs it, applies faults, routes.
pub fn handle(shared: &Shared, req: Request) -> Response {
    let fault = {
        let mut faults = shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        let hit = faults.iter_mut().find(|f| f.times > 0 && req.path.contains(&f.path_contains));
        hit.map(|f| {
            f.times -= 1;
            f.kind.clone()
        })
    };
    let base = shared.base_url.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (mut response, routed) = match &fault {
        Some(FaultKind::Status { status, retry_after }) => {
            let mut r = error(*status, "Injected failure.");
            if let Some(s) = retry_after {
                r.headers.push(("Retry-After".into(), s.to_string()));
            }
            (r, true)
        }
        Some(FaultKind::Error { status, message }) => (error(*status, message), true),
        Some(FaultKind::Redirect(location)) => {
            let mut r = Response::raw(302, "text/html", Vec::new());
            r.headers.push(("Location".into(), location.clone()));
            (r, true)
        }
        Some(FaultKind::Html) => (
            Response::raw(
                502,
                "text/html",
                b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>".to_vec(),
            ),
            true,
        ),
        Some(FaultKind::Body(b)) => (Response::raw(200, "application/json", b.clone()), true),
        _ => {
            let mut world = shared.world.lock().unwrap_or_else(|e| e.into_inner());
            route(&mut world, &base, &req)
        }
    };
    match fault {
        Some(FaultKind::Slow { pieces, pause }) => {
            if let Body::Full(b) = std::mem::replace(&mut response.body, Body::Full(Default::default())) {
                response.body = Body::Slow(b, pieces, pause);
            }
        }
        Some(FaultKind::CutOff(keep)) => {
            if let Body::Full(b) = std::mem::replace(&mut response.body, Body::Full(Default::default())) {
                response.body = Body::CutOff(b, keep);
            }
        }
        Some(FaultKind::Delay(d)) => response.delay = d,
        _ => {}
    }
    shared.log.lock().unwrap_or_else(|e| e.into_inner()).push(Logged {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        headers: req.headers.clone(),
        body: req.body.clone(),
        status: response.status,
        routed,
    });
    response
}

fn authorized(world: &World, req: &Request) -> bool {
    let Some(auth) = req.header("authorization") else {
        return false;
    };
    let token = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("Token "));
    token == Some(world.token.as_str())
}

fn route(world: &mut World, base: &str, req: &Request) -> (Response, bool) {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    if !authorized(world, req) {
        let routed = segments.first() == Some(&"api");
        return (error(401, "Invalid token."), routed);
    }
    if let Some(limit) = req.param("limit")
        && limit.parse::<u64>().map_or(true, |l| l > 100)
    {
        return (
            Response::json(
                400,
                &json!({"status": {"code": 400, "is_success": false, "user_message": "The request was invalid. Please double check the provided data and try again.", "developer_message": ""},
                        "data": {"limit": "Ensure this value is less than or equal to 100."}}),
            ),
            true,
        );
    }
    let account_ok = |id: &str| id.parse::<u64>().ok() == Some(world.account_id);
    if let ["api", _, "accounts", a, ..] = segments.as_slice()
        && !account_ok(a)
    {
        // dbt Cloud answers 404, not 403, for another account's objects.
        return (not_found(), true);
    }
    let get = req.method == "GET";
    let post = req.method == "POST";
    let response = match segments.as_slice() {
        ["api", "v2", "accounts", a] if get => {
            if !account_ok(a) {
                return (not_found(), true);
            }
            envelope(
                200,
                json!({"id": world.account_id, "name": world.account_name, "plan": world.plan, "state": 1, "locked": false, "static_subdomain": "ab123", "docs_job_id": null, "freshness_job_id": null}),
            )
        }
        ["api", "v3", "accounts", a, "projects", p] if get => {
            let project = world.projects.iter().find(|x| Some(x.id) == p.parse().ok());
            match project.filter(|_| account_ok(a)) {
                Some(x) => envelope(
                    200,
                    json!({"id": x.id, "name": x.name, "account_id": world.account_id, "state": 1, "type": 0, "docs_job_id": x.docs_job_id, "freshness_job_id": x.freshness_job_id, "dbt_project_subdirectory": null}),
                ),
                None => not_found(),
            }
        }
        ["api", "v2", "accounts", a, "jobs"] if get && account_ok(a) => {
            let project = req.param("project_id").and_then(|p| p.parse::<u64>().ok());
            let include = req.param("include_related").unwrap_or("");
            let mut jobs: Vec<Value> = world
                .jobs
                .iter()
                .filter(|j| project.is_none_or(|p| j.project_id == p))
                .map(|j| {
                    let mut v = job_json(world, j.id);
                    if include.contains("environment") {
                        v["environment"] = json!({"id": j.environment_id, "name": "Environment",
                            "type": "deployment", "deployment_type": j.deployment_type});
                    }
                    v
                })
                .collect();
            if req.param("order_by") == Some("-id") {
                jobs.reverse();
            }
            page(req, jobs)
        }
        ["api", "v2", "accounts", a, "jobs", j] if get && account_ok(a) => {
            match world.jobs.iter().find(|x| Some(x.id) == j.parse().ok()) {
                Some(x) => envelope(200, job_json(world, x.id)),
                None => not_found(),
            }
        }
        ["api", "v2", "accounts", a, "jobs", j, "run"] if post && account_ok(a) => trigger(world, base, req, j),
        ["api", "v2", "accounts", a, "runs"] if get && account_ok(a) => list_runs(world, base, req),
        ["api", "v2", "accounts", a, "runs", r] if get && account_ok(a) => {
            let include = req.param("include_related").unwrap_or("").to_string();
            let echo = world.echo.clone();
            match world.runs.iter_mut().find(|x| Some(x.id) == r.parse().ok()) {
                Some(run) => {
                    advance(run, echo.as_deref());
                    envelope(200, run_json(run, base, &include, echo.as_deref()))
                }
                None => not_found(),
            }
        }
        ["api", "v2", "accounts", a, "runs", r, "cancel"] if post && account_ok(a) => {
            match world.runs.iter_mut().find(|x| Some(x.id) == r.parse().ok()) {
                Some(run) => {
                    if run.status < 10 {
                        run.status = 30;
                        run.status_message = Some("Cancelled by API".into());
                        run.finished_at = Some("2026-11-23 00:00:00.000000+00:00".into());
                    }
                    envelope(200, run_json(run, base, "", None))
                }
                None => not_found(),
            }
        }
        ["api", "v2", "accounts", a, "runs", r, "artifacts"] if get && account_ok(a) => {
            match world.runs.iter().find(|x| Some(x.id) == r.parse().ok()) {
                Some(run) if run.artifacts.is_empty() => envelope(200, Value::Null),
                Some(run) => envelope(
                    200,
                    json!(
                        run.artifacts.iter().filter(|x| x.step.is_none()).map(|x| x.name.clone()).collect::<Vec<_>>()
                    ),
                ),
                None => not_found(),
            }
        }
        ["api", "v2", "accounts", a, "runs", r, "artifacts", rest @ ..] if get && account_ok(a) => {
            let name = rest.join("/");
            let step = req.param("step").and_then(|s| s.parse::<u32>().ok());
            let run = world.runs.iter().find(|x| Some(x.id) == r.parse().ok());
            let last = run.map_or(0, |x| x.steps.len() as u32);
            let step = step.filter(|s| *s != last);
            match run.and_then(|x| x.artifacts.iter().find(|f| f.name == name && f.step == step)) {
                // Gzipped when the client says it takes gzip, as dbt Cloud's
                // web servers do.
                Some(f) if accepts_gzip(req) => {
                    let mut response = Response::shared(200, "application/json", f.gzipped());
                    response.headers.push(("Content-Encoding".into(), "gzip".into()));
                    response
                }
                Some(f) => Response::shared(200, "application/json", f.body().clone()),
                None => error(404, &format!("No artifact {name} found for this run.")),
            }
        }
        _ => return (unrouted(req), false),
    };
    (response, true)
}

/// Whether `Accept-Encoding` lists gzip (with a non-zero weight).
fn accepts_gzip(req: &Request) -> bool {
    req.header("accept-encoding").is_some_and(|v| {
        v.split(',').any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            parts.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
                && parts.all(|p| p.strip_prefix("q=").is_none_or(|q| q.parse::<f64>().is_ok_and(|q| q > 0.0)))
        })
    })
}

fn page(req: &Request, items: Vec<Value>) -> Response {
    let limit = req.param("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100);
    let offset = req.param("offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0);
    let total = items.len();
    let data: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    Response::json(
        200,
        &json!({
            "status": {"code": 200, "is_success": true, "user_message": "Success!", "developer_message": ""},
            "data": data,
            "extra": {"filters": {"limit": limit, "offset": offset}, "order_by": req.param("order_by").unwrap_or("id"),
                      "pagination": {"count": data.len(), "total_count": total}},
        }),
    )
}

fn job_json(world: &World, id: u64) -> Value {
    let Some(j) = world.jobs.iter().find(|j| j.id == id) else {
        return Value::Null;
    };
    json!({
        "id": j.id, "account_id": world.account_id, "project_id": j.project_id, "environment_id": j.environment_id,
        "name": j.name, "description": "", "execute_steps": j.execute_steps, "generate_docs": j.generate_docs,
        "run_generate_sources": j.run_generate_sources, "job_type": j.job_type, "state": 1,
        "triggers": {"schedule": j.job_type == "scheduled", "github_webhook": j.job_type == "ci"},
        "settings": {"threads": 4, "target_name": "default"}, "execution": {"timeout_seconds": 0},
        "created_at": "2026-01-01T00:00:00.000000+00:00", "updated_at": "2026-01-01T00:00:00.000000+00:00",
    })
}

fn humanize(status: i64) -> &'static str {
    match status {
        1 => "Queued",
        2 => "Starting",
        3 => "Running",
        10 => "Success",
        20 => "Error",
        30 => "Cancelled",
        _ => "Unknown",
    }
}

fn run_json(run: &Run, base: &str, include: &str, echo: Option<&str>) -> Value {
    let done = run.status >= 10;
    let mut v = json!({
        "id": run.id, "trigger_id": run.id + 1, "account_id": 0, "project_id": run.project_id,
        "environment_id": 0, "job_definition_id": run.job_id, "job_id": run.job_id,
        "status": run.status, "status_humanized": humanize(run.status), "status_message": run.status_message,
        "dbt_version": "1.11.0-latest", "git_branch": run.git_branch, "git_sha": run.git_sha,
        "created_at": run.created_at, "updated_at": run.created_at, "dequeued_at": run.created_at,
        "started_at": run.created_at, "finished_at": run.finished_at,
        "artifacts_saved": done && !run.artifacts.is_empty(), "artifact_s3_path": null,
        "has_docs_generated": run.has_docs_generated, "has_sources_generated": run.has_sources_generated,
        "in_progress": !done, "is_complete": done, "is_success": run.status == 10, "is_error": run.status == 20,
        "is_cancelled": run.status == 30, "is_running": run.status == 3,
        "duration": "00:10:00", "queued_duration": "00:00:01", "run_duration": "00:09:59",
        "href": format!("{base}/deploy/0/projects/{}/runs/{}/", run.project_id, run.id),
        "blocked_by": [], "can_retry": false,
    });
    if include.contains("trigger") {
        v["trigger"] = json!({"id": run.id + 1, "cause": run.cause,
            "cause_category": if run.pull_request.is_some() { "github_pull_request" } else { "api" },
            "github_pull_request_id": run.pull_request, "gitlab_merge_request_id": null,
            "azure_pull_request_id": null, "non_native_pull_request_id": null,
            "git_branch": run.git_branch, "git_sha": run.git_sha});
    }
    if include.contains("run_steps") {
        v["run_steps"] = json!(
            run.steps
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let failed = run.status == 20 && name.contains("`dbt build`");
                    let logs = if failed {
                        format!("Running with dbt=1.11.0\nFound 13 models, 27 data tests\n\nDatabase Error in model orders (models/orders.sql)\n  relation \"raw.orders\" does not exist{}\n\nDone. PASS=40 WARN=0 ERROR=1 SKIP=5 TOTAL=46", echo.unwrap_or(""))
                    } else {
                        String::new()
                    };
                    json!({"id": run.id * 100 + i as u64, "run_id": run.id, "index": i + 1, "name": name,
                        "status": if failed { 20 } else if done { 10 } else { 3 }, "logs": logs, "truncated_debug_logs": ""})
                })
                .collect::<Vec<_>>()
        );
    }
    v
}

/// Lets a triggered run progress by one poll; it ends after `polls_left` polls.
fn advance(run: &mut Run, echo: Option<&str>) {
    if run.status >= 10 || run.polls_left == 0 {
        return;
    }
    run.polls_left -= 1;
    if run.polls_left == 0 {
        run.status = run.ends_with;
        run.finished_at = Some("2026-11-23 00:30:00.000000+00:00".into());
        if run.ends_with == 20 {
            run.status_message =
                Some(format!("Database Error in model orders (models/orders.sql){}", echo.unwrap_or("")));
        }
    } else {
        run.status = if run.polls_left > 1 { 1 } else { 3 };
    }
}

fn list_runs(world: &World, base: &str, req: &Request) -> Response {
    let job = req.param("job_definition_id").and_then(|j| j.parse::<u64>().ok());
    let project = req.param("project_id").and_then(|j| j.parse::<u64>().ok());
    let status = req.param("status").and_then(|s| s.parse::<i64>().ok());
    let status_in: Option<Vec<i64>> = req
        .param("status__in")
        .map(|s| s.trim_matches(|c| c == '[' || c == ']').split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let include = req.param("include_related").unwrap_or("");
    let mut runs: Vec<&Run> = world
        .runs
        .iter()
        .filter(|r| job.is_none_or(|j| r.job_id == j))
        .filter(|r| project.is_none_or(|p| r.project_id == p))
        .filter(|r| status.is_none_or(|s| r.status == s))
        .filter(|r| status_in.as_ref().is_none_or(|s| s.contains(&r.status)))
        .collect();
    match req.param("order_by").unwrap_or("id") {
        "-finished_at" => runs.sort_by(|a, b| b.finished_at.cmp(&a.finished_at).then(b.id.cmp(&a.id))),
        "finished_at" => runs.sort_by(|a, b| a.finished_at.cmp(&b.finished_at)),
        "-id" => runs.sort_by_key(|r| std::cmp::Reverse(r.id)),
        "-created_at" => runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id))),
        _ => runs.sort_by_key(|r| r.id),
    }
    page(req, runs.into_iter().map(|r| run_json(r, base, include, None)).collect())
}

fn trigger(world: &mut World, base: &str, req: &Request, job: &str) -> Response {
    let Some(job) = world.jobs.iter().find(|j| Some(j.id) == job.parse().ok()).cloned() else {
        return not_found();
    };
    let cause = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .and_then(|v| v.get("cause").and_then(|c| c.as_str()).map(str::to_string))
        .unwrap_or_default();
    if cause.is_empty() {
        return Response::json(
            400,
            &json!({"status": {"code": 400, "is_success": false, "user_message": "The request was invalid.", "developer_message": ""},
                    "data": {"cause": "This field is required."}}),
        );
    }
    let template = world.runs.iter().filter(|r| r.job_id == job.id && r.status == 10).max_by_key(|r| r.id).cloned();
    let id = world.runs.iter().map(|r| r.id).max().unwrap_or(1) + 1;
    let mut run = match template {
        Some(t) => Run { id, ..t },
        None => Run::finished(id, &job, 1, 23),
    };
    run.status = 1;
    run.finished_at = None;
    run.cause = cause;
    run.polls_left = world.polls_until_done.max(1);
    run.ends_with = world.triggered_status;
    run.status_message = None;
    let response = envelope(200, run_json(&run, base, "", None));
    world.runs.push(run);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(value: &str) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            query: Vec::new(),
            headers: vec![("accept-encoding".into(), value.into())],
            body: Vec::new(),
        }
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        for yes in ["gzip", "deflate, GZIP", "br;q=1.0, gzip;q=0.5"] {
            assert!(accepts_gzip(&asking(yes)), "{yes}");
        }
        for no in ["", "identity", "br", "gzip;q=0", "x-gzip2"] {
            assert!(!accepts_gzip(&asking(no)), "{no}");
        }
    }
}
