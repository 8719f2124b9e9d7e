#!/usr/bin/env node
// `node node/cli.mjs`: the model-sync CLI contract in Node.js for `configure`,
// `sync`, `syncs` and `show`, with `--state-dir` and `--json`. The history is
// `history.jsonl` in the state directory (0700), settings in `settings.json`
// (the same file the Rust CLI keeps); the token comes from DBT_CLOUD_API_TOKEN.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { DEFAULT_POLICY, FileStore, allowingAccessUrl, instantiate, syncOptions } from "./src/index.js";
import { connectionJson, nodeJson, printable, recordJson, recordText } from "./src/output.js";

const TOKEN_VAR = "DBT_CLOUD_API_TOKEN";
const DEFAULT_HOST = "cloud.getdbt.com";

class Failure extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function parseArgs(argv) {
  const flags = { json: false };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Failure("invalid-setting", `${a} needs a value`);
      return argv[++i];
    };
    if (a === "--json") flags.json = true;
    else if (a === "--force") flags.force = true;
    else if (a === "--no-code") flags.noCode = true;
    else if (a === "--logs") flags.logs = true;
    else if (a.startsWith("--")) flags[a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = value();
    else rest.push(a);
  }
  return { flags, command: rest[0], args: rest.slice(1) };
}

function stateDir(flags) {
  if (flags.stateDir) return path.resolve(flags.stateDir);
  if (process.env.MODEL_SYNC_STATE_DIR) return path.resolve(process.env.MODEL_SYNC_STATE_DIR);
  const xdg = process.env.XDG_STATE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, "model-sync");
  return path.join(os.homedir(), ".local", "state", "model-sync");
}

function openState(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if (process.getuid && st.uid !== process.getuid()) {
    throw new Failure("host", `refusing the state directory ${dir}: it is owned by user ${st.uid}; use a directory of your own`);
  }
  if (st.mode & 0o022) {
    throw new Failure("host", `refusing the state directory ${dir}: it is writable by group or others; check it, then run \`chmod go-w ${dir}\``);
  }
  return dir;
}

const id = (text, what) => {
  if (!/^\d+$/.test(text ?? "")) throw new Failure("invalid-setting", `${what}: give a positive number, not ${JSON.stringify(text ?? "")}`);
  return BigInt(text);
};

function readSettings(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "settings.json"), "utf8"));
  } catch (e) {
    if (e.code === "ENOENT") return null;
    throw e;
  }
}

function writeSettings(dir, settings) {
  const tmp = path.join(dir, `.tmp-${process.pid}-0-settings.json`);
  fs.writeFileSync(tmp, JSON.stringify(settings, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, "settings.json"));
}

function token() {
  const t = process.env[TOKEN_VAR];
  if (!t) throw new Failure("invalid-setting", `api-token: set ${TOKEN_VAR} to a dbt Cloud service token (Account settings > Service tokens)`);
  return t;
}

async function session(dir, json, accessUrl) {
  const onEvent = (e) => {
    if (e.type === "log" && e.level !== "debug" && (!json || e.level === "warn" || e.level === "error")) {
      process.stderr.write(`  ${e.level.padEnd(5)} ${printable(e.message)}\n`);
    } else if (e.type === "denied") process.stderr.write(`  sandbox ${printable(e.message)}\n`);
    else if (e.type === "limit") process.stderr.write(`  sandbox limit reached: ${e.limit}\n`);
  };
  let policy = { ...DEFAULT_POLICY };
  if (accessUrl !== undefined) {
    try {
      policy = allowingAccessUrl(policy, accessUrl ?? DEFAULT_HOST);
    } catch {
      // A URL the plugin would refuse allows nothing; the plugin then says what is wrong with it.
    }
  }
  const store = new FileStore(path.join(dir, "history.jsonl"));
  return instantiate({ policy, store, onEvent, secrets: process.env[TOKEN_VAR] ? [process.env[TOKEN_VAR]] : [] });
}

const settingsFor = (s, apiToken) => ({
  apiToken,
  accessUrl: s.access_url ?? undefined,
  accountId: s.account_id == null ? undefined : BigInt(s.account_id),
  projectId: s.project_id == null ? undefined : BigInt(s.project_id),
  docsJobId: s.docs_job_id == null ? undefined : BigInt(s.docs_job_id),
  freshnessJobId: s.freshness_job_id == null ? undefined : BigInt(s.freshness_job_id),
});

