// classic-level (LevelDB), the Level ecosystem's default, in its defaults: writes go to the
// log without fsync (LevelDB's sync: false: durable across a process crash, not a power
// loss), 8 MiB block cache, Snappy. Keys and values as Buffers. Reads use getSync(), the
// synchronous read abstract-level 3 documents for hot data; writes, getMany, batch and
// iterators exist only as promises, so point writes keep 64 in flight (as sled-node-async
// does) and scans read 1,000 entries per nextv() call.

export const settings = "new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }); LevelDB defaults"

export const inFlight = { put: 64, getMany: 1, batch: 1, scan: 1, scanRange: 1 }

export function unsupported(workload) {
  return workload === 'read-workers' ? 'LevelDB locks its directory: one open handle per process' : null
}

export async function probe() {
  try {
    await import('classic-level')
    return null
  } catch (e) {
    return `cannot load classic-level: ${e.message}`
  }
}

export async function open(dir) {
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  return {
    put: (k, v) => db.put(k, v),
    get: (k) => db.getSync(k),
    getMany: (keys) => db.getMany(keys),
    batch: (entries) => db.batch(entries.map(([key, value]) => ({ type: 'put', key, value }))),
    async scan() {
      const it = db.iterator()
      let count = 0
      let last
      for (let rows; (rows = await it.nextv(1000)).length; ) {
        count += rows.length
        last = rows[rows.length - 1]
      }
      await it.close()
      return { count, last }
    },
    async scanRange(start, n) {
      const rows = await db.iterator({ gte: start, limit: n }).all()
      return { count: rows.length, first: rows[0] }
    },
    close: () => db.close(),
  }
}
