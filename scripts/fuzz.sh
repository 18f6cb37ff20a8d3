#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/) for SECONDS each: `bash scripts/fuzz.sh 600` is the long
# run, CI runs a short one. Seeds: fuzz/corpus/<target>/ plus, for model_load, the shipped model.
# New inputs found are kept in target/fuzz-corpus/ (not the repository); crashes stop the run
# with the reproducer in fuzz/artifacts/.
set -euo pipefail
secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain (cargo-fuzz needs one)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi
for target in page_rerank model_load; do
  corpus="target/fuzz-corpus/$target"
  mkdir -p "$corpus"
  cp fuzz/corpus/"$target"/* "$corpus"/
  if [ "$target" = model_load ]; then cp models/homerank-s.gguf "$corpus"/shipped-model; fi
  echo "=== fuzz $target for ${secs}s ==="
  log="target/fuzz-$target.log"
  status=0
  cargo +nightly fuzz run "$target" "$corpus" -- -max_total_time="$secs" -max_len=400000 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz $target failed (exit $status); reproducer in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
