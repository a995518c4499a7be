// sled-node, synchronous API: the headline contender. sled's defaults (1 GiB page cache,
// background flush every 500 ms: durable after flush, as sled documents), no encodings,
// so values come back as Buffers.

import { probeImport } from '../adapter.mjs'
import { SLED_DURABILITY } from '../plan.mjs'

export const settings = 'sled defaults (cacheCapacity 1 GiB, flushEveryMs 500); sync API'
export const durability = SLED_DURABILITY

export const probe = () => probeImport('sled-node', ' (run npm run build)')

export async function open(dir) {
  const { open } = await import('sled-node')
  // a path already open in this process (read-workers' `shared`) attaches to the same db
  const db = open(dir)
  return {
    put: (k, v) => void db.insert(k, v),
    get: (k) => db.get(k),
    getMany: (keys) => db.getMany(keys),
    batch(entries) {
      const b = db.batch()
      for (const [k, v] of entries) b.insert(k, v)
      db.apply(b)
    },
    scan() {
      let count = 0
      let last
      for (const entry of db.iter()) {
        count++
        last = entry
      }
      return { count, last }
    },
    scanRange(start, n) {
      let count = 0
      let first
      for (const entry of db.range({ gte: start, limit: n })) if (count++ === 0) first = entry
      return { count, first }
    },
    close: () => db.close(),
  }
}
