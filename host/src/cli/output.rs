//! JSON documents (the scripting contract) and human-readable text.

use model_sync_host::api;
use serde_json::{Map, Value, json};

fn status_name(s: api::SyncStatus) -> &'static str {
    match s {
        api::SyncStatus::Running => "running",
        api::SyncStatus::Succeeded => "succeeded",
        api::SyncStatus::SucceededWithWarnings => "succeeded_with_warnings",
        api::SyncStatus::Failed => "failed",
    }
}

/// What the CLI takes out of everything it prints: the API token of the
/// environment, whatever a server or the plugin echoed.
fn redactor() -> &'static model_sync_host::Redactor {
    static REDACTOR: std::sync::OnceLock<model_sync_host::Redactor> = std::sync::OnceLock::new();
    REDACTOR.get_or_init(|| model_sync_host::Redactor::new(std::env::var(super::args::TOKEN_VAR).ok()))
}

/// A JSON document as the CLI prints it (pretty or on one line), the token
/// taken out.
pub fn json_text(value: &Value, pretty: bool) -> String {
    let text = if pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
    redactor().redact(&text.unwrap_or_default())
}

/// `text` safe to print on a terminal: the token taken out, and control
/// characters (escape sequences, bells, carriage returns) and bidirectional
/// overrides, which names, messages and logs from dbt Cloud or a project may
/// carry, dropped; line breaks stay.
pub fn printable(text: &str) -> String {
    clean(text, false)
}

/// What stdout prints for people: [`printable`], with the tones the tables
/// marked ([`tone`]) in colour on a terminal without `NO_COLOR`, dropped
/// otherwise.
pub fn styled(text: &str) -> String {
    render(text, color(false))
}

/// [`styled`] with colour `on` or off.
fn render(text: &str, on: bool) -> String {
    let text = clean(text, true);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            TONE_START => {
                let code = match chars.next() {
                    Some('g') => "32",
                    Some('y') => "33",
                    Some('r') => "31",
                    _ => "2",
                };
                if on {
                    out.push_str(&format!("\x1b[{code}m"));
                }
            }
            TONE_END if on => out.push_str("\x1b[0m"),
            TONE_END => {}
            c => out.push(c),
        }
    }
    out
}

/// Opens a toned span (followed by one letter: `g`reen, `y`ellow, `r`ed,
/// `d`im); private-use characters, so no terminal acts on them, and taken out
/// of every value that comes from elsewhere ([`cell`]).
const TONE_START: char = '\u{E000}';
/// Closes a toned span.
const TONE_END: char = '\u{E001}';

/// `text` marked to be shown in a tone by [`styled`].
fn tone(text: &str, tone: char) -> String {
    format!("{TONE_START}{tone}{text}{TONE_END}")
}

/// A value from dbt Cloud, a project or the plugin as a table cell: printable
/// and without tone marks of its own.
fn cell(text: &str) -> String {
    printable(text)
}

fn clean(text: &str, keep_tones: bool) -> String {
    redactor()
        .redact(text)
        .chars()
        .filter(|&c| {
            c == '\n'
                || !(c.is_control()
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
                    || (!keep_tones && matches!(c, TONE_START | TONE_END)))
        })
        .collect()
}

