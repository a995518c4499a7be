// What the results were measured on: machine, versions and commit (BENCH.md's results shape).

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

function version(pkg) {
  try {
    return require(`${pkg}/package.json`).version
  } catch {
    return null
  }
}

export function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const dirty = run('git', ['status', '--porcelain', '--', 'bench', 'crates', 'src', 'index.ts'])
  return {
    commit: (run('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown') + (dirty ? '-dirty' : ''),
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
