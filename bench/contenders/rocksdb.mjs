// RocksDB through @nxtedition/rocksdb (RocksLevel, a maintained abstract-level binding),
// in the binding's defaults: writes without fsync (RocksDB's sync: false, as LevelDB's),
// keys and values as Buffers. Its public API is promise-only (abstract-level 1), so point
// operations keep 64 in flight (as sled-node-async does) and scans read 1,000 entries per
// nextv() call. get() of a missing key rejects with LEVEL_NOT_FOUND, as documented; the
// adapter turns that into undefined.

import { probeImport } from '../adapter.mjs'
import { levelHandle } from './level-handle.mjs'

export const settings = "new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }); binding defaults"

export const inFlight = { put: 64, get: 64, getMany: 1, batch: 1, scan: 1, scanRange: 1 }

export function unsupported(workload) {
  return workload === 'read-workers' ? 'RocksDB locks its directory: one open handle per process' : null
}

export const probe = () => probeImport('@nxtedition/rocksdb')

const notFound = (e) => {
  if (e.code === 'LEVEL_NOT_FOUND') return undefined
  throw e
}

export async function open(dir) {
  const { RocksLevel } = await import('@nxtedition/rocksdb')
  const db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  return levelHandle(db, (k) => db.get(k).catch(notFound))
}
