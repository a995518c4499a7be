// lmdb-js with its fastest allowed settings — BENCH.md's second, "fastest allowed" table,
// NOT durable: noSync (never fsyncs), putSync (one synchronous transaction per call) and
// getBinaryFast (the value in a buffer lmdb-js reuses for the next read: bytes, not a copy).
// The targets compare sled-node with exactly these paths.

import { handle } from './lmdb.mjs'

export const settings =
  "open(dir, { keyEncoding: 'binary', encoding: 'binary', noSync: true }); putSync, getBinaryFast — not durable"

export const inFlight = { batch: 1 }

export { probe } from './lmdb.mjs'

export function unsupported(workload) {
  return ['fill-batch', 'scan-full', 'scan-range'].includes(workload)
    ? 'fastest-allowed table covers point operations only (same code path as lmdb here)'
    : null
}

export async function open(dir) {
  const lmdb = await import('lmdb')
  const db = lmdb.open(dir, { keyEncoding: 'binary', encoding: 'binary', noSync: true })
  return handle(db, { put: (k, v) => void db.putSync(k, v), get: (k) => db.getBinaryFast(k) })
}
