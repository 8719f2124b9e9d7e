// `npm run build`: builds the component (and the emulator the tests run)
// with cargo, then transpiles the component with jco into gen/.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit" });

const prebuilt = process.env.MODEL_SYNC_PLUGIN_WASM;
const wasm = prebuilt ?? `${root}target/plugin-wasm/wasm32-wasip2/component/model_sync_plugin.wasm`;
if (!prebuilt) {
  // The same build the Rust host's build script makes (a no-op when it is fresh).
  run("cargo", ["build", "--profile", "component", "--target", "wasm32-wasip2", "--manifest-path", "plugin/Cargo.toml",
    "--target-dir", "target/plugin-wasm"]);
}
if (!existsSync(wasm)) throw new Error(`no component at ${wasm}`);
run("cargo", ["build", "-p", "dbt-cloud-emulator", "--bin", "dbt-cloud-emulator"]);
mkdirSync(new URL("gen", import.meta.url), { recursive: true });
const jco = fileURLToPath(new URL("node_modules/.bin/jco", import.meta.url));
run(jco, ["transpile", wasm, "-o", "node/gen", "--name", "plugin", "--instantiation", "async", "--quiet"]);
