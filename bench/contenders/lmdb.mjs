// lmdb-js (npm lmdb) in its documented durable default: put() is asynchronous and lmdb-js
// groups the puts issued together into one transaction that it commits and syncs to disk
// before the promise resolves (overlappingSync on Linux); get() is synchronous and returns
// a copy of the value. Keys and values are raw bytes (keyEncoding/encoding 'binary').
// A block's puts are issued together and awaited together (inFlight = block), which is how
// lmdb-js batches writes. read-many is a loop of get(): lmdb's getMany() is an asynchronous
// prefetch meant for values not yet in memory, and this cache is hot.

import { probeImport } from '../adapter.mjs'

export const settings = "open(dir, { keyEncoding: 'binary', encoding: 'binary' }); lmdb-js defaults (durable async commits)"

export const inFlight = { put: 1000, batch: 1 }

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
