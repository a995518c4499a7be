// What the results were measured on: machine, versions and commit (BENCH.md's results shape).

import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

// read from disk: several packages do not export their package.json
function version(pkg) {
  try {
    const dir = pkg === 'sled-node' ? root : join(root, 'node_modules', pkg)
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
  } catch {
    return null
  }
}

/** When the measured addon was built: dist/ is built from a working tree, not from `commit`. */
function addonBuilt() {
  try {
    const file = readdirSync(join(root, 'dist')).find((f) => f.endsWith('.node'))
    return statSync(join(root, 'dist', file)).mtime.toISOString().replace(/\.\d+Z$/, 'Z')
  } catch {
    return null
  }
}

export function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const dirty = run('git', ['status', '--porcelain', '--', 'bench', 'crates', 'src', 'index.ts'])
  return {
    commit: (run('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown') + (dirty ? '-dirty' : ''),
    addonBuilt: addonBuilt(),
    node: process.version,
    rustc: run('rustc', ['--version'])?.split(' ')[1] ?? null,
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    packages: Object.fromEntries(
      ['sled-node', 'lmdb', 'classic-level', '@nxtedition/rocksdb', 'better-sqlite3', 'tinybench'].map((p) => [p, version(p)]),
    ),
  }
}
