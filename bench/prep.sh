#!/usr/bin/env bash
# Preparation throughput and peak memory of `homerank prepare` (local engine) on simulator logs:
#   bash bench/prep.sh            # about 1M and 10M events
#   bash bench/prep.sh 2000 20000 # simulated listeners per run (about 63 events each)
# Prints a markdown table; each run is its own process, so peak RSS is that preparation's alone.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --features prep --bin homerank
bin=target/release/homerank
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
users=("$@")
[ ${#users[@]} -gt 0 ] || users=(16200 162000)
echo "homerank prepare --engine local, $(nproc) cores, commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| events | sessions | items | seconds | events/s | peak RSS |"
echo "|---|---|---|---|---|---|"
for u in "${users[@]}"; do
  "$bin" convert --input "sim:$u" --out "$work/log-$u.parquet" 2>/dev/null
  line=$("$bin" prepare --log "$work/log-$u.parquet" --out "$work/prep-$u" 2>&1 | tail -1)
  # prepared E events, S sessions, I items on local in T s (R events/s, peak RSS M MiB): …
  echo "$line" | sed -E 's/^prepared ([0-9]+) events, ([0-9]+) sessions, ([0-9]+) items on [^ ]+ in ([0-9.]+) s \(([0-9]+) events\/s, peak RSS ([^)]+)\).*/| \1 | \2 | \3 | \4 | \5 | \6 |/'
  rm -rf "$work/prep-$u" "$work/log-$u.parquet"
done
