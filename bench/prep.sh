#!/usr/bin/env bash
# Preparation throughput and peak memory of `homerank prepare` (local engine) on simulator logs,
# then one epoch of `homerank train --prep` on each prepared directory with 1 and 2 threads
# (training examples/s and the trainer's peak memory), then `homerank eval --prep` of the 2-thread
# model on it (seconds and the evaluation's peak memory):
#   bash bench/prep.sh            # about 1M and 10M events
#   bash bench/prep.sh 2000 20000 # simulated listeners per run (about 63 events each)
#   bash bench/prep.sh --readme README.md   # also writes the table between the README's prep-bench markers
# Prints markdown tables; each run is its own process, so a peak RSS is that command's alone.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --features prep --bin homerank
bin=target/release/homerank
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
readme=""
users=()
while [ $# -gt 0 ]; do
  case $1 in
    --readme) readme=$2; shift 2 ;;
    *) users+=("$1"); shift ;;
  esac
done
[ ${#users[@]} -gt 0 ] || users=(16200 162000)
table="$work/table.md"
train_table="$work/train.md"
eval_table="$work/eval.md"
: > "$train_table"
: > "$eval_table"
{
echo "\`homerank prepare --engine local\` on simulator logs, $(nproc) cores, commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d), 1-minute load average $(cut -d' ' -f1 /proc/loadavg) before:"
echo
echo "| events | sessions | items | seconds | events/s | peak RSS |"
echo "|---|---|---|---|---|---|"
} | tee "$table"
for u in "${users[@]}"; do
  "$bin" convert --input "sim:$u" --out "$work/log-$u.parquet" 2>/dev/null
  line=$("$bin" prepare --log "$work/log-$u.parquet" --out "$work/prep-$u" 2>&1 | tail -1)
  # prepared E events, S sessions, I items on local in T s (R events/s, peak RSS M MiB): …
  events=$(echo "$line" | sed -E 's/^prepared ([0-9]+) events.*/\1/')
  echo "$line" | sed -E 's/^prepared ([0-9]+) events, ([0-9]+) sessions, ([0-9]+) items on [^ ]+ in ([0-9.]+) s \(([0-9]+) events\/s, peak RSS ([^)]+)\).*/| \1 | \2 | \3 | \4 | \5 | \6 |/' | tee -a "$table"
  for threads in 1 2; do
    line=$("$bin" train --prep "$work/prep-$u" --epochs 1 --threads "$threads" --quiet --out "$work/model.gguf" 2>&1 \
      | grep 'examples/s')
    # N training lists, 1 epochs run here: X examples/s (T batch parts, candle threads C), peak RSS M MiB
    echo "$line" | sed -E "s/^([0-9]+) training lists, [0-9]+ epochs run here: ([0-9]+) examples\/s \(([0-9]+) batch parts, candle threads [0-9]+\), peak RSS (.+)$/| $events | \3 | \1 | \2 | \4 |/" >> "$train_table"
  done
  line=$("$bin" eval --prep "$work/prep-$u" --model "$work/model.gguf" 2>&1 >/dev/null | grep '^evaluated')
  # evaluated C cases in T s, the events of H of S sessions held, peak RSS M
  echo "$line" | sed -E "s/^evaluated ([0-9]+) cases in ([0-9.]+) s, the events of ([0-9]+) of ([0-9]+) sessions held, peak RSS (.+)$/| $events | \1 | \3 of \4 | \2 | \5 |/" >> "$eval_table"
  rm -rf "$work/prep-$u" "$work/log-$u.parquet" "$work"/model*
done
{
echo
echo "One epoch of \`homerank train --prep --threads T\` on each prepared log (default caps: 12,000 training and 1,500 validation lists of 50 candidates; T batch parts on T threads), the same machine and commit:"
echo
echo "| events | threads | training lists | examples/s | peak RSS |"
echo "|---|---|---|---|---|"
cat "$train_table"
echo
echo "\`homerank eval --prep\` of the 2-thread model on each prepared log (default draws: 4,000 window lists, up to 4,000 server top-50 lists, 4,000 linear-baseline lists), the same machine and commit:"
echo
echo "| events | cases | sessions whose events are held | seconds | peak RSS |"
echo "|---|---|---|---|---|"
cat "$eval_table"
} | tee -a "$table"
if [ -n "$readme" ]; then
  node -e '
    const fs = require("fs");
    const [path, tablePath] = process.argv.slice(1);
    const [begin, end] = ["<!-- prep-bench:start -->", "<!-- prep-bench:end -->"];
    const text = fs.readFileSync(path, "utf8");
    const [a, b] = [text.indexOf(begin), text.indexOf(end)];
    if (a < 0 || b < a) throw new Error(`${path}: no ${begin} … ${end} block`);
    fs.writeFileSync(path, text.slice(0, a + begin.length) + "\n" + fs.readFileSync(tablePath, "utf8") + text.slice(b));
    console.log(`wrote the table into ${path}`);
  ' "$readme" "$table"
fi
