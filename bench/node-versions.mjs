// The Node bench (bench/rerank.mjs) under several Node.js binaries, one after the other, and one
// table of what each measured: which wasm module the package picked there, homerank's p50s and
// onnxruntime-web's, each ratio from the same run (its contenders interleaved, as always).
//
//   bash bench/fetch-node.sh 22 24 26
//   node bench/node-versions.mjs [--readme README.md] node target/node/22/bin/node target/node/24/bin/node target/node/26/bin/node
//
// Why: the module depends on the engine (Node 20 validates only the simd128 one; relaxed SIMD is
// on by default from Node 22), and so does onnxruntime-web's speed, so one Node says little.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { commitLabel, writeBlock } from "./rerank.mjs";

const BEGIN = "<!-- begin:bench-node-versions (written by `node bench/node-versions.mjs --readme README.md NODE...`) -->";
const END = "<!-- end:bench-node-versions -->";

/** Runs bench/rerank.mjs under `node`; its JSON lines by kind. */
function run(node, shapes) {
  const out = execFileSync(node, [fileURLToPath(new URL("./rerank.mjs", import.meta.url))], {
    encoding: "utf8",
    env: { ...process.env, HOMERANK_BENCH_SHAPES: shapes },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const version = execFileSync(node, ["-p", "process.versions.node + ' ' + process.versions.v8"], { encoding: "utf8" }).trim();
  return { version, rows: lines.filter((l) => l.bench === "rerank"), cold: lines.find((l) => l.bench === "cold-start") };
}

function table(runs) {
  const ms = (v) => (v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const ratio = (ort, t) => (ort && t ? (ort.p50 / t.p50).toFixed(2) : "–");
  const lines = [
    "| Node (V8) | module picked | N | L | new event + `rerank(prepared)` p50 ms | `rerank(prepared)` p50 ms | `rerank(page)` p50 ms | onnxruntime-web p50 ms | ort / homerank: page / prepared / **new event** | cold start ms |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const { version, rows, cold } of runs) {
    const [node, v8] = version.split(" ");
    for (const r of rows) {
      lines.push(`| ${node} (${v8}) | \`${r.wasm}\` | ${r.n} | ${r.l} | ${r.event ? ms(r.event.p50) : "–"} | ${ms(r.prepared.p50)} | ` +
        `${ms(r.page.p50)} | ${r.ort ? ms(r.ort.p50) : "–"} | ${ratio(r.ort, r.page)} / ${ratio(r.ort, r.prepared)} / ` +
        `**${ratio(r.ort, r.event)}** | ${cold ? cold.ms.toFixed(0) : "–"} |`);
    }
  }
  return lines;
}

const args = process.argv.slice(2);
const at = args.indexOf("--readme");
const readme = at >= 0 ? args.splice(at, 2)[1] ?? "README.md" : null;
const nodes = args.length ? args : [process.execPath];
const shapes = process.env.HOMERANK_BENCH_SHAPES ?? "200x64,1000x64";
const commit = commitLabel();
const runs = nodes.map((node) => {
  console.error(`bench under ${node} …`);
  return run(node, shapes);
});
const lines = table(runs);
console.log(lines.join("\n"));
if (readme) {
  writeBlock(readme, BEGIN, END, [
    `Run at commit ${commit} on ${new Date().toISOString().slice(0, 10)}, one Node after the other; each row's ratios ` +
      "come from that Node's own run, with homerank and onnxruntime-web interleaved.",
    "",
    ...lines,
  ]);
}
