// lmdb-js (npm lmdb) in its documented durable default: put() is asynchronous and lmdb-js
// groups the puts pending in one event turn into one transaction; with overlappingSync
// (the default on Linux) the promise resolves when that transaction is committed and its
// fsync runs after the commit, overlapping the next transaction (README, "Overlapping
// Sync Options"). get() is synchronous and returns a copy of the value. Keys and values
// are raw bytes (keyEncoding/encoding 'binary'). Point writes keep IN_FLIGHT (64) puts
// pending, as every promise-based contender does, so a commit holds up to 64 puts.
// read-many is a loop of get(): lmdb's getMany() is an asynchronous prefetch meant for
// values not yet in memory, and this cache is warm.

import { probeImport } from '../adapter.mjs'
import { IN_FLIGHT } from '../plan.mjs'

export const settings = `open(dir, { keyEncoding: 'binary', encoding: 'binary' }); lmdb-js defaults; put() ${IN_FLIGHT} in flight, get()`

export const durability = 'fsync per commit (a commit is the puts pending in one event turn; the fsync overlaps the next commit, the promise resolves at commit)'

export const inFlight = { put: IN_FLIGHT, batch: 1 }

export const probe = () => probeImport('lmdb')

/** The adapter handle over an open lmdb-js database; `put` and `get` vary by settings. */
export function handle(db, { put, get }) {
  return {
    put,
    get,
    getMany: (keys) => keys.map(get),
    batch: (entries) =>
      db.transaction(() => {
        for (const [k, v] of entries) db.put(k, v)
      }),
    scan() {
      let count = 0
      let last
      for (const { key, value } of db.getRange()) {
        count++
        last = [key, value]
      }
      return { count, last }
    },
    scanRange(start, n) {
      let count = 0
      let first
      for (const { key, value } of db.getRange({ start, limit: n })) if (count++ === 0) first = [key, value]
      return { count, first }
    },
    close: () => db.close(),
  }
}

export async function open(dir) {
  const lmdb = await import('lmdb')
  const db = lmdb.open(dir, { keyEncoding: 'binary', encoding: 'binary' })
  return handle(db, { put: (k, v) => db.put(k, v), get: (k) => db.get(k) })
}
