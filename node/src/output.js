// What the Node CLI prints: the JSON shapes of the CLI contract (the same as
// the Rust CLI's) and short text for people, with dbt's own spellings.

const RUN_STATUS = { "runtime-error": "runtime error", "partial-success": "partial success" };

/** A WIT variant or enum value as dbt spells it (`semantic_model`, `runtime error`). */
export function dbtName(v, special = {}) {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return special[v] ?? v.replaceAll("-", "_");
  if (v.tag === "other") return v.val;
  return special[v.tag] ?? v.tag.replaceAll("-", "_");
}

const num = (v) => (v === undefined || v === null ? null : Number(v));

/** A WIT record as the CLI's JSON has it: camelCase keys in snake_case, absent options as null. */
function snake(v) {
  if (v === undefined || v === null) return null;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(snake);
  if (typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snake(x)]));
}

/** A `semantics` variant as `{kind: 'metric' | 'semantic_model' | 'saved_query', ...its fields}`, as the Rust CLI prints it. */
function semanticsJson(s) {
  return s ? { kind: dbtName(s.tag), ...snake(s.val) } : null;
}

/** Text without terminal control characters or bidirectional overrides (line breaks stay). */
export function printable(text) {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "");
}

/** A sync record; `interrupted` marks a running record whose host is gone. */
export function recordJson(r, interrupted = false) {
  return {
    id: num(r.id),
    status: dbtName(r.status),
    interrupted,
    triggered_by: r.triggeredBy,
    started_at: r.startedAt,
    finished_at: r.finishedAt ?? null,
    runs: r.runs.map((u) => ({
      job_id: num(u.jobId), run_id: num(u.runId), purpose: dbtName(u.purpose), artifacts: u.artifacts,
      href: u.href ?? null, git_branch: u.gitBranch ?? null, git_sha: u.gitSha ?? null, finished_at: u.finishedAt ?? null,
      pull_request: num(u.pullRequest),
    })),
    counts: Object.fromEntries(r.counts.map((c) => [dbtName(c.resourceType), c.count])),
    warnings: r.warnings,
    error: r.error ? errorJson(r.error) : null,
    changes: r.changes
      ? { previous_sync_id: num(r.changes.previousSyncId), added: r.changes.added, removed: r.changes.removed, modified: r.changes.modified }
      : null,
    has_catalog: r.hasCatalog,
    column_lineage: snake(r.columnLineage),
  };
}

/** A WIT error as `{kind, message}`. */
export function errorJson(e) {
  const v = e.val;
  const message = typeof v === "string" ? v : v?.field ? `${v.field}: ${v.message}` : v?.message ?? "";
  return { kind: e.tag, message };
}

/** A catalog entry. */
export function nodeJson(n) {
  let meta = null;
  try {
    meta = JSON.parse(n.metaJson);
  } catch {
    meta = null;
  }
  return {
    unique_id: n.uniqueId, resource_type: dbtName(n.resourceType), name: n.name, package_name: n.packageName,
    path: n.path ?? null, database: n.database ?? null, schema: n.schema ?? null, relation_name: n.relationName ?? null,
    materialization: n.materialization ?? null, description: n.description, tags: n.tags, owner: n.owner ?? null, meta,
    columns: n.columns.map((c) => ({ name: c.name, description: c.description, data_type: c.dataType ?? null, tests: c.tests, primary_key: c.primaryKey,
      upstream: c.upstream.map((u) => ({ node: u.node, column: u.column })) })),
    depends_on: n.dependsOn, tested_node: n.testedNode ?? null, tested_column: n.testedColumn ?? null,
    test_name: n.testName ?? null, raw_code: n.rawCode ?? null, compiled_code: n.compiledCode ?? null,
    last_run: n.lastRun
      ? { status: dbtName(n.lastRun.status, RUN_STATUS), message: n.lastRun.message ?? null, execution_time_secs: n.lastRun.executionTimeSecs ?? null,
          completed_at: n.lastRun.completedAt ?? null, failures: num(n.lastRun.failures) }
      : null,
    freshness: n.freshness
      ? { status: dbtName(n.freshness.status, RUN_STATUS), max_loaded_at: n.freshness.maxLoadedAt ?? null, snapshotted_at: n.freshness.snapshottedAt ?? null,
          age_secs: n.freshness.ageSecs ?? null, criteria: n.freshness.criteria ?? null, error: n.freshness.error ?? null }
      : null,
    stats: n.stats.map((s) => ({ id: s.id, label: s.label, value: s.value })),
    test_outcomes: n.testOutcomes.map((t) => ({
      test_id: t.testId, test_name: t.testName, column: t.column ?? null,
      status: t.status ? dbtName(t.status, RUN_STATUS) : null, failures: num(t.failures),
    })),
    governance: snake(n.governance),
    semantics: semanticsJson(n.semantics),
    explorer_url: n.explorerUrl ?? null,
  };
}

/** A connection (what `configure` found). */
export function connectionJson(c) {
  const job = (j) => (j ? { id: num(j.id), name: j.name, environment_id: num(j.environmentId), chosen_by: j.chosenBy,
    latest_run_id: num(j.latestRunId), latest_run_finished_at: j.latestRunFinishedAt ?? null } : null);
  return {
    api_base_url: c.apiBaseUrl, account_id: num(c.accountId), account_name: c.accountName, plan: c.plan ?? null,
    project_id: num(c.projectId), project_name: c.projectName,
    docs_job_id: num(c.docsJob?.id), freshness_job_id: num(c.freshnessJob?.id),
    docs_job: job(c.docsJob), freshness_job: job(c.freshnessJob), warnings: c.warnings,
  };
}

/** One line per sync for people. */
export function recordText(r, interrupted = false) {
  const status = interrupted ? "interrupted" : dbtName(r.status).replaceAll("_", " ");
  const counts = r.counts.map((c) => `${c.count} ${dbtName(c.resourceType)}`).join(", ");
  let text = `sync ${r.id} ${status} (by ${r.triggeredBy}, ${r.startedAt}${r.finishedAt ? ` → ${r.finishedAt}` : ""})\n`;
  if (counts) text += `  catalog: ${counts}\n`;
  for (const w of r.warnings) text += `  warning: ${w}\n`;
  if (r.error) text += `  error: ${errorJson(r.error).kind}: ${errorJson(r.error).message}\n`;
  return printable(text);
}
