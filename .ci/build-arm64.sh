#!/usr/bin/env bash
# Cross-builds the linux-arm64-gnu addon on an x64 Debian/Ubuntu host into npm/linux-arm64-gnu/,
# for the qemu smoke test (.ci/smoke-arm64.sh). Needs `rustup target add aarch64-unknown-linux-gnu`
# and `apt-get install gcc-aarch64-linux-gnu`.
#
# Debian's cross gcc links against its own glibc (2.36 on bookworm), so this binary needs a
# recent glibc; the release workflow (.ci/release.yml) builds arm64 with napi-rs's glibc 2.17
# toolchain instead.
set -euo pipefail
cd "$(dirname "$0")/.."

triple=aarch64-unknown-linux-gnu
for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-ar; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install gcc-aarch64-linux-gnu" >&2; exit 1; }
done
rustup target list --installed | grep -qx "$triple" || { echo "missing: rustup target add $triple" >&2; exit 1; }

# rustc needs the linker; sled's `compression` feature builds zstd's C sources through cc-rs
# (zstd-sys), which reads CC/AR for the target triple.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar

out=target/arm64
npx napi build --platform --release --target "$triple" \
  --manifest-path crates/sled-node/Cargo.toml --package-json-path package.json \
  --target-dir "$out" --output-dir "$out/out" --no-js

cp "$out/out/sled-node.linux-arm64-gnu.node" npm/linux-arm64-gnu/
file npm/linux-arm64-gnu/sled-node.linux-arm64-gnu.node
echo "highest glibc symbol: $(objdump -T npm/linux-arm64-gnu/sled-node.linux-arm64-gnu.node | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)"
