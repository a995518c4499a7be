// sled-node, …Async API: the same store as sled-node, every call run off the JS thread;
// the harness keeps IN_FLIGHT (64) point operations in flight, as for every promise-based
// contender. The facade coalesces the getAsync / insertAsync / removeAsync calls of one
// tick into shared tasks on the binding's task threads (src/batcher.ts, src/task-line.ts).
// A read-many call is one getManyAsync (one task of 100 reads); batches run on the libuv pool;
// scans use the iterators' async iteration (for await).

import { IN_FLIGHT } from '../plan.mjs'

export const settings = `sled defaults (cacheCapacity 1 GiB, flushEveryMs 500); …Async API, ${IN_FLIGHT} in flight`

export const inFlight = { put: IN_FLIGHT, get: IN_FLIGHT, getMany: 1, batch: 1, scan: 1, scanRange: 1 }

export { probe, durability } from './sled-node.mjs'

export async function open(dir) {
  const { open } = await import('sled-node')
  const db = open(dir)
  return {
    put: (k, v) => db.insertAsync(k, v),
    get: (k) => db.getAsync(k),
    getMany: (keys) => db.getManyAsync(keys),
    batch(entries) {
      const b = db.batch()
      for (const [k, v] of entries) b.insert(k, v)
      return db.applyAsync(b)
    },
    async scan() {
      let count = 0
      let last
      for await (const entry of db.iter()) {
        count++
        last = entry
      }
      return { count, last }
    },
    async scanRange(start, n) {
      let count = 0
      let first
      for await (const entry of db.range({ gte: start, limit: n })) if (count++ === 0) first = entry
      return { count, first }
    },
    close: () => db.closeAsync(),
  }
}
