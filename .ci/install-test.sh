#!/usr/bin/env bash
# The package as a user installs it: sled-node and its linux-x64-gnu platform package from
# `npm pack` tarballs in a fresh project with no cargo/rustc on PATH (.ci/consumer.sh), then
#  - the smoke test through require and import on this Node, Node 22, Bun and Deno,
#  - the published typings through tsc --noEmit on a small ESM and CommonJS consumer,
#  - publint and @arethetypeswrong/cli on the tarballs,
#  - a project installed without optional dependencies: require fails with SLED_NO_BINARY,
#  - LICENSE-MIT and LICENSE-APACHE in every tarball.
# Needs npm ci, npm run build, and the binary in npm/linux-x64-gnu/ (.ci/build-glibc217.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
binary=npm/linux-x64-gnu/sled-node.linux-x64-gnu.node
[ -f "$binary" ] || { echo "missing $binary: run .ci/build-glibc217.sh" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
app=$work/app
.ci/consumer.sh "$app" linux-x64-gnu

# both licence texts (package.json: MIT OR Apache-2.0) in every tarball, main and platform
for tarball in "$app"/tarballs/*.tgz; do
  for licence in LICENSE-MIT LICENSE-APACHE; do
    # the whole listing into grep (with -q, tar can die of SIGPIPE and pipefail fails the check)
    tar -tzf "$tarball" | grep -x "package/$licence" > /dev/null || { echo "$tarball lacks $licence" >&2; exit 1; }
  done
done
echo "ok licences: LICENSE-MIT and LICENSE-APACHE in $(ls "$app"/tarballs/*.tgz | wc -l) tarballs"

# publint: --strict makes its warnings errors. attw: the node16 profile leaves out TypeScript's
# legacy `node10` resolution, which cannot see `exports` subpaths or `#` imports; sled-node
# needs Node >= 20, whose resolutions (node16 from CJS and ESM, bundler) must be clean.
for tarball in "$app"/tarballs/*.tgz; do
  npx publint run --strict "$tarball"
done
root_tarball=$(ls "$app"/tarballs/sled-node-[0-9]*.tgz)
npx attw --profile node16 "$root_tarball" || true
# attw 0.18 still exits 1 for an ignored node10 InternalResolutionError (its exit code reads
# `resolutionKind`, that problem has `resolutionOption`), so judge its JSON ourselves.
npx attw --profile node16 -f json "$root_tarball" > "$work/attw.json" || true
node -e '
  const { problems = [] } = require(process.argv[1]).analysis
  const counted = problems.filter((p) => (p.resolutionKind ?? p.resolutionOption) !== "node10")
  if (counted.length) { console.error(counted); process.exit(1) }
  console.log("ok attw: no problems outside node10")' "$work/attw.json"

runtimes=(node)
for name in node22 bun deno; do runtimes+=("$(.ci/runtime.sh "$name")"); done
# typings: the TypeScript and @types/node versions this repository builds with
ts=$(node -p "require('./package.json').devDependencies.typescript")
types_node=$(node -p "require('./package.json').devDependencies['@types/node']")

cd "$app"
npm install --no-audit --no-fund -D "typescript@$ts" "@types/node@$types_node" >/dev/null
npx tsc -p tsconfig.json
echo "ok typings (tsc --noEmit on consumer.mts and consumer.cts)"

for runtime in "${runtimes[@]}"; do
  case "$runtime" in
    # the permissions Deno needs for sled-node (README, Compatibility), not -A
    */deno) "$runtime" run --no-lock --allow-ffi --allow-env --allow-read --allow-write smoke-deno.mjs ;;
    *) "$runtime" smoke.cjs && "$runtime" smoke.mjs ;;
  esac
done

bare=$work/bare
CONSUMER_NPM_FLAGS=--omit=optional "$repo/.ci/consumer.sh" "$bare"
cd "$bare" && node no-binary.cjs
