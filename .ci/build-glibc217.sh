#!/usr/bin/env bash
# Release build of a linux gnu addon that loads on glibc >= 2.17 (RHEL/CentOS 7 and newer), put
# into npm/<platform>/ for packing. A plain `napi build` links against this machine's glibc
# (2.36), so the binary would refuse to load on older distributions.
#
# napi-rs's `--use-napi-cross` links with a gcc whose sysroot is glibc 2.17. CLI 3.10 finds
# that toolchain in ~/.napi-rs/cross-toolchain/<@napi-rs/cross-toolchain version>/<triple>/
# and, when the folder is empty, runs `npm pack @napi-rs/cross-toolchain-x64-target-<arch>@<that
# version>` — a version (1.0.5) that was never published for these targets (x86_64 has 1.0.0,
# aarch64 1.0.3), and unpacks it with helpers that need a newer Node than 20. So we seed the
# folder ourselves from the published package (its archive carries the package.json napi checks
# for), and napi then only sets the linker/CC/sysroot variables and builds.
#
# Usage: .ci/build-glibc217.sh [x86_64|aarch64]   (on an x64 Linux host, after npm ci;
# default x86_64; prints the glibc floor it verified)
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-x86_64}
case "$arch" in
  x86_64) platform=linux-x64-gnu toolchain_pkg=@napi-rs/cross-toolchain-x64-target-x86_64@1.0.0 ;;
  aarch64) platform=linux-arm64-gnu toolchain_pkg=@napi-rs/cross-toolchain-x64-target-aarch64@1.0.3 ;;
  *) echo "usage: $0 [x86_64|aarch64]" >&2; exit 2 ;;
esac
triple=$arch-unknown-linux-gnu
floor=2.17
cli_toolchain_version=$(node -p "require('@napi-rs/cross-toolchain/package.json').version")
toolchain_dir="$HOME/.napi-rs/cross-toolchain/$cli_toolchain_version/$triple"

if [ ! -f "$toolchain_dir/package.json" ]; then
  echo "seeding $toolchain_dir from $toolchain_pkg"
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  npm pack "$toolchain_pkg" --pack-destination "$scratch" --silent >/dev/null
  tar -xzf "$scratch"/*.tgz -C "$scratch"
  mkdir -p "$toolchain_dir"
  tar -xJf "$scratch/package/$triple.tar.xz" -C "$toolchain_dir"
fi

# the workspace builds sled 0.34.7 with one fix (crates/sled-patch/README.md)
node crates/sled-patch/prepare.mjs

# mimalloc, the addon's allocator (crates/sled-node/src/lib.rs), is C11, which the
# toolchain's gcc 4.8.5 cannot compile (no <stdatomic.h>, no -Wdate-time). So its C is
# compiled by a current gcc against the toolchain's glibc 2.17 sysroot: only headers come
# from there, the link stays the toolchain's, and the floor check below covers mimalloc's
# symbols too. napi keeps a TARGET_CC / TARGET_CFLAGS that is already set.
case "$arch" in
  x86_64) cc=gcc ;;
  aarch64) cc=aarch64-linux-gnu-gcc ;;
esac
if ! command -v "$cc" >/dev/null; then
  echo "error: $cc not found (Debian/Ubuntu packages: gcc, gcc-aarch64-linux-gnu)" >&2
  exit 1
fi
export TARGET_CC="$cc" TARGET_CFLAGS="--sysroot=$toolchain_dir/$triple/sysroot"

# A target dir of its own: the cross linker must not reuse objects of the host build in
# target/release, and this build must not block others building there.
out=target/glibc217-$arch
npx napi build --platform --release --use-napi-cross --target "$triple" \
  --manifest-path crates/sled-node/Cargo.toml --package-json-path package.json \
  --target-dir "$out" --output-dir "$out/out" --no-js

node=$out/out/sled-node.$platform.node
highest=$(objdump -T "$node" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)
echo "highest glibc symbol of $node: $highest"
if [ "$(printf '%s\n' "$highest" "GLIBC_$floor" | sort -V | tail -1)" != "GLIBC_$floor" ]; then
  echo "error: $node needs $highest, newer than GLIBC_$floor" >&2
  exit 1
fi
cp "$node" "npm/$platform/"
echo "copied to npm/$platform/"
