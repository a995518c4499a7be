// The trees of a database: openTree, dropTree (and what a dropped tree's stale handles do)
// and treeNames.
import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { open, SledCollectionNotFoundError, SledUnsupportedError, Tree } from 'sled-node'
import { caught } from './helpers/caught.js'
import { dbPath } from './helpers/tmp.js'

const names = (list: Buffer[]): string[] => list.map((n) => n.toString('utf8'))

describe('openTree', () => {
  it('returns a Tree named as asked, by string or bytes', () => {
    const db = open(dbPath())
    const byString = db.openTree('users')
    const byBytes = db.openTree(new Uint8Array([0x6f, 0x72, 0x64]))
    expect(byString).toBeInstanceOf(Tree)
    expect(byString.name).toBe('users')
    expect(byBytes.name).toBe('ord')
    byBytes.insert('k', 'v')
    expect(db.openTree('ord').get('k')?.toString()).toBe('v')
    db.close()
  })

  it('opening a tree twice gives handles on the same data', () => {
    const db = open(dbPath())
    db.openTree('t').insert('a', '1')
    expect(db.openTree('t').get('a')?.toString()).toBe('1')
    db.close()
  })
})

describe('dropTree', () => {
  it('returns true for an existing tree and false when there is none', () => {
    const db = open(dbPath())
    expect(db.dropTree('never-opened')).toBe(false)
    db.openTree('t').insert('k', 'v')
    expect(db.dropTree('t')).toBe(true)
    expect(db.dropTree('t')).toBe(false)
    db.close()
  })

  it('removes the data: the same name opens empty afterwards', () => {
    const db = open(dbPath())
    db.openTree('t').insert('k', 'v')
    db.dropTree(Buffer.from('t'))
    const fresh = db.openTree('t')
    expect(fresh.isEmpty()).toBe(true)
    fresh.insert('k2', 'v2')
    expect(fresh.get('k2')?.toString()).toBe('v2')
    db.close()
  })

  it('the drop persists across reopen', () => {
    const path = dbPath()
    const db = open(path)
    db.openTree('gone').insert('k', 'v')
    db.openTree('kept').insert('k', 'v')
    db.dropTree('gone')
    db.close()
    const again = open(path)
    expect(names(again.treeNames())).not.toContain('gone')
    expect(names(again.treeNames())).toContain('kept')
    expect(again.openTree('gone').isEmpty()).toBe(true)
    again.close()
  })

  it.each([['__sled__default'], [Buffer.from('__sled__default')]])(
    'dropping the default tree (%s) throws SledUnsupportedError and keeps its data',
    (name) => {
      const db = open(dbPath())
      db.insert('k', 'v')
      const err = caught(() => db.dropTree(name))
      expect(err).toBeInstanceOf(SledUnsupportedError)
      expect((err as SledUnsupportedError).code).toBe('SLED_UNSUPPORTED')
      expect(db.get('k')?.toString()).toBe('v')
      db.close()
    },
  )

  it("a dropped tree's stale handle throws SledCollectionNotFoundError", async () => {
    const db = open(dbPath())
    const stale = db.openTree('t')
    stale.insert('k', 'v')
    db.dropTree('t')
    expect(() => stale.get('k')).toThrow(SledCollectionNotFoundError)
    expect(() => stale.insert('k', 'v')).toThrow(SledCollectionNotFoundError)
    expect(() => stale.len()).toThrow(SledCollectionNotFoundError)
    await expect(stale.getAsync('k')).rejects.toBeInstanceOf(SledCollectionNotFoundError)
    // the stale handle must not have written into a resurrected tree
    expect(names(db.treeNames())).not.toContain('t')
    db.close()
  })

  it('every handle of the tree is invalidated, also those of another Db handle on the path', () => {
    const path = dbPath()
    const first = open(path)
    const second = open(path)
    const mine = first.openTree('t')
    const theirs = second.openTree('t')
    mine.insert('k', 'v')
    expect(theirs.get('k')?.toString()).toBe('v')

    expect(first.dropTree('t')).toBe(true)
    expect(() => mine.get('k')).toThrow(SledCollectionNotFoundError)
    expect(() => theirs.get('k')).toThrow(SledCollectionNotFoundError)
    expect(() => theirs.insert('k', 'again')).toThrow(SledCollectionNotFoundError)

    // a handle opened after the drop works, and the stale ones stay stale
    const fresh = second.openTree('t')
    expect(fresh.get('k')).toBeUndefined()
    fresh.insert('n', '1')
    expect(() => theirs.get('n')).toThrow(SledCollectionNotFoundError)
    expect(first.openTree('t').get('n')?.toString()).toBe('1')
    first.close()
    second.close()
  })

  it('dropping one tree leaves other trees and the default tree working', () => {
    const db = open(dbPath())
    const a = db.openTree('a')
    const b = db.openTree('b')
    a.insert('k', 'a')
    b.insert('k', 'b')
    db.insert('k', 'default')
    db.dropTree('a')
    expect(b.get('k')?.toString()).toBe('b')
    expect(db.get('k')?.toString()).toBe('default')
    db.close()
  })
})

describe('treeNames', () => {
  it("lists '__sled__default' and the opened trees, as Buffers", () => {
    const db = open(dbPath())
    const initial = db.treeNames()
    expect(initial.every((n) => Buffer.isBuffer(n))).toBe(true)
    expect(names(initial)).toContain('__sled__default')
    db.openTree('alpha')
    db.openTree(Buffer.from([0xce, 0xb2])) // 'β'
    const after = db.treeNames()
    expect(after.every((n) => Buffer.isBuffer(n))).toBe(true)
    expect(names(after)).toEqual(expect.arrayContaining(['__sled__default', 'alpha', 'β']))
    expect(after).toHaveLength(initial.length + 2)
    db.dropTree('alpha')
    expect(names(db.treeNames())).not.toContain('alpha')
    db.close()
  })
})
