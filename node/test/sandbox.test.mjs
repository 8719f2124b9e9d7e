// The sandbox in Node: a host outside the policy is refused before any
// connection, plain http only to loopback, userinfo never, and the
// component gets no environment, arguments, stdin or exit.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { DEFAULT_POLICY, FileStore, allowingAccessUrl, instantiate, isLoopback, parseOrigin, refusal, syncOptions } from "../src/index.js";
import { startEmulator, stateDir } from "./helpers.mjs";

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator.stop());

test("loopback means loopback and origins are exact", () => {
  for (const h of ["localhost", "127.0.0.1", "127.255.0.9", "::1", "[::1]"]) assert.ok(isLoopback(h), h);
  for (const h of ["127.0.0.1.nip.example", "128.0.0.1", "example.com", "1270.0.0.1"]) assert.ok(!isLoopback(h), h);
  assert.throws(() => parseOrigin("https://me:pw@ab1.us1.dbt.com"), /user name or password/);
  const p = allowingAccessUrl(DEFAULT_POLICY, "ab1.us1.dbt.com/deploy/1/projects/2");
  assert.equal(refusal(p, "https", "ab1.us1.dbt.com"), null);
  assert.match(refusal(p, "https", "ab1.us1.dbt.com:8443"), /not in the sandbox policy/);
  assert.match(refusal(p, "http", "ab1.us1.dbt.com"), /plain http/);
  assert.match(refusal(allowingAccessUrl(DEFAULT_POLICY, "http://127.0.0.1.nip.example:80"), "http", "127.0.0.1.nip.example"), /plain http/);
});

test("a host outside the policy is denied and the real plugin says network-denied", async () => {
  const events = [];
  const plugin = await instantiate({
    policy: allowingAccessUrl(DEFAULT_POLICY, "https://ab123.us1.dbt.com"),
    store: new FileStore(join(stateDir(), "history.jsonl")),
    onEvent: (e) => events.push(e),
  });
  assert.throws(() => plugin.configure({ apiToken: emulator.token, accessUrl: emulator.docs_url }), (e) => {
    assert.equal(e.kind, "network-denied");
    assert.ok(!e.message.includes(emulator.token));
    return true;
  });
  const denied = events.filter((e) => e.type === "denied");
  assert.ok(denied.length > 0 && denied[0].message.includes("127.0.0.1"), JSON.stringify(denied));
});

test("an instance syncs within its policy, and a second instance reads the history", async () => {
  const file = join(stateDir(), "history.jsonl");
  const policy = allowingAccessUrl(DEFAULT_POLICY, emulator.docs_url);
  const plugin = await instantiate({ policy, store: new FileStore(file) });
  plugin.configure({ apiToken: emulator.token, accessUrl: emulator.docs_url });
  const record = plugin.triggerSync(syncOptions("node-test"));
  assert.equal(record.status, "succeeded");
  const again = plugin.triggerSync(syncOptions("node-test", { force: true }));
  assert.equal(again.changes.previousSyncId, record.id);
  assert.equal(again.changes.added + again.changes.removed + again.changes.modified, 0, "an unchanged project");
  const reader = await instantiate({ store: new FileStore(file) });
  assert.deepEqual(reader.listSyncs(undefined).map((r) => Number(r.id)), [2, 1]);
  assert.equal(reader.readCatalog(2).length, reader.readCatalog(1).length);
});

test("the response bytes an instance receives are capped as in the Rust host", async () => {
  const events = [];
  const policy = { ...allowingAccessUrl(DEFAULT_POLICY, emulator.docs_url), maxResponseBytes: 20_000 };
  const plugin = await instantiate({ policy, store: new FileStore(join(stateDir(), "history.jsonl")), onEvent: (e) => events.push(e) });
  plugin.configure({ apiToken: emulator.token, accessUrl: emulator.docs_url });
  assert.throws(() => plugin.triggerSync(syncOptions("node-test")), (e) => {
    assert.equal(e.kind, "network");
    assert.match(e.message, /exceeds the host's limit on response bytes/);
    return true;
  });
  const limits = events.filter((e) => e.type === "limit");
  assert.deepEqual(limits.map((e) => e.limit), ["20000 response bytes (maxResponseBytes)"]);
  const history = plugin.listSyncs(undefined);
  assert.equal(history[0].status, "failed", "the failed sync is recorded");
});
