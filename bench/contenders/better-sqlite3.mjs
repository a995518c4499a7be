// better-sqlite3 12: the schema and settings of ./sqlite-schema.mjs. Each put is its own
// (autocommit) transaction, a batch is one db.transaction(); rows come back as arrays
// (raw) or single columns (pluck) so no row objects are built. read-many is a loop of the
// prepared point query, better-sqlite3's fastest way to read known keys.

import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import { PRAGMAS, CREATE, PUT, GET, SCAN, RANGE, FILE } from './sqlite-schema.mjs'

export { durability } from './sqlite-schema.mjs'

export const settings = 'table (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID; WAL; synchronous=NORMAL; prepared statements'

export async function probe() {
  try {
    const { default: Database } = await import('better-sqlite3')
    new Database(':memory:').close()
    return null
  } catch (e) {
    return `cannot load better-sqlite3: ${e.message}`
  }
}

export async function open(dir) {
  const { default: Database } = await import('better-sqlite3')
  mkdirSync(dir, { recursive: true })
  const db = new Database(join(dir, FILE))
  for (const p of PRAGMAS) db.pragma(p.replace('PRAGMA ', ''))
  db.exec(CREATE)
  const put = db.prepare(PUT)
  const get = db.prepare(GET).pluck()
  const scan = db.prepare(SCAN).raw()
  const range = db.prepare(RANGE).raw()
  const batch = db.transaction((entries) => {
    for (const [k, v] of entries) put.run(k, v)
  })
  const getOne = (k) => get.get(k)
  return {
    put: (k, v) => void put.run(k, v),
    get: getOne,
    getMany: (keys) => keys.map(getOne),
    batch,
    scan() {
      let count = 0
      let last
      for (const row of scan.iterate()) {
        count++
        last = row
      }
      return { count, last }
    },
    scanRange(start, n) {
      const rows = range.all(start, n)
      return { count: rows.length, first: rows[0] }
    },
    close: () => db.close(),
  }
}
