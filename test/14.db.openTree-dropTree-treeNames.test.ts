// The database-wide methods of Db: trees (open, drop, names), ids, size, recovery
// flag, the canonical path, and what a dropped tree's stale handles do.
import { Buffer } from 'node:buffer'
import { mkdirSync, realpathSync, symlinkSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { open, SledCollectionNotFoundError, SledUnsupportedError, Tree } from 'sled-node'
import { dbPath, tempDir } from './helpers/tmp.js'

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
      let err: unknown
      try {
        db.dropTree(name)
      } catch (e) {
        err = e
      }
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

describe('generateId', () => {
  it('returns strictly increasing bigints, also across reopen', () => {
    const path = dbPath()
    const db = open(path)
    const ids: bigint[] = []
    for (let i = 0; i < 50; i++) ids.push(db.generateId())
    for (const id of ids) expect(typeof id).toBe('bigint')
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true)
    const last = ids[ids.length - 1]!
    db.close()
    const again = open(path)
    expect(again.generateId() > last).toBe(true)
    again.close()
  })

  it('two handles of one path share one id sequence', () => {
    const path = dbPath()
    const a = open(path)
    const b = open(path)
    const seen = new Set<bigint>()
    for (let i = 0; i < 20; i++) {
      seen.add(a.generateId())
      seen.add(b.generateId())
    }
    expect(seen.size).toBe(40)
    a.close()
    b.close()
  })
})

describe('sizeOnDisk', () => {
  it('is a positive number of bytes', () => {
    const db = open(dbPath())
    db.insert('k', Buffer.alloc(10_000, 1))
    db.flush()
    const size = db.sizeOnDisk()
    expect(typeof size).toBe('number')
    expect(Number.isInteger(size)).toBe(true)
    expect(size).toBeGreaterThan(0)
    db.close()
  })
})

describe('wasRecovered', () => {
  it('is false for a new database and true when existing data is opened', () => {
    const path = dbPath()
    const db = open(path)
    expect(db.wasRecovered).toBe(false)
    db.insert('k', 'v')
    db.close()
    const again = open(path)
    expect(again.wasRecovered).toBe(true)
    again.close()
  })
})

describe('path', () => {
  it('is absolute and canonical when opened through a relative path', () => {
    const dir = tempDir()
    const abs = join(dir, 'db')
    const rel = relative(process.cwd(), abs)
    expect(rel.startsWith('/')).toBe(false)
    const db = open(rel)
    expect(db.path).toBe(realpathSync(abs))
    db.close()
  })

  it("has no '..' or '.' segments or trailing slash", () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'sub'))
    const db = open(`${dir}/sub/../sub/./../db/`)
    expect(db.path).toBe(join(realpathSync(dir), 'db'))
    expect(db.path).not.toMatch(/(^|\/)\.\.?(\/|$)/)
    db.close()
  })

  it('resolves symlinks, so two spellings of one directory share one database', () => {
    const dir = tempDir()
    const real = join(dir, 'real')
    mkdirSync(real)
    symlinkSync(real, join(dir, 'link'))
    const a = open(join(dir, 'link'))
    const b = open(real)
    expect(a.path).toBe(realpathSync(real))
    expect(b.path).toBe(a.path)
    a.insert('k', 'v')
    expect(b.get('k')?.toString()).toBe('v')
    a.close()
    b.close()
  })
})

describe('closed', () => {
  it('is false while open and true after close', () => {
    const db = open(dbPath())
    const t = db.openTree('t')
    expect(db.closed).toBe(false)
    expect(t.closed).toBe(false)
    db.close()
    expect(db.closed).toBe(true)
    expect(t.closed).toBe(true)
  })
})
