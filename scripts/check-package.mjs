// Checks the built wasm modules: their import lists name no network API (the library makes no
// requests of its own), and it prints their raw and gzip sizes.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const NETWORK = /fetch|xmlhttprequest|websocket|sendbeacon|eventsource|rtcpeerconnection/i;
let failed = false;
for (const flavour of ["simd", "relaxed", "plain", "webgpu", "sim"]) {
  const path = `pkg/${flavour}/homerank_bg.wasm`;
  const bytes = readFileSync(path);
  let module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (e) {
    // Node 20 compiles relaxed SIMD only behind a flag (scripts/test-all.sh passes it).
    console.error(`  ${path}: ${e.message}${flavour === "relaxed" ? " (run node with --experimental-wasm-relaxed-simd)" : ""}`);
    failed = true;
    continue;
  }
  const imports = WebAssembly.Module.imports(module);
  // Only the demo's module carries the listener simulator.
  const simulator = WebAssembly.Module.exports(module).some((e) => e.name.includes("wasmsimulator"));
  if (simulator !== (flavour === "sim")) {
    console.error(`  ${path}: the simulator is ${simulator ? "in" : "missing from"} this module`);
    failed = true;
  }
  const network = imports.filter((i) => NETWORK.test(i.name) || NETWORK.test(i.module));
  console.log(`${path}: ${bytes.length} bytes, ${gzipSync(bytes, { level: 9 }).length} gzip, ${imports.length} imports`);
  if (network.length) {
    console.error(`  network APIs imported: ${network.map((i) => i.name).join(", ")}`);
    failed = true;
  }
}
// The README's quick start must be the file the smoke test runs.
const quickstart = readFileSync("examples/quickstart.mjs", "utf8");
if (!readFileSync("README.md", "utf8").includes("```js\n" + quickstart + "```")) {
  console.error("README.md's JavaScript quick start differs from examples/quickstart.mjs");
  failed = true;
}
// So must its experiment example.
const experiment = readFileSync("examples/experiment.mjs", "utf8");
if (!readFileSync("README.md", "utf8").includes("```js\n" + experiment + "```")) {
  console.error("README.md's experiment example differs from examples/experiment.mjs");
  failed = true;
}
// And its mid-term profile example.
const midterm = readFileSync("examples/midterm.mjs", "utf8");
if (!readFileSync("README.md", "utf8").includes("```js\n" + midterm + "```")) {
  console.error("README.md's mid-term profile example differs from examples/midterm.mjs");
  failed = true;
}
process.exit(failed ? 1 : 0);
