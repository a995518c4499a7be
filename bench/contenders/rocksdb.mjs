// RocksDB through @nxtedition/rocksdb (RocksLevel, a maintained abstract-level binding),
// in the binding's defaults: writes without fsync (RocksDB's sync: false, as LevelDB's),
// keys and values as Buffers. Its public API is promise-only (abstract-level 1), so point
// operations keep 64 in flight (as sled-node-async does) and scans read 1,000 entries per
// nextv() call. get() of a missing key rejects with LEVEL_NOT_FOUND, as documented; the
// adapter turns that into undefined.

export const settings = "new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }); binding defaults"

export const inFlight = { put: 64, get: 64, getMany: 1, batch: 1, scan: 1, scanRange: 1 }

export function unsupported(workload) {
  return workload === 'read-workers' ? 'RocksDB locks its directory: one open handle per process' : null
}

export async function probe() {
  try {
    await import('@nxtedition/rocksdb')
    return null
  } catch (e) {
    return `cannot load @nxtedition/rocksdb: ${e.message}`
  }
}

const notFound = (e) => {
  if (e.code === 'LEVEL_NOT_FOUND') return undefined
  throw e
}

export async function open(dir) {
  const { RocksLevel } = await import('@nxtedition/rocksdb')
  const db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  return {
    put: (k, v) => db.put(k, v),
    get: (k) => db.get(k).catch(notFound),
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
