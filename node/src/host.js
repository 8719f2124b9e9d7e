// The `modelsync:plugin/host` interface in JavaScript: log lines and progress
// (secrets taken out, lengths and counts capped as in the Rust host) and the
// key-value store where the sync history lives.

/** The longest log line or progress step passed on, in characters. */
export const MAX_LOG_LINE = 4096;

/** Removes every secret from `text`, then cuts it to `max` characters. */
export function redact(secrets, text, max = Infinity) {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join("<redacted>");
  return out.length > max ? out.slice(0, max) : out;
}

/**
 * The host import for one instance.
 * @param {object} o
 * @param {import('./store.js').FileStore} o.store where the history lives
 * @param {(event: object) => void} o.onEvent hears `{type: 'log', level, message}`,
 *   `{type: 'progress', step, done, total}` and `{type: 'limit', limit}`
 * @param {string[]} o.secrets taken out of every line (the token is added by `configure`)
 * @param {{maxLogLines: number, maxProgressEvents: number}} o.limits
 */
export function createHost({ store, onEvent, secrets, limits }) {
  let lines = 0;
  let progressEvents = 0;
  const reached = new Set();
  const limit = (name, value) => {
    if (!reached.has(name)) {
      reached.add(name);
      onEvent({ type: "limit", limit: `${value} ${name}` });
    }
  };
  return {
    log(level, message) {
      if (++lines > limits.maxLogLines) return limit("log lines", limits.maxLogLines);
      onEvent({ type: "log", level, message: redact(secrets, message, MAX_LOG_LINE) });
    },
    progress(step, done, total) {
      if (++progressEvents > limits.maxProgressEvents) return limit("progress events", limits.maxProgressEvents);
      onEvent({ type: "progress", step: redact(secrets, step, MAX_LOG_LINE), done, total });
    },
    kvGet: (key) => store.get(key),
    kvSet: (key, value) => store.apply([{ tag: "set", val: { key, value } }]),
    kvDelete: (key) => store.apply([{ tag: "delete", val: key }]),
    kvList: (prefix) => store.list(prefix),
    kvBatch: (ops) => store.apply(ops),
  };
}
