// RocksDB through @nxtedition/rocksdb (RocksLevel, a maintained abstract-level binding),
// in the binding's defaults: writes without fsync (RocksDB's sync: false, as LevelDB's),
// keys and values as Buffers. Its public API is promise-only (abstract-level 1), so point
// operations keep IN_FLIGHT (64) in flight, as every promise-based contender does, and
// scans read 1,000 entries per nextv() call. Point reads call getMany([key]): get() is
// that same native call (index.js: _get calls _getMany([key])) plus an Error object
// built for every missing key (LEVEL_NOT_FOUND), which would charge read-miss for
// RocksLevel's error path instead of RocksDB's lookup.

import { probeImport } from '../adapter.mjs'
import { levelHandle } from './level-handle.mjs'
import { IN_FLIGHT } from '../plan.mjs'

export const settings = "new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }); binding defaults; point reads via getMany([key])"

// binding.cc: writeOptions.sync = options.sync, false unless asked; RocksDB then write()s its WAL per commit
export const durability = 'write() per commit (WAL append, no fsync): survives a process crash, not a power loss'

export const inFlight = { put: IN_FLIGHT, get: IN_FLIGHT, getMany: 1, batch: 1, scan: 1, scanRange: 1 }

export function unsupported(workload) {
  return workload === 'read-workers' ? 'RocksDB locks its directory: one open handle per process' : null
}

export const probe = () => probeImport('@nxtedition/rocksdb')

export async function open(dir) {
  const { RocksLevel } = await import('@nxtedition/rocksdb')
  const db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  return levelHandle(db, async (k) => (await db.getMany([k]))[0])
}
