// len, isEmpty, clear, checksum, flush and flushAsync on a Db (its default tree) and on a named
// tree; and Db.checksum (every tree) against a tree's checksum (its own entries).
import { describe, expect, it } from 'vitest'
import { type Db, open, Tree } from 'sled-node'
import { dbPath } from './helpers/tmp.js'
import { freshTree, targets } from './helpers/tree-targets.js'

describe.each(targets)('len, isEmpty, clear, checksum and flush on $kind', ({ make }) => {
  let tree: Tree
  freshTree(make, (t) => (tree = t))

  describe('len / isEmpty / clear', () => {
    it('counts entries and clears them', () => {
      expect(tree.len()).toBe(0)
      expect(tree.isEmpty()).toBe(true)
      for (let i = 0; i < 25; i++) tree.insert(`key${i}`, `v${i}`)
      expect(tree.len()).toBe(25)
      expect(tree.isEmpty()).toBe(false)
      tree.insert('key3', 'again')
      expect(tree.len()).toBe(25)
      tree.remove('key0')
      expect(tree.len()).toBe(24)
      tree.clear()
      expect(tree.len()).toBe(0)
      expect(tree.isEmpty()).toBe(true)
      expect(tree.get('key1')).toBeUndefined()
    })

    it('clear on an empty tree is fine', () => {
      expect(() => tree.clear()).not.toThrow()
      expect(tree.isEmpty()).toBe(true)
    })
  })

  describe('checksum', () => {
    it('is a number that follows the content', () => {
      const empty = tree.checksum()
      expect(Number.isInteger(empty)).toBe(true)
      expect(empty).toBeGreaterThanOrEqual(0)
      expect(empty).toBeLessThanOrEqual(0xffffffff)
      tree.insert('k', 'v')
      const one = tree.checksum()
      expect(one).not.toBe(empty)
      expect(tree.checksum()).toBe(one)
      tree.insert('k', 'w')
      const changed = tree.checksum()
      expect(changed).not.toBe(one)
      tree.insert('k', 'v')
      expect(tree.checksum()).toBe(one)
      tree.remove('k')
      expect(tree.checksum()).toBe(empty)
    })
  })

  describe('flush', () => {
    // without the background flusher, nothing else can flush the write first
    function quiet(): { own: Db; t: Tree } {
      const own = open(dbPath(), { flushEveryMs: null })
      return { own, t: make(own) }
    }

    it('flush returns a number of bytes, more than 0 after a write', () => {
      const { own, t } = quiet()
      t.insert('k', 'v')
      const n = t.flush()
      expect(typeof n).toBe('number')
      expect(n).toBeGreaterThan(0)
      expect(Number.isInteger(t.flush())).toBe(true)
      own.close()
    })

    it('flushAsync resolves to a number of bytes, more than 0 after a write', async () => {
      const { own, t } = quiet()
      t.insert('k', 'v')
      const p = t.flushAsync()
      expect(p).toBeInstanceOf(Promise)
      const n = await p
      expect(typeof n).toBe('number')
      expect(n).toBeGreaterThan(0)
      own.close()
    })

    it('flush and flushAsync with nothing written since the last flush return 0', async () => {
      const { own, t } = quiet()
      t.insert('k', 'v')
      expect(t.flush()).toBeGreaterThan(0)
      expect(t.flush()).toBe(0)
      expect(await t.flushAsync()).toBe(0)
      own.close()
    })
  })
})

describe('Db.checksum versus a tree checksum', () => {
  it('Db.checksum covers every tree; a tree checksum only its own', () => {
    const db = open(dbPath())
    const t = db.openTree('t')
    const defaultOnly = () => Tree.prototype.checksum.call(db)

    const dbBefore = db.checksum()
    const defaultBefore = defaultOnly()
    const treeBefore = t.checksum()
    expect(Number.isInteger(dbBefore)).toBe(true)

    t.insert('k', 'v')
    expect(t.checksum()).not.toBe(treeBefore)
    expect(db.checksum()).not.toBe(dbBefore)
    expect(defaultOnly()).toBe(defaultBefore)

    const dbAfterTree = db.checksum()
    db.insert('k', 'v')
    expect(db.checksum()).not.toBe(dbAfterTree)
    expect(defaultOnly()).not.toBe(defaultBefore)
    // a tree checksum hashes only keys and values; Db.checksum also hashes tree names
    expect(defaultOnly()).toBe(t.checksum())
    expect(db.checksum()).not.toBe(t.checksum())
    db.close()
  })
})
