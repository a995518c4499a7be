// The "CLI + subprocess" workaround: crates/sled-cli spawned once per operation (open the
// database, one get/put, flush, exit), synchronously, as a script calling a CLI would.
// BENCH.md asks for a few hundred operations only: per-entry fills insert 200 entries,
// fill-batch 20 batches of 1,000 (one process each); the untimed setup loads all N
// entries through one `load` process. A CLI of single get/put has no multi-get or scan.

import { spawnSync } from 'node:child_process'
import { ensureBinary, binaryPath } from '../binaries.mjs'
import { frame } from './frames.mjs'

// sled-cli calls db.flush() before it exits (crates/sled-cli): sync_file_range, as sled's flush does
export const durability = 'sled flush per operation (each process flushes before it exits; sled syncs with sync_file_range, not fsync)'

export const settings = 'crates/sled-cli (sled defaults), one process per operation, flushed before exit'

export const block = 1
export const fillLimit = (workload, n) => Math.min(n, workload === 'fill-batch' ? 20_000 : 200)

export function unsupported(workload) {
  if (['read-many', 'scan-full', 'scan-range'].includes(workload)) return 'a get/put CLI has no multi-get or scan'
  if (workload === 'read-workers') return 'one process per operation: there is no shared in-process database'
  return null
}

export const probe = async () => ensureBinary('sled-cli')

export async function open(dir) {
  const bin = binaryPath('sled-cli')
  const cli = (args, input) => {
    const r = spawnSync(bin, [dir, ...args], { input, maxBuffer: 1 << 30 })
    if (r.error) throw r.error
    if (r.status !== 0 && r.status !== 3) throw new Error(`sled-cli ${args[0]}: ${r.stderr}`)
    return r
  }
  return {
    put: (k, v) => void cli(['put', k.toString('hex')], v),
    get(k) {
      const r = cli(['get', k.toString('hex')])
      return r.status === 3 ? undefined : r.stdout
    },
    batch: (entries) => void cli(['batch'], frame(entries.flat())),
    load(n, entryAt) {
      const parts = []
      for (let i = 0; i < n; i++) parts.push(...entryAt(i))
      cli(['load'], frame(parts))
    },
    close() {},
  }
}
