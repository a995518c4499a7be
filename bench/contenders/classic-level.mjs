// classic-level (LevelDB), the Level ecosystem's default, in its defaults: writes go to the
// log without fsync (LevelDB's sync: false: durable across a process crash, not a power
// loss), 8 MiB block cache, Snappy. Keys and values as Buffers. Reads use getSync(), the
// synchronous read abstract-level 3 documents for hot data; writes, getMany, batch and
// iterators exist only as promises, so point writes keep IN_FLIGHT (64) in flight, as
// every promise-based contender does, and scans read 1,000 entries per nextv() call.

import { probeImport } from '../adapter.mjs'
import { levelHandle } from './level-handle.mjs'
import { IN_FLIGHT } from '../plan.mjs'

export const settings = "new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }); LevelDB defaults"

// LevelDB's default WriteOptions: each commit is appended to its log with write(), no fsync
export const durability = 'write() per commit (log append, no fsync): survives a process crash, not a power loss'

export const inFlight = { put: IN_FLIGHT, getMany: 1, batch: 1, scan: 1, scanRange: 1 }

export function unsupported(workload) {
  return workload === 'read-workers' ? 'LevelDB locks its directory: one open handle per process' : null
}

export const probe = () => probeImport('classic-level')

export async function open(dir) {
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  return levelHandle(db, (k) => db.getSync(k))
}
