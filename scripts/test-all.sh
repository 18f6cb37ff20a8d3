#!/usr/bin/env bash
# Every test of the project, in the order a failure is cheapest to find.
# Used by `npm test` and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

step "rust: unit, integration and doc tests"
cargo test --quiet
cargo check --benches --quiet

step "wasm32: the library builds with and without simd128"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo build --release --lib --target wasm32-unknown-unknown --no-default-features --target-dir target/wasm-plain --quiet
RUSTFLAGS="-C target-feature=+simd128" \
  cargo build --release --lib --target wasm32-unknown-unknown --no-default-features --target-dir target/wasm-simd --quiet

step "all tests passed"
