#!/usr/bin/env bash
# Makes a fresh user project in <dir>: sled-node and the given platform packages (npm/<target>)
# packed with `npm pack` and installed from those tarballs, as npm would fetch them from the
# registry, with the smoke and typings fixtures of .ci/install/ beside them. npm runs with no
# cargo or rustc on PATH, so an install that tried to compile would fail here.
#
# Usage: .ci/consumer.sh <dir> [<target>...]   (extra npm install flags in CONSUMER_NPM_FLAGS)
# Needs a built dist/ and npm/<target>/<binary>.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
shift

mkdir -p "$dir/tarballs"
tarballs=("$dir/tarballs/$(cd "$repo" && npm pack --silent --pack-destination "$dir/tarballs")")
for target in "$@"; do
  tarballs+=("$dir/tarballs/$(cd "$repo/npm/$target" && npm pack --silent --pack-destination "$dir/tarballs")")
done

no_rust_path=$(tr ':' '\n' <<<"$PATH" | while read -r p; do
  [ -n "$p" ] && [ ! -e "$p/cargo" ] && [ ! -e "$p/rustc" ] && echo "$p"
done | paste -sd: -)
if PATH=$no_rust_path sh -c 'command -v cargo || command -v rustc'; then
  echo "cargo/rustc still reachable" >&2
  exit 1
fi

cp "$repo"/.ci/install/* "$dir/"
cd "$dir"
echo '{ "name": "consumer", "private": true }' > package.json
# shellcheck disable=SC2086 # a list of flags
PATH=$no_rust_path npm install --no-audit --no-fund ${CONSUMER_NPM_FLAGS:-} "${tarballs[@]}"