/// Whether stdout or stderr may be coloured: a terminal, and `NO_COLOR` unset or empty.
fn color(stderr: bool) -> bool {
    use std::io::IsTerminal;
    let tty = if stderr { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() };
    tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `text` in an ANSI colour (`31` red, `32` green, `33` yellow, `2` dim) when
/// the stream may be coloured.
fn paint(text: &str, code: &str, stderr: bool) -> String {
    if color(stderr) { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
}

/// A log level as stderr shows it (`warn` in yellow, `error` in red on a terminal).
pub fn level_label(level: &str) -> String {
    let padded = format!("{level:<5}");
    match level {
        "error" => paint(&padded, "31", true),
        "warn" => paint(&padded, "33", true),
        "debug" => paint(&padded, "2", true),
        _ => padded,
    }
}

/// `error:` as stderr shows it.
pub fn error_label() -> String {
    paint("error:", "31", true)
}

/// A sync's status as people read it.
fn status_word(r: &api::SyncRecord, interrupted: bool) -> String {
    if interrupted { "interrupted".to_string() } else { status_name(r.status).replace('_', " ") }
}

/// The tone of a sync's status: green, yellow with warnings, red when it
/// failed or was interrupted, dim while running.
fn status_tone(r: &api::SyncRecord, interrupted: bool) -> char {
    match r.status {
        _ if interrupted => 'r',
        api::SyncStatus::Succeeded => 'g',
        api::SyncStatus::SucceededWithWarnings => 'y',
        api::SyncStatus::Failed => 'r',
        api::SyncStatus::Running => 'd',
    }
}

/// The tone of a run, test or freshness outcome (`success`, `pass`, `warn`,
/// `error`, `fail`, `runtime error`, ...).
fn outcome_tone(status: &str) -> char {
    match status {
        "success" | "pass" => 'g',
        "warn" => 'y',
        "skipped" => 'd',
        _ => 'r',
    }
}

/// Past syncs as a table for people, newest first.
pub fn syncs_table(records: &[(api::SyncRecord, bool)]) -> String {
    if records.is_empty() {
        return "no syncs yet: run `model-sync sync`\n".into();
    }
    let mut out = format!(
        "{:>4}  {:<23}  {:<24}  {:>8}  {:>7}  {:>7}  {:<8}  {}\n",
        "id", "status", "started", "duration", "models", "entries", "catalog", "changes"
    );
    for (r, interrupted) in records {
        let count = |t: &str| r.counts.iter().filter(|c| c.resource_type.as_str() == t).map(|c| c.count).sum::<u32>();
        let entries: u32 = r.counts.iter().map(|c| c.count).sum();
        let status = tone(&format!("{:<23}", status_word(r, *interrupted)), status_tone(r, *interrupted));
        let changes = r.changes.map_or(String::new(), |c| {
            format!("+{} -{} ~{} (since {})", c.added, c.removed, c.modified, c.previous_sync_id)
        });
        let row = format!(
            "{:>4}  {status}  {:<24}  {:>8}  {:>7}  {:>7}  {:<8}  {}\n",
            r.id,
            r.started_at,
            duration(&r.started_at, r.finished_at.as_deref()),
            count("model"),
            entries,
            if r.has_catalog { "kept" } else { "pruned" },
            changes,
        );
        out.push_str(row.trim_end());
        out.push('\n');
        if let Some(e) = &r.error {
            let (kind, message) = model_sync_host::error::describe(e);
            out.push_str(&format!("        {kind}: {}\n", cell(message.lines().next().unwrap_or(""))));
        }
    }
    out
}

/// `2.4s`, `3m05s` between two RFC 3339 times; blank when unknown.
fn duration(start: &str, end: Option<&str>) -> String {
    let secs = |t: &str| -> Option<f64> {
        let (date, time) = t.trim_end_matches('Z').split_once('T')?;
        let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
        let (y, m, day) = (d.next()??, d.next()??, d.next()??);
        let mut hms = time.split(':');
        let (h, min, s) =
            (hms.next()?.parse::<f64>().ok()?, hms.next()?.parse::<f64>().ok()?, hms.next()?.parse::<f64>().ok()?);
        // Days from the civil date (proleptic Gregorian), enough for a difference.
        let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
        let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + day;
        Some(days as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + s)
    };
    match (secs(start), end.and_then(secs)) {
        (Some(a), Some(b)) if b >= a && b - a < 60.0 => format!("{:.1}s", b - a),
        (Some(a), Some(b)) if b >= a => format!("{}m{:02}s", ((b - a) / 60.0) as u64, ((b - a) % 60.0) as u64),
        _ => String::new(),
    }
}

/// An error as `{"kind", "message"}`.
pub fn error_json(kind: &str, message: &str) -> Value {
    json!({"kind": kind, "message": message})
}

/// Whether a record says running although no sync runs: the host died during it.
pub fn interrupted(r: &api::SyncRecord, sync_in_progress: bool) -> bool {
    r.status == api::SyncStatus::Running && !sync_in_progress
}

/// A sync record; `interrupted` marks a running record whose host is gone.
pub fn record_json(r: &api::SyncRecord, interrupted: bool) -> Value {
    let counts: Map<String, Value> =
        r.counts.iter().map(|c| (c.resource_type.as_str().to_string(), json!(c.count))).collect();
    json!({
        "id": r.id,
        "status": status_name(r.status),
        "interrupted": interrupted,
        "triggered_by": r.triggered_by,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "runs": r.runs.iter().map(|u| json!({
            "job_id": u.job_id, "run_id": u.run_id, "purpose": u.purpose.as_str(), "artifacts": u.artifacts,
            "href": u.href, "git_branch": u.git_branch, "git_sha": u.git_sha, "finished_at": u.finished_at,
            "pull_request": u.pull_request,
        })).collect::<Vec<_>>(),
        "counts": counts,
        "warnings": r.warnings,
        "error": r.error.as_ref().map(|e| {
            let (kind, message) = model_sync_host::error::describe(e);
            error_json(kind, &message)
        }),
        "changes": r.changes.map(|c| json!({
            "previous_sync_id": c.previous_sync_id, "added": c.added, "removed": c.removed, "modified": c.modified,
        })),
        "has_catalog": r.has_catalog,
        "column_lineage": r.column_lineage.map(|c| json!({
            "models": c.models, "unparsed": c.unparsed, "columns": c.columns, "resolved": c.resolved,
        })),
    })
}

/// A catalog entry.
pub fn node_json(n: &api::CatalogNode) -> Value {
    json!({
        "unique_id": n.unique_id, "resource_type": n.resource_type.as_str(), "name": n.name,
        "package_name": n.package_name, "path": n.path, "database": n.database, "schema": n.schema,
        "relation_name": n.relation_name, "materialization": n.materialization,
        "description": n.description, "tags": n.tags, "owner": n.owner,
        "meta": serde_json::from_str::<Value>(&n.meta_json).unwrap_or(Value::Null),
        "columns": n.columns.iter().map(|c| json!({
            "name": c.name, "description": c.description, "data_type": c.data_type,
            "tests": c.tests, "primary_key": c.primary_key,
            "upstream": c.upstream.iter().map(|u| json!({"node": u.node, "column": u.column})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "depends_on": n.depends_on, "tested_node": n.tested_node, "tested_column": n.tested_column,
        "test_name": n.test_name, "raw_code": n.raw_code, "compiled_code": n.compiled_code,
        "last_run": n.last_run.as_ref().map(|o| json!({
            "status": o.status.as_str(), "message": o.message, "execution_time_secs": o.execution_time_secs,
            "completed_at": o.completed_at, "failures": o.failures,
        })),
        "freshness": n.freshness.as_ref().map(|f| json!({
            "status": f.status.as_str(), "max_loaded_at": f.max_loaded_at, "snapshotted_at": f.snapshotted_at,
            "age_secs": f.age_secs, "criteria": f.criteria, "error": f.error,
        })),
        "stats": n.stats.iter().map(|s| json!({"id": s.id, "label": s.label, "value": s.value})).collect::<Vec<_>>(),
        "test_outcomes": n.test_outcomes.iter().map(|t| json!({
            "test_id": t.test_id, "test_name": t.test_name, "column": t.column,
            "status": t.status.as_ref().map(|s| s.as_str()), "failures": t.failures,
        })).collect::<Vec<_>>(),
        "governance": n.governance.as_ref().map(|g| serde_json::to_value(g).unwrap_or(Value::Null)),
        "semantics": n.semantics.as_ref().map(semantics_json),
        "explorer_url": n.explorer_url,
    })
}

/// A semantic-layer definition as `{"kind": "metric" | "semantic_model" |
/// "saved_query", ...its fields}`.
fn semantics_json(s: &api::Semantics) -> Value {
    let (kind, fields) = match s {
        api::Semantics::SemanticModel(m) => ("semantic_model", serde_json::to_value(m)),
        api::Semantics::Metric(m) => ("metric", serde_json::to_value(m)),
        api::Semantics::SavedQuery(q) => ("saved_query", serde_json::to_value(q)),
    };
    let mut doc = json!({"kind": kind});
    if let (Value::Object(doc), Ok(Value::Object(fields))) = (&mut doc, fields) {
        doc.extend(fields);
    }
    doc
}

/// Column changes by unique id (see [`super::columns`]).
pub type Columns = std::collections::BTreeMap<String, super::columns::ColumnChanges>;

/// The changes from sync `from` to `to`, in the shape DESIGN.md gives; an
/// entry modified in its columns also says which (`columns`).
pub fn changes_json(from: u64, to: u64, changes: &[api::EntityChange], columns: &Columns) -> Value {
    let ids = |kind: api::ChangeKind| {
        changes.iter().filter(|c| c.kind == kind).map(|c| json!(c.unique_id)).collect::<Vec<_>>()
    };
    let modified: Vec<Value> = changes
        .iter()
        .filter(|c| c.kind == api::ChangeKind::Modified)
        .map(|c| {
            let mut v =
                json!({"unique_id": c.unique_id, "changed": c.facets.iter().map(|f| f.as_str()).collect::<Vec<_>>()});
            if let Some(cols) = columns.get(&c.unique_id) {
                v["columns"] = super::columns::json(cols);
            }
            v
        })
        .collect();
    json!({
        "from": from,
        "to": to,
        "added": ids(api::ChangeKind::Added),
        "removed": ids(api::ChangeKind::Removed),
        "modified": modified,
    })
}

/// The changes from sync `from` to `to` as a table for people, with the
/// column changes of an entry under its row.
pub fn changes_text(from: u64, to: u64, changes: &[api::EntityChange], columns: &Columns) -> String {
    let since = if from == 0 { "an empty history".to_string() } else { format!("sync {from}") };
    if changes.is_empty() {
        return format!("sync {to}: nothing changed since {since}\n");
    }
    let width = changes.iter().map(|c| c.unique_id.chars().count()).max().unwrap_or(0).clamp(9, 70);
    let count = |kind: api::ChangeKind| changes.iter().filter(|c| c.kind == kind).count();
    let mut out = format!(
        "sync {to} against {since}: {} added, {} removed, {} modified\n",
        count(api::ChangeKind::Added),
        count(api::ChangeKind::Removed),
        count(api::ChangeKind::Modified)
    );
    out.push_str(&format!("  {:<8}  {:<width$}  {}\n", "change", "unique id", "what changed"));
    for c in changes {
        let facets: Vec<&str> = c.facets.iter().map(|f| f.as_str()).collect();
        let kind_tone = match c.kind {
            api::ChangeKind::Added => 'g',
            api::ChangeKind::Removed => 'r',
            api::ChangeKind::Modified => 'y',
        };
        let row = format!(
            "  {}  {:<width$}  {}",
            tone(&format!("{:<8}", c.kind.as_str()), kind_tone),
            cell(&c.unique_id),
            facets.join(", ")
        );
        out.push_str(row.trim_end());
        out.push('\n');
        if let Some(cols) = columns.get(&c.unique_id) {
            out.push_str(&cell(&super::columns::text(cols)));
        }
    }
    out
}

fn job_json(j: &Option<api::JobSummary>) -> Value {
    match j {
        Some(j) => json!({
            "id": j.id, "name": j.name, "environment_id": j.environment_id, "chosen_by": j.chosen_by.as_str(),
            "latest_run_id": j.latest_run_id, "latest_run_finished_at": j.latest_run_finished_at,
        }),
        None => Value::Null,
    }
}

/// A connection summary.
pub fn connection_json(c: &api::Connection) -> Value {
    json!({
        "api_base_url": c.api_base_url,
        "account_id": c.account_id,
        "account_name": c.account_name,
        "plan": c.plan,
        "project_id": c.project_id,
        "project_name": c.project_name,
        "docs_job_id": c.docs_job.as_ref().map(|j| j.id),
        "freshness_job_id": c.freshness_job.as_ref().map(|j| j.id),
        "docs_job": job_json(&c.docs_job),
        "freshness_job": job_json(&c.freshness_job),
        "warnings": c.warnings,
    })
}

/// A connection for people.
pub fn connection_text(c: &api::Connection) -> String {
    let job = |label: &str, j: &Option<api::JobSummary>| match j {
        Some(j) => format!(
            "  {label}: job {} \"{}\" ({}), latest usable run: {}\n",
            j.id,
            j.name,
            j.chosen_by.as_str(),
            j.latest_run_id.map_or("none".to_string(), |r| format!(
                "{r} finished {}",
                j.latest_run_finished_at.as_deref().unwrap_or("?")
            ))
        ),
        None => format!("  {label}: none\n"),
    };
    let mut out = format!(
        "connected to {} as account {} \"{}\"{}\n  project: {} \"{}\"\n",
        c.api_base_url,
        c.account_id,
        c.account_name,
        c.plan.as_deref().map(|p| format!(" (plan {p})")).unwrap_or_default(),
        c.project_id,
        c.project_name
    );
    out.push_str(&job("docs job", &c.docs_job));
    out.push_str(&job("freshness job", &c.freshness_job));
    for w in &c.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    out
}

/// A sync record for people.
pub fn record_text(r: &api::SyncRecord, interrupted: bool) -> String {
    let status = status_word(r, interrupted);
    let mut out = format!(
        "sync {} {} (by {}, {} → {})\n",
        r.id,
        status,
        r.triggered_by,
        r.started_at,
        r.finished_at.as_deref().unwrap_or("…")
    );
    for u in &r.runs {
        out.push_str(&format!(
            "  {} run {} of job {}{}{}: {}\n",
            u.purpose.as_str(),
            u.run_id,
            u.job_id,
            u.git_branch.as_deref().map(|b| format!(" on {b}")).unwrap_or_default(),
            u.pull_request.map(|pr| format!(" (pull request {pr})")).unwrap_or_default(),
            u.artifacts.join(", ")
        ));
    }
    if !r.counts.is_empty() {
        let counts: Vec<String> =
            r.counts.iter().map(|c| format!("{} {}", c.count, c.resource_type.as_str())).collect();
        out.push_str(&format!("  catalog: {}\n", counts.join(", ")));
    }
    if let Some(c) = r.column_lineage {
        let percent = if c.columns == 0 { 100.0 } else { f64::from(c.resolved) * 100.0 / f64::from(c.columns) };
        out.push_str(&format!(
            "  column lineage: {} of {} model columns ({percent:.1}%), {} of {} models parsed\n",
            c.resolved,
            c.columns,
            c.models - c.unparsed,
            c.models
        ));
    }
    if let Some(c) = r.changes {
        out.push_str(&format!(
            "  since sync {}: {} added, {} removed, {} modified\n",
            c.previous_sync_id, c.added, c.removed, c.modified
        ));
    }
    for w in &r.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    if let Some(e) = &r.error {
        let (kind, message) = model_sync_host::error::describe(e);
        out.push_str(&format!("  error: {kind}: {message}\n"));
    }
    out
}

/// Models, sources, seeds and snapshots for people: a table of one line each
/// with the relation, columns, last status and key (the header is printed by
/// [`catalog_header`], once for all pages).
pub fn catalog_text(nodes: &[api::CatalogNode]) -> String {
    let mut out = String::new();
    for n in nodes.iter().filter(|n| matches!(n.resource_type.as_str(), "model" | "source" | "seed" | "snapshot")) {
        let status = n.last_run.as_ref().map(|o| o.status.as_str()).or(n.freshness.as_ref().map(|f| f.status.as_str()));
        let keys: Vec<&str> = n.columns.iter().filter(|c| c.primary_key).map(|c| c.name.as_str()).collect();
        let status = status.map_or(format!("{:<9}", "-"), |s| tone(&format!("{:<9}", cell(s)), outcome_tone(s)));
        let line = format!(
            "  {:<8}  {:<45}  {:>7}  {status}  {}",
            n.resource_type.as_str(),
            cell(n.relation_name.as_deref().unwrap_or(&n.unique_id)),
            n.columns.len(),
            cell(&keys.join("+")),
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The header of [`catalog_text`]'s table.
pub fn catalog_header() -> String {
    format!("  {:<8}  {:<45}  {:>7}  {:<9}  {}\n", "type", "relation", "columns", "last", "key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_dropped_and_lines_kept() {
        assert_eq!(
            printable("shop\u{1b}[2J\u{7}\r name\u{202E}lmth.exe\nnext\tline"),
            "shop[2J namelmth.exe\nnextline"
        );
    }

    #[test]
    fn tones_are_colours_on_a_terminal_and_nothing_elsewhere() {
        let text = format!("{} {}\n", tone("failed", 'r'), cell("name\u{E000}g\u{1b}[1m"));
        assert_eq!(render(&text, true), "\x1b[31mfailed\x1b[0m nameg[1m\n");
        assert_eq!(render(&text, false), "failed nameg[1m\n");
        // Without rendering, a mark is dropped and its tone letter stays visible.
        assert_eq!(printable(&text), "rfailed nameg[1m\n");
    }
}
