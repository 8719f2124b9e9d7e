// The model-sync component in Node.js: `instantiate` gives one sandboxed
// instance (its own history store, sandbox policy and events), as the Rust
// host's `Runtime::instantiate` does.
//
//   const plugin = await instantiate({ policy, store: new FileStore(file), onEvent: console.log });
//   await plugin.configure({ apiToken, accessUrl });
//   const record = plugin.triggerSync(syncOptions("my-app"));

import { readFile } from "node:fs/promises";
import { cli, clocks, http, io, random } from "@bytecodealliance/preview2-shim";

import { instantiate as instantiateComponent } from "../gen/plugin.js";
import { createHost, redact } from "./host.js";
import { DEFAULT_POLICY, sandboxedOutgoingHandler } from "./http.js";

export { FileStore } from "./store.js";
export { DEFAULT_POLICY, allowingAccessUrl, isLoopback, parseOrigin, refusal } from "./http.js";

/** The caps on events, as the Rust host's defaults. */
export const DEFAULT_LIMITS = { maxLogLines: 10_000, maxProgressEvents: 10_000, maxDenialLines: 100 };

const GEN = new URL("../gen/", import.meta.url);

/** WASI as the sandbox grants it: no environment, arguments or stdin; no exit; stdout goes to stderr. */
function sandboxedCli() {
  const refuse = (what) => () => {
    throw new Error(`the sandbox grants no ${what}`);
  };
  return {
    "wasi:cli/environment": { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    "wasi:cli/exit": { exit: refuse("exit"), exitWithCode: refuse("exit") },
    "wasi:cli/stdin": { getStdin: refuse("stdin") },
    "wasi:cli/stdout": { getStdout: () => cli.stderr.getStderr() },
    "wasi:cli/stderr": cli.stderr,
    "wasi:cli/terminal-input": cli.terminalInput,
    "wasi:cli/terminal-output": cli.terminalOutput,
    "wasi:cli/terminal-stdin": { getTerminalStdin: () => undefined },
    "wasi:cli/terminal-stdout": { getTerminalStdout: () => undefined },
    "wasi:cli/terminal-stderr": { getTerminalStderr: () => undefined },
  };
}

/** What an error thrown by the component says: `{kind, message}`. */
export function describeError(e) {
  const p = e?.payload;
  if (p && typeof p === "object" && "tag" in p) {
    const v = p.val;
    const message = typeof v === "string" ? v : v?.field ? `${v.field}: ${v.message}` : v?.message ?? "";
    return { kind: p.tag, message };
  }
  return { kind: "plugin-crashed", message: String(e?.message ?? e) };
}

/**
 * One sandboxed instance of the component.
 * @param {object} o
 * @param {object} [o.policy] allowlist and timeouts (see `DEFAULT_POLICY`, `allowingAccessUrl`)
 * @param {import('./store.js').FileStore} o.store the history
 * @param {(event: object) => void} [o.onEvent] log lines, progress, denials, limits reached
 * @param {string[]} [o.secrets] more to take out of events and errors (the token always is)
 */
export async function instantiate({ policy = DEFAULT_POLICY, store, onEvent = () => {}, secrets = [], limits = DEFAULT_LIMITS }) {
  const known = [...secrets];
  let denials = 0;
  const onDenied = (line) => {
    if (++denials <= limits.maxDenialLines) onEvent({ type: "denied", message: redact(known, line, 4096) });
  };
  let capReached = false;
  const onResponseCap = (max) => {
    if (!capReached) onEvent({ type: "limit", limit: `${max} response bytes (maxResponseBytes)` });
    capReached = true;
  };
  const imports = {
    "modelsync:plugin/host": createHost({ store, onEvent, secrets: known, limits }),
    ...sandboxedCli(),
    "wasi:clocks/monotonic-clock": clocks.monotonicClock,
    "wasi:clocks/wall-clock": clocks.wallClock,
    "wasi:http/outgoing-handler": sandboxedOutgoingHandler({ ...DEFAULT_POLICY, ...policy }, onDenied, onResponseCap),
    "wasi:http/types": http.types,
    "wasi:io/error": io.error,
    "wasi:io/poll": io.poll,
    "wasi:io/streams": io.streams,
    "wasi:random/insecure-seed": random.insecureSeed,
    "wasi:random/random": random.random,
  };
  const getCoreModule = async (name) => WebAssembly.compile(await readFile(new URL(name, GEN)));
  const { modelSync } = await instantiateComponent(getCoreModule, imports);
  const scrubbed = (f) => (...args) => {
    try {
      return f(...args);
    } catch (e) {
      const { kind, message } = describeError(e);
      const error = new Error(`${kind}: ${redact(known, message, 64 * 1024)}`);
      error.kind = kind;
      error.detail = redact(known, message, 64 * 1024);
      throw error;
    }
  };
  return {
    configure: scrubbed((settings) => {
      if (settings.apiToken && !known.includes(settings.apiToken)) known.push(settings.apiToken);
      return modelSync.configure(settings);
    }),
    listSyncs: scrubbed((limit) => modelSync.listSyncs(limit)),
    getSync: scrubbed((id) => modelSync.getSync(BigInt(id))),
    getCatalog: scrubbed((id, offset, limit, type) => modelSync.getCatalog(BigInt(id), offset, limit, type)),
    getChanges: scrubbed((from, to, offset, limit) =>
      modelSync.getChanges(from === undefined ? undefined : BigInt(from), BigInt(to), offset, limit)),
    triggerSync: scrubbed((options) => modelSync.triggerSync(options)),
    prune: scrubbed((keep) => modelSync.prune(keep)),
    /** Every catalog entry of sync `id`, read page by page. */
    readCatalog: scrubbed((id) => {
      const nodes = [];
      for (;;) {
        const page = modelSync.getCatalog(BigInt(id), nodes.length, 5000, undefined);
        nodes.push(...page.nodes);
        if (page.nodes.length === 0 || nodes.length >= page.total) return nodes;
      }
    }),
  };
}

/** Options of a plain sync (latest successful runs, code kept, the newest 30 catalogs kept). */
export function syncOptions(triggeredBy, overrides = {}) {
  return { runJob: false, cancelOnTimeout: false, force: false, excludeCode: false, keepCatalogs: 30, triggeredBy, ...overrides };
}
