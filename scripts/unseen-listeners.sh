#!/usr/bin/env bash
# HR-S on listeners it never saw: splits the Spotify basic-export sample's listeners in two
# (alternate folders in name order, as symlinks in a temporary directory: nothing is copied),
# trains on half A (with the other sources of the default model), and evaluates that model and
# the default one on half B. Writes docs/eval/spotify-unseen-listeners.md. About 25 minutes on
# two cores. Usage: bash scripts/unseen-listeners.sh [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/A" "$work/B"
i=0
for dir in "$data"/spotify-exports-basic/*/; do
  name=$(basename "$dir")
  if (( i % 2 == 0 )); then half=A; else half=B; fi
  ln -s "$(cd "$dir" && pwd)" "$work/$half/$name"
  i=$((i + 1))
done
cargo build --release --quiet
bin=target/release/homerank
$bin train --data "$work/A" --data "$data/spotify-exports-extended" --data "$data/ml-100k" \
  --data "$data/diginetica-sample/sample_train-item-views.csv" --out "$work/model-A.gguf" \
  --epochs 8 --max-cases 6000 --quiet
$bin eval --data "$work/B" --model "$work/model-A.gguf" --report "$work/unseen.md"
$bin eval --data "$work/B" --model models/homerank-s.gguf --report "$work/seen.md"
out=docs/eval/spotify-unseen-listeners.md
{
  echo "# HR-S on listeners it never saw"
  echo
  echo "\`bash scripts/unseen-listeners.sh\`: the 14 listeners of the Spotify basic-export sample split"
  echo "alternately by folder name: A = $(ls "$work/A" | tr '\n' ' ')"
  echo "and B = $(ls "$work/B" | tr '\n' ' ')."
  echo "HR-S trained on A (and the extended export, ML-100k, DIGINETICA: the default model's other"
  echo "sources; 8 epochs, 6,000 cases per source), evaluated on B's test windows; then the default"
  echo "model, whose training windows include B's listeners, on the same cases."
  echo
  echo "## Trained without B's listeners"
  echo
  sed -e 's/^## /### /' -e '/^!\[/d' "$work/unseen.md"
  echo
  echo "## The default model (B's earlier sessions in its training windows)"
  echo
  sed -e 's/^## /### /' -e '/^!\[/d' "$work/seen.md"
} > "$out"
echo "wrote $out"
