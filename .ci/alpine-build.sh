#!/bin/sh
# Release workflow, musl targets: run inside node:20-alpine (docker run on an x64 or arm64
# runner; GitHub's JavaScript actions cannot run in Alpine on arm64, so not a job container).
# Builds the musl addon natively and runs the test suite on it.
set -eu
apk add --no-cache bash curl git build-base
curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
. "$HOME/.cargo/env"
# the build and the tests need no dependency's install script (those are the bench's peers)
npm ci --no-audit --no-fund --ignore-scripts
# A cdylib on musl must link the C runtime dynamically. Target rustflags are joined with
# .cargo/config.toml's (nodelete); RUSTFLAGS would replace them.
triple=$(rustc -vV | sed -n 's/^host: //p')
export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C target-feature=-crt-static"
npm run build
npx vitest run --config test/vitest.config.mts
