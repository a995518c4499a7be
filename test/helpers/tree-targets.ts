// The two kinds of Tree every Tree method is tested on: a Db (its default tree) and a named
// tree, each test with a fresh database; and the byte assertions those tests share.
import { Buffer } from 'node:buffer'
import { afterEach, beforeEach, expect } from 'vitest'
import { type Db, open, type Tree } from 'sled-node'
import { dbPath } from './tmp.js'

export const b = (s: string): Buffer => Buffer.from(s, 'utf8')

/** Asserts `value` is a Buffer holding exactly `expected` and returns it. */
export function expectBytes(value: unknown, expected: string | Uint8Array | number[]): Buffer {
  expect(Buffer.isBuffer(value)).toBe(true)
  const want = typeof expected === 'string' ? b(expected) : Buffer.from(expected as Uint8Array)
  expect((value as Buffer).equals(want)).toBe(true)
  return value as Buffer
}

/** For `describe.each(targets)`: `make` gives the Tree under test from a fresh Db. */
export const targets = [
  { kind: 'a Db (default tree)', make: (db: Db) => db as Tree, name: '__sled__default' },
  { kind: 'a named tree', make: (db: Db) => db.openTree('people'), name: 'people' },
] as const

/** Opens a fresh database before each test of the enclosing describe, hands `use` its tree, closes it after. */
export function freshTree(make: (db: Db) => Tree, use: (tree: Tree) => void): void {
  let db: Db
  beforeEach(() => {
    db = open(dbPath())
    use(make(db))
  })
  afterEach(() => {
    db.close()
  })
}
