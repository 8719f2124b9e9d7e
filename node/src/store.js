// A key-value store on disk for the plugin's sync history: one append-only
// file of batches, each batch one JSON line written with a single append and
// an fsync, so a batch is all-or-nothing; a torn last line (a crash during
// the append) is ignored when the file is read. The file is compacted when
// it holds more than twice the live data.

import * as fs from "node:fs";
import * as path from "node:path";

const MAX_KEY_LEN = 200;
const KEY = /^[A-Za-z0-9._\-/]+$/;

/** Throws the WIT `store-error` `invalid-key` unless `key` follows the host's one rule. */
export function checkKey(key) {
  if (!key || key.length > MAX_KEY_LEN || !KEY.test(key) || key.startsWith("/") ||
      key.split("/").some((s) => s === "." || s === "..")) {
    throw { tag: "invalid-key", val: `keys are 1 to ${MAX_KEY_LEN} characters of [A-Za-z0-9._-/] without \`.\` or \`..\` segments` };
  }
}

/** A store of `file` (created 0600 in a 0700 directory when missing). */
export class FileStore {
  #file;
  #values = new Map();
  #logged = 0;

  constructor(file, { maxValueBytes = 16 << 20, maxBytes = 10 * 2 ** 30 } = {}) {
    this.#file = file;
    this.maxValueBytes = maxValueBytes;
    this.maxBytes = maxBytes;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.closeSync(fs.openSync(file, "a", 0o600));
    this.#load();
  }

  #load() {
    const text = fs.readFileSync(this.#file, "utf8");
    this.#logged = Buffer.byteLength(text);
    for (const line of text.split("\n")) {
      if (!line) continue;
      let batch;
      try {
        batch = JSON.parse(line);
      } catch {
        break; // a torn last line: the batch never committed
      }
      this.#applyInMemory(batch);
    }
  }

  #applyInMemory(batch) {
    for (const [op, key, value] of batch) {
      if (op === "s") this.#values.set(key, Buffer.from(value, "base64"));
      else this.#values.delete(key);
    }
  }

  /** The bytes of every key and value stored. */
  dataBytes() {
    let n = 0;
    for (const [k, v] of this.#values) n += k.length + v.length;
    return n;
  }

  get(key) {
    checkKey(key);
    const v = this.#values.get(key);
    return v === undefined ? undefined : new Uint8Array(v);
  }

  list(prefix) {
    return [...this.#values.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** Applies `ops` (`{tag: 'set', val: {key, value}}` or `{tag: 'delete', val: key}`) atomically. */
  apply(ops) {
    let growth = 0;
    const batch = ops.map((op) => {
      if (op.tag === "set") {
        checkKey(op.val.key);
        if (op.val.value.length > this.maxValueBytes) {
          throw { tag: "quota-exceeded", val: `a value of ${op.val.value.length} bytes is over the store's limit of ${this.maxValueBytes} bytes per value` };
        }
        growth += op.val.key.length + op.val.value.length;
        return ["s", op.val.key, Buffer.from(op.val.value).toString("base64")];
      }
      checkKey(op.val);
      return ["d", op.val];
    });
    if (growth > 0 && this.dataBytes() + growth > this.maxBytes) {
      throw { tag: "quota-exceeded", val: `the sync history is full: its quota of ${this.maxBytes >> 20} MiB is reached; prune the catalogs of old syncs or raise the quota` };
    }
    const line = JSON.stringify(batch) + "\n";
    try {
      const fd = fs.openSync(this.#file, "a", 0o600);
      try {
        fs.writeSync(fd, line);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      throw { tag: "io", val: `the sync history file: ${e.message}` };
    }
    this.#logged += Buffer.byteLength(line);
    this.#applyInMemory(batch);
    if (this.#logged > 64 << 20 && this.#logged > 2 * this.dataBytes()) this.#compact();
  }

  #compact() {
    const entries = [...this.#values].map(([k, v]) => ["s", k, v.toString("base64")]);
    const tmp = `${this.#file}.tmp-${process.pid}`;
    const text = JSON.stringify(entries) + "\n";
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    const fd = fs.openSync(tmp, "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, this.#file);
    this.#logged = Buffer.byteLength(text);
  }
}
