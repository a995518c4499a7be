// lmdb-js in its fastest allowed configuration — the labelled "fastest allowed" second
// table, NOT durable: noSync (lmdb never fsyncs; the OS writes the pages when it likes),
// put() batched asynchronously by lmdb-js exactly as in ./lmdb.mjs (IN_FLIGHT pending, one
// transaction per event turn: lmdb-js's fastest write path, faster than putSync's one
// transaction per call), batches as one asynchronous transaction, and getBinaryFast (the
// value in a buffer lmdb-js reuses for the next read: bytes, not a copy). Scans take
// lmdb's one read path (getRange), which noSync does not change: see the lmdb table.

import { handle } from './lmdb.mjs'
import { IN_FLIGHT } from '../plan.mjs'

export const settings = `open(dir, { keyEncoding: 'binary', encoding: 'binary', noSync: true }); put() ${IN_FLIGHT} in flight, getBinaryFast — not durable`

export const durability = 'no fsync ever (noSync): a commit is written to the OS, lost on power loss or OS crash; NOT durable'

export const inFlight = { put: IN_FLIGHT, batch: 1 }

export { probe } from './lmdb.mjs'

export function unsupported(workload) {
  return ['scan-full', 'scan-range'].includes(workload) ? 'scans take the same path as lmdb (getRange); noSync changes only writes' : null
}

export async function open(dir) {
  const lmdb = await import('lmdb')
  const db = lmdb.open(dir, { keyEncoding: 'binary', encoding: 'binary', noSync: true })
  return handle(db, { put: (k, v) => db.put(k, v), get: (k) => db.getBinaryFast(k) })
}
