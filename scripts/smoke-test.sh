#!/usr/bin/env bash
# Package smoke test: `npm pack`, install the tarball into a fresh project, use it from plain
# Node ESM (the README quick start) and from a Vite-built page in headless Chromium (main thread
# and Worker). Needs the package built (`npm run build`) and network access to the npm registry.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball ($(du -h "$work/$tarball" | cut -f1))"

cd "$work"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
npm install --no-audit --no-fund --silent "./$tarball" vite@7 playwright-core@1 >/dev/null
cp "$root/examples/quickstart.mjs" "$root/examples/experiment.mjs" "$root/examples/midterm.mjs" "$root/www/example-page.json" .

echo "--- Node ESM"
node quickstart.mjs | tee node.json
node -e '
const r = JSON.parse(require("fs").readFileSync("node.json", "utf8"));
const ok = r.fallbackBefore === null && r.fallbackAfter === null && r.eventsUsed === 3 &&
  r.serverOrder.length === r.newOrder.length &&
  [...r.serverOrder].sort().join() === [...r.newOrder].sort().join() &&
  r.serverOrder.join() !== r.newOrder.join();
if (!ok) { console.error("unexpected Node result"); process.exit(1); }'

echo "--- Node ESM: the README's experiment example"
node experiment.mjs | tee experiment.json
node -e '
const r = JSON.parse(require("fs").readFileSync("experiment.json", "utf8"));
const x = r.exposure;
const ok = r.arm === "treatment" && r.bucket === 8166 && x.arm === "treatment" && x.experiment === "home-rerank-1" &&
  x.unitHash === "ad27901b3ccb08a455a7cd97f2136318" && Number.isFinite(x.timeMs) && x.modelId.startsWith("homerank-s@") &&
  !JSON.stringify(r).includes("listener-42");
if (!ok) { console.error("unexpected experiment result"); process.exit(1); }'

echo "--- Node ESM: the README's mid-term profile example"
node midterm.mjs | tee midterm.json
node -e '
const r = JSON.parse(require("fs").readFileSync("midterm.json", "utf8"));
const ok = r.profile === "restored 2 events" && r.eventsUsed === 2 && r.bytes > 44;
if (!ok) { console.error("unexpected mid-term result"); process.exit(1); }'

echo "--- Vite build + headless Chromium"
mkdir -p site
cp "$root/examples/vite-smoke/index.html" "$root/examples/vite-smoke/main.js" "$root/www/example-page.json" site/
npx vite build site --outDir ../dist --emptyOutDir --logLevel warn
cp "$root/scripts/browser-check.mjs" "$root/scripts/static-server.mjs" .
node browser-check.mjs dist
