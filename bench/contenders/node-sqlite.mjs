// node:sqlite (DatabaseSync, Node >= 22.5): the schema and settings of ./sqlite-schema.mjs,
// as for better-sqlite3. Node 20 has no node:sqlite, so there it is skipped with that reason
// (and this adapter has not run on this project's Node 20 machines).

import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import { PRAGMAS, CREATE, PUT, GET, SCAN, RANGE, FILE } from './sqlite-schema.mjs'

export { durability } from './sqlite-schema.mjs'

export const settings = 'table (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID; WAL; synchronous=NORMAL; prepared statements'

export async function probe() {
  try {
    await import('node:sqlite')
    return null
  } catch {
    return `node:sqlite is not available in Node ${process.version}`
  }
}

export async function open(dir) {
  const { DatabaseSync } = await import('node:sqlite')
  mkdirSync(dir, { recursive: true })
  const db = new DatabaseSync(join(dir, FILE))
  for (const p of PRAGMAS) db.exec(p)
  db.exec(CREATE)
  const put = db.prepare(PUT)
  const get = db.prepare(GET)
  const scan = db.prepare(SCAN)
  const range = db.prepare(RANGE)
  const begin = db.prepare('BEGIN')
  const commit = db.prepare('COMMIT')
  const getOne = (k) => get.get(k)?.v
  return {
    put: (k, v) => void put.run(k, v),
    get: getOne,
    getMany: (keys) => keys.map(getOne),
    batch(entries) {
      begin.run()
      try {
        for (const [k, v] of entries) put.run(k, v)
        commit.run()
      } catch (e) {
        db.exec('ROLLBACK')
        throw e
      }
    },
    scan() {
      let count = 0
      let last
      // iterate() arrived after DatabaseSync itself (22.5); all() is the fallback
      for (const row of scan.iterate ? scan.iterate() : scan.all()) {
        count++
        last = row
      }
      return { count, last: last && [last.k, last.v] }
    },
    scanRange(start, n) {
      const rows = range.all(start, n)
      return { count: rows.length, first: rows[0] && [rows[0].k, rows[0].v] }
    },
    close: () => db.close(),
  }
}
