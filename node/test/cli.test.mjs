// The Node CLI against the emulator: the real component through jco, the
// JSON contract, and a history that a second process reads back.

import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { ROOT, cli, startEmulator, stateDir } from "./helpers.mjs";

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator.stop());

const manifest = JSON.parse(readFileSync(join(ROOT, "tests/fixtures/jaffle-shop/manifest.json"), "utf8"));
const models = Object.values(manifest.nodes).filter((n) => n.resource_type === "model").length;

test("configure, sync, syncs and show follow the JSON contract, across processes", async () => {
  const dir = stateDir();
  const configured = await cli(dir, emulator.token, ["--json", "configure", "--url", emulator.docs_url]);
  assert.equal(configured.code, 0, configured.stderr);
  const c = JSON.parse(configured.stdout);
  assert.equal(c.account_id, emulator.account_id);
  assert.equal(c.project_id, emulator.project_id);
  assert.ok(c.docs_job_id > 0 && c.freshness_job_id > 0);

  const synced = await cli(dir, emulator.token, ["--json", "sync"]);
  assert.equal(synced.code, 0, synced.stderr);
  const s = JSON.parse(synced.stdout);
  assert.equal(s.id, 1);
  assert.equal(s.status, "succeeded");
  assert.equal(s.counts.model, models);
  assert.deepEqual(s.runs.map((r) => r.purpose).sort(), ["docs", "freshness"]);

  // Another process reads the history back.
  const listed = JSON.parse((await cli(dir, "", ["--json", "syncs"])).stdout);
  assert.deepEqual(listed.map((r) => [r.id, r.status, r.has_catalog]), [[1, "succeeded", true]]);
  const shown = await cli(dir, "", ["--json", "show", "1"]);
  assert.equal(shown.code, 0, shown.stderr);
  const detail = JSON.parse(shown.stdout);
  const total = Object.values(s.counts).reduce((a, b) => a + b, 0);
  assert.equal(detail.catalog.nodes.length, total);
  const customers = detail.catalog.nodes.find((n) => n.unique_id === "model.jaffle_shop.customers");
  assert.ok(customers.columns.some((col) => col.name === "customer_id" && col.primary_key));
  assert.deepEqual(customers.columns.find((c) => c.name === "lifetime_spend").upstream, [{ node: "model.jaffle_shop.orders", column: "order_total" }]);
  assert.equal(detail.column_lineage.models, 13);
  assert.equal(customers.governance.access, "protected");
  assert.equal(customers.governance.contract_enforced, false);
  assert.match(customers.explorer_url, /\/explore\/\d+\/projects\/\d+\/environments\/\d+\/details\/model\.jaffle_shop\.customers$/);
  const ratio = detail.catalog.nodes.find((n) => n.unique_id === "metric.jaffle_shop.food_revenue_pct");
  assert.equal(ratio.semantics.kind, "metric");
  assert.equal(ratio.semantics.metric_type, "ratio");
  assert.deepEqual(ratio.semantics.inputs.map((i) => [i.name, i.role, i.alias]), [["food_revenue", "numerator", null], ["revenue", "denominator", null]]);
  const model = detail.catalog.nodes.find((n) => n.unique_id === "semantic_model.jaffle_shop.orders");
  assert.equal(model.semantics.kind, "semantic_model");
  assert.equal(model.semantics.default_time_dimension, "ordered_at");
  assert.ok(detail.log.some((l) => l.includes("sync 1 finished")));

  // The token is in no output and no file; the files are the owner's only.
  for (const out of [configured, synced, shown]) assert.ok(!(out.stdout + out.stderr).includes(emulator.token));
  for (const f of readdirSync(dir)) {
    assert.ok(!readFileSync(join(dir, f), "utf8").includes(emulator.token), f);
    assert.equal(statSync(join(dir, f)).mode & 0o077, 0, f);
  }
});

test("a failure exits non-zero with a kind, on stderr and in JSON", async () => {
  const dir = stateDir();
  await cli(dir, emulator.token, ["configure", "--url", emulator.docs_url]);
  const out = await cli(dir, "dbtc_wrong_token_1234", ["--json", "sync"]);
  assert.equal(out.code, 1);
  assert.equal(JSON.parse(out.stdout).error.kind, "unauthorized");
  assert.match(out.stderr, /^error: unauthorized: /m);
  const missing = await cli(dir, "", ["show", "x"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error: invalid-setting: sync-id/);
});