async function run({ flags, command, args }) {
  const dir = openState(stateDir(flags));
  switch (command) {
    case "configure": {
      const stored = readSettings(dir) ?? {};
      const s = {
        access_url: flags.url ?? flags.host ?? stored.access_url ?? process.env.DBT_CLOUD_HOST ?? null,
        account_id: flags.accountId ? Number(id(flags.accountId, "account-id")) : stored.account_id ?? null,
        project_id: flags.projectId ? Number(id(flags.projectId, "project-id")) : stored.project_id ?? null,
        docs_job_id: flags.docsJobId ? Number(id(flags.docsJobId, "docs-job-id")) : stored.docs_job_id ?? null,
        freshness_job_id: flags.freshnessJobId ? Number(id(flags.freshnessJobId, "freshness-job-id")) : stored.freshness_job_id ?? null,
      };
      const plugin = await session(dir, flags.json, s.access_url);
      const c = plugin.configure(settingsFor(s, token()));
      writeSettings(dir, { ...s, account_id: Number(c.accountId), project_id: Number(c.projectId) });
      const out = connectionJson(c);
      return { json: out, text: printable(`account ${out.account_id} (${out.account_name}), project ${out.project_id} (${out.project_name})\n  docs job: ${out.docs_job_id ?? "none"}\n  freshness job: ${out.freshness_job_id ?? "none"}\n${c.warnings.map((w) => `  warning: ${w}\n`).join("")}`) };
    }
    case "sync": {
      const s = readSettings(dir);
      if (!s) throw new Failure("not-configured", "no connection settings yet; run `configure` first");
      const plugin = await session(dir, flags.json, s.access_url);
      plugin.configure(settingsFor(s, token()));
      const options = syncOptions("node-cli", {
        force: Boolean(flags.force),
        excludeCode: Boolean(flags.noCode),
        runId: flags.runId ? id(flags.runId, "run-id") : undefined,
        gitBranch: flags.branch,
      });
      const r = plugin.triggerSync(options);
      return { json: recordJson(r), text: recordText(r) };
    }
    case "syncs": {
      const plugin = await session(dir, flags.json, undefined);
      const records = plugin.listSyncs(flags.limit ? Number(id(flags.limit, "limit")) : undefined);
      return { json: records.map((r) => recordJson(r)), text: records.map((r) => recordText(r)).join("") || "no syncs yet\n" };
    }
    case "show": {
      const syncId = id(args[0], "sync-id");
      const plugin = await session(dir, flags.json, undefined);
      const detail = plugin.getSync(syncId);
      const nodes = detail.sync.hasCatalog ? plugin.readCatalog(syncId) : null;
      const json = { ...recordJson(detail.sync), log: detail.log, catalog: nodes ? { nodes: nodes.map(nodeJson) } : null };
      let text = recordText(detail.sync);
      for (const n of nodes ?? []) text += printable(`  ${dbtName(n)}  ${n.uniqueId}\n`);
      if (flags.logs) text += detail.log.map((l) => `  ${printable(l)}\n`).join("");
      return { json, text };
    }
    default:
      throw new Failure("invalid-setting", `unknown command ${JSON.stringify(command ?? "")}: use configure, sync, syncs or show`);
  }
}

const dbtName = (n) => (n.resourceType.tag === "other" ? n.resourceType.val : n.resourceType.tag.replaceAll("-", "_")).padEnd(9);

const parsed = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (e) {
    return e;
  }
})();
const json = !(parsed instanceof Error) && parsed.flags.json;
try {
  if (parsed instanceof Error) throw parsed;
  const out = await run(parsed);
  const replacer = (_, v) => (typeof v === "bigint" ? Number(v) : v);
  if (json) process.stdout.write(JSON.stringify(out.json, replacer, 2) + "\n");
  else process.stdout.write(out.text);
} catch (e) {
  const kind = e.kind ?? "host";
  const message = e.detail ?? e.message;
  if (json) process.stdout.write(JSON.stringify({ error: { kind, message } }, null, 2) + "\n");
  process.stderr.write(`error: ${kind}: ${printable(String(message).split("\n")[0])}\n`);
  process.exitCode = 1;
}
