// The Rust contenders (sled-native, sled-http, sled-cli) are binaries of this workspace.
// The harness builds one with cargo when it is missing or older than its sources, so a
// fresh clone needs nothing but `cargo`, which building the addon already requires.

import { existsSync, readdirSync, statSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

export function binaryPath(name) {
  return join(root, 'target', 'release', name)
}

function newestSource(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs)
  }
  return newest
}

/** Builds `name` if needed; resolves to null, or to the reason it is unavailable. */
export function ensureBinary(name) {
  const bin = binaryPath(name)
  const crate = join(root, 'crates', name)
  if (existsSync(bin) && statSync(bin).mtimeMs >= newestSource(crate)) return null
  const r = spawnSync('cargo', ['build', '--release', '-p', name], { cwd: root, encoding: 'utf8' })
  if (r.error) return `cannot build ${name}: cargo not runnable (${r.error.message})`
  if (r.status !== 0) return `cannot build ${name}: cargo build failed:\n${r.stderr.trim().split('\n').slice(-5).join('\n')}`
  return null
}
