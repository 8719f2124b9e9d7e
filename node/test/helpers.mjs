// What the Node tests share: the emulator as a process, the CLI as a process.

import { execFile, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EMULATOR = join(ROOT, "target", "debug", "dbt-cloud-emulator");
const CLI = fileURLToPath(new URL("../cli.mjs", import.meta.url));

/** Starts the emulator with jaffle-shop; `stop()` ends it. */
export async function startEmulator() {
  const child = spawn(EMULATOR, [], { stdio: ["pipe", "pipe", "inherit"] });
  const info = await new Promise((resolve, reject) => {
    child.once("error", reject);
    child.stdout.once("data", (d) => resolve(JSON.parse(d.toString())));
  });
  return { ...info, stop: () => child.stdin.end() };
}

/** A fresh state directory. */
export const stateDir = () => mkdtempSync(join(tmpdir(), "model-sync-node-"));

/** Runs the Node CLI: `{code, stdout, stderr}`. */
export function cli(dir, token, args) {
  return new Promise((resolve) => {
    const env = { ...process.env, DBT_CLOUD_API_TOKEN: token };
    delete env.DBT_CLOUD_HOST;
    execFile(process.execPath, [CLI, "--state-dir", dir, ...args], { env, maxBuffer: 256 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code ?? 1 : 0, stdout, stderr }));
  });
}
