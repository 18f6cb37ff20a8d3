#!/usr/bin/env bash
# Every test of the project, cheapest failures first. Used by `npm test` and by .ci/run.
# Needs: Rust (rustup), Node ≥ 18, chromium + chromium-driver (apt) for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
step() { printf '\n=== %s (at %d s) ===\n' "$*" $((SECONDS - start)); }

step "rust: unit, integration and doc tests"
cargo test --quiet
cargo check --benches --quiet

step "gpu: the wgpu forward against the CPU engine (lavapipe Vulkan, llvmpipe GL), CPU fallback"
# Mesa's lavapipe when it is installed (.ci/run installs it); HOMERANK_REQUIRE_GPU=1 turns a
# missing adapter from a skip into a failure.
lvp=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$lvp" ]; then export VK_DRIVER_FILES="$lvp"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --quiet --features gpu --test gpu_parity -- --test-threads=1
cargo check --quiet --features gpu --benches

step "prep: Parquet logs, preparation on DataFusion and on a loopback Ballista cluster (1M events)"
cargo test --quiet --features ballista --test prep

step "npm package: wasm builds (simd128, relaxed SIMD, plain, simd128 + WebGPU, simulator), wasm-bindgen, wasm-opt"
[ -x node_modules/.bin/wasm-opt ] || npm install --no-audit --no-fund
npm run build --silent

step "wasm-tests in Node"
(cd wasm-tests && cargo test)

step "wasm-tests in headless Chromium"
(cd wasm-tests && WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" cargo test)

step "package: imports, sizes, no network APIs; the JS bad-input suite"
node --experimental-wasm-relaxed-simd scripts/check-package.mjs
node --test js/tests/bad-input.test.mjs js/tests/backend.test.mjs js/tests/boundary.test.mjs js/tests/layout-lab.test.mjs js/tests/midterm.test.mjs js/tests/experiment.test.mjs js/tests/prepared.test.mjs
# The relaxed-SIMD module, which Node 20 runs only behind a flag (Chromium by default).
node --experimental-wasm-relaxed-simd --test js/tests/relaxed.test.mjs

step "soak: 10,000 reranks with streaming events, memory flat (npm run soak does 100,000)"
HOMERANK_SOAK_RERANKS=10000 node --expose-gc bench/soak.mjs

step "package smoke test: npm pack → Node ESM and a Vite page in Chromium"
bash scripts/smoke-test.sh

step "demo and layout lab end-to-end in headless Chromium (screenshots in artifacts/)"
node --test www/tests/demo.test.mjs www/tests/lab.test.mjs www/tests/midterm.test.mjs

step "fuzz: page parsing + rerank, model loading (30 s each; scripts/fuzz.sh 600 is the long run)"
bash scripts/fuzz.sh "${HOMERANK_FUZZ_SECONDS:-30}"

step "all tests passed"
