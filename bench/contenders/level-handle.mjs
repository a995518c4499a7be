// The handle of an abstract-level store (classic-level, RocksLevel): both share the
// abstract-level API, so only how a point read is made differs between them.

/** The contender handle (contenders/README.md) over an opened abstract-level `db`. */
export function levelHandle(db, get) {
  return {
    put: (k, v) => db.put(k, v),
    get,
    getMany: (keys) => db.getMany(keys),
    batch: (entries) => db.batch(entries.map(([key, value]) => ({ type: 'put', key, value }))),
    async scan() {
      const it = db.iterator()
      let count = 0
      let last
      // 1,000 entries per nextv() call: one promise per entry would measure promises
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
