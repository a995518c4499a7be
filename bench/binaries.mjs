// The Rust contenders (sled-native, sled-http, sled-cli) are binaries of this workspace.
// The harness asks cargo for each one before a run, so a fresh clone needs nothing but
// `cargo`, which building the addon already requires. Cargo decides whether the binary
// is current (a no-op build takes a fraction of a second): a check of our own by file
// times missed changes outside the crate (sled-core, Cargo.lock, the workspace's
// profile) and trusted a binary built from sources that no longer exist.

import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { prepare } from '../crates/sled-patch/prepare.mjs'

const root = new URL('..', import.meta.url).pathname

export function binaryPath(name) {
  return join(root, 'target', 'release', name)
}

/** Builds `name` if cargo finds it out of date; resolves to null, or to the reason it is unavailable. */
export function ensureBinary(name) {
  // the workspace's patched sled must exist before cargo resolves it (crates/sled-patch)
  try {
    prepare()
  } catch (error) {
    return `cannot build ${name}: preparing sled failed:\n${error.message}`
  }
  const r = spawnSync('cargo', ['build', '--release', '-p', name], { cwd: root, encoding: 'utf8' })
  if (r.error) return `cannot build ${name}: cargo not runnable (${r.error.message})`
  if (r.status !== 0) return `cannot build ${name}: cargo build failed:\n${r.stderr.trim().split('\n').slice(-5).join('\n')}`
  return null
}
