// get, getMany, insert, remove, containsKey and their async forms, on a Db (its default tree)
// and on a named tree: happy paths and the byte-level edge cases (empty keys and values, zero
// bytes, views, UTF-8); trees as separate keyspaces; getMany past the Buffer limit.
import { Buffer, constants } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { open, type Tree } from 'sled-node'
import { caught } from './helpers/caught.js'
import { dbPath } from './helpers/tmp.js'
import { b, expectBytes, freshTree, targets } from './helpers/tree-targets.js'

describe.each(targets)('get, insert, remove, containsKey on $kind', ({ make, name }) => {
  let tree: Tree
  freshTree(make, (t) => (tree = t))

  it('name', () => {
    expect(tree.name).toBe(name)
  })

  describe('get / insert / remove / containsKey', () => {
    it('get of a missing key is undefined', () => {
      expect(tree.get('nope')).toBeUndefined()
    })

    it('insert returns undefined for a new key, then the previous value', () => {
      expect(tree.insert('k', 'v1')).toBeUndefined()
      expectBytes(tree.insert('k', 'v2'), 'v1')
      expectBytes(tree.get('k'), 'v2')
    })

    it('remove returns the removed value, then undefined', () => {
      tree.insert('k', 'v')
      expectBytes(tree.remove('k'), 'v')
      expect(tree.get('k')).toBeUndefined()
      expect(tree.remove('k')).toBeUndefined()
    })

    it('containsKey', () => {
      expect(tree.containsKey('k')).toBe(false)
      tree.insert('k', 'v')
      expect(tree.containsKey('k')).toBe(true)
      tree.remove('k')
      expect(tree.containsKey('k')).toBe(false)
    })

    it('string, Buffer and Uint8Array spell the same key', () => {
      tree.insert('abc', 'x')
      expectBytes(tree.get(b('abc')), 'x')
      expectBytes(tree.get(new Uint8Array([0x61, 0x62, 0x63])), 'x')
    })

    it('getMany returns values and undefined in order', () => {
      tree.insert('a', '1')
      tree.insert('c', '3')
      const got = tree.getMany(['a', 'b', b('c'), 'a'])
      expect(got).toHaveLength(4)
      expectBytes(got[0], '1')
      expect(got[1]).toBeUndefined()
      expectBytes(got[2], '3')
      expectBytes(got[3], '1')
      expect(tree.getMany([])).toEqual([])
    })
  })

  describe('async forms', () => {
    it('insertAsync / getAsync / removeAsync match the sync forms', async () => {
      expect(await tree.insertAsync('k', 'v1')).toBeUndefined()
      expectBytes(await tree.insertAsync('k', 'v2'), 'v1')
      expectBytes(tree.get('k'), 'v2')
      expectBytes(await tree.getAsync('k'), 'v2')
      expect(await tree.getAsync('missing')).toBeUndefined()
      expectBytes(await tree.removeAsync('k'), 'v2')
      expect(await tree.removeAsync('k')).toBeUndefined()
      expect(tree.containsKey('k')).toBe(false)
    })

    it('many concurrent async inserts all land', async () => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => tree.insertAsync(`k${i}`, `v${i}`)))
      expect(tree.len()).toBe(200)
      expectBytes(tree.get('k137'), 'v137')
    })

    it('mutating the key or value buffer after insertAsync does not change what is stored', async () => {
      const key = b('key')
      const value = b('value')
      const p = tree.insertAsync(key, value)
      key.fill(0x7a)
      value.fill(0x7a)
      await p
      expectBytes(tree.get('key'), 'value')
      expect(tree.containsKey('zzz')).toBe(false)
    })
  })

  describe('edge cases', () => {
    it('the empty key is a key', () => {
      expect(tree.containsKey('')).toBe(false)
      expect(tree.insert('', 'empty-key')).toBeUndefined()
      expectBytes(tree.get(''), 'empty-key')
      expectBytes(tree.get(Buffer.alloc(0)), 'empty-key')
      expectBytes(tree.get(new Uint8Array(0)), 'empty-key')
      expect(tree.len()).toBe(1)
      expectBytes(tree.remove(''), 'empty-key')
      expect(tree.isEmpty()).toBe(true)
    })

    it('an empty value is a value, not absence', () => {
      expect(tree.insert('k', '')).toBeUndefined()
      expect(tree.containsKey('k')).toBe(true)
      expectBytes(tree.get('k'), '')
      expectBytes(tree.insert('k', new Uint8Array(0)), '')
      expectBytes(tree.getMany(['k'])[0], '')
      expect(tree.compareAndSwap('k', '', 'x')).toEqual({ ok: true })
      expect(tree.compareAndSwap('k', 'x', Buffer.alloc(0))).toEqual({ ok: true })
      expectBytes(tree.get('k'), '')
    })

    it('an empty value from updateAndFetch is stored, not deleted', () => {
      expectBytes(tree.updateAndFetch('k', () => ''), '')
      expect(tree.containsKey('k')).toBe(true)
    })

    it('a 1 MiB value round-trips byte for byte', async () => {
      const big = Buffer.alloc(1024 * 1024)
      for (let i = 0; i < big.length; i++) big[i] = (i * 131 + (i >> 9)) & 0xff
      tree.insert('big', big)
      expectBytes(tree.get('big'), big)
      expectBytes(await tree.getAsync('big'), big)
      tree.flush()
      expectBytes(tree.remove('big'), big)
      await tree.insertAsync('big2', big)
      expectBytes(tree.get('big2'), big)
    })

    it('binary keys with zero bytes are distinct keys', () => {
      const keys = [[0], [0, 0], [0, 1], [0, 1, 0], [1, 0], [0xff, 0]].map((k) => Buffer.from(k))
      keys.forEach((k, i) => tree.insert(k, Buffer.from([i, 0, i])))
      expect(tree.len()).toBe(keys.length)
      keys.forEach((k, i) => expectBytes(tree.get(k), Buffer.from([i, 0, i])))
      expect(tree.get(Buffer.alloc(0))).toBeUndefined()
      expect(tree.get(Buffer.from([0, 0, 0]))).toBeUndefined()
    })

    it('a Uint8Array view stores exactly its own bytes, not its whole ArrayBuffer', () => {
      const backing = new ArrayBuffer(64)
      const all = new Uint8Array(backing)
      for (let i = 0; i < all.length; i++) all[i] = i + 1
      const keyView = new Uint8Array(backing, 10, 3) // 11 12 13
      const valueView = new Uint8Array(backing, 40, 5) // 41..45
      tree.insert(keyView, valueView)
      expect(tree.len()).toBe(1)
      expectBytes(tree.get(Buffer.from([11, 12, 13])), [41, 42, 43, 44, 45])
      expectBytes(tree.get(keyView), [41, 42, 43, 44, 45])
      expect(tree.containsKey(all)).toBe(false)
      // a Buffer that is a slice of a larger pool is a view too
      const pooled = Buffer.from('xxkeyxx').subarray(2, 5)
      tree.insert(pooled, Buffer.from('--value--').subarray(2, 7))
      expectBytes(tree.get('key'), 'value')
    })

    it('views are respected by the async forms and by compareAndSwap', async () => {
      const backing = new Uint8Array([9, 9, 1, 2, 9, 9, 3, 4, 9, 9])
      const key = backing.subarray(2, 4)
      const value = backing.subarray(6, 8)
      await tree.insertAsync(key, value)
      expectBytes(await tree.getAsync(Buffer.from([1, 2])), [3, 4])
      expect(tree.compareAndSwap(key, value, backing.subarray(0, 1))).toEqual({ ok: true })
      expectBytes(tree.get(key), [9])
      expectBytes(await tree.removeAsync(key), [9])
    })

    it('strings are UTF-8, multi-byte characters included', () => {
      const key = 'ключ-🔑-鍵'
      const value = 'значение — 値 — 😀'
      tree.insert(key, value)
      expectBytes(tree.get(Buffer.from(key, 'utf8')), Buffer.from(value, 'utf8'))
      expect(tree.get(key)?.toString('utf8')).toBe(value)
      expect(tree.get(key)?.length).toBe(Buffer.byteLength(value, 'utf8'))
      // a differently-encoded spelling of the same text is a different key
      expect(tree.get(Buffer.from(key, 'utf16le'))).toBeUndefined()
    })

    it('every result holding bytes is a Buffer', async () => {
      tree.insert(new Uint8Array([1]), new Uint8Array([2]))
      const results: unknown[] = [
        tree.get(new Uint8Array([1])),
        tree.insert(new Uint8Array([1]), new Uint8Array([3])),
        tree.getMany([new Uint8Array([1])])[0],
        tree.updateAndFetch(new Uint8Array([1]), () => new Uint8Array([4])),
        tree.fetchAndUpdate(new Uint8Array([1]), () => new Uint8Array([5])),
        await tree.getAsync(new Uint8Array([1])),
        await tree.insertAsync(new Uint8Array([1]), new Uint8Array([6])),
      ]
      const cas = tree.compareAndSwap(new Uint8Array([1]), new Uint8Array([0]), new Uint8Array([7]))
      expect(cas.ok).toBe(false)
      if (!cas.ok) results.push(cas.current, cas.proposed)
      results.push(tree.remove(new Uint8Array([1])))
      for (const r of results) {
        expect(r).toBeInstanceOf(Uint8Array)
        expect(Buffer.isBuffer(r)).toBe(true)
      }
    })

    // get, containsKey, insert and remove pass keys and values through a 64 KiB per-thread
    // buffer when they fit (crates/sled-node/src/fast.rs); these sizes straddle its edge
    it('keys and values around the 64 KiB fast-path limit round-trip, previous values included', () => {
      const fill = (n: number, seed: number): Buffer => {
        const out = Buffer.alloc(n)
        for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff
        return out
      }
      for (const size of [65_503, 65_504, 65_505, 65_519, 65_520, 65_521, 70_000]) {
        const key = fill(16, size)
        const value = fill(size, 1)
        expect(tree.insert(key, value), `insert ${size}`).toBeUndefined()
        expectBytes(tree.get(key), value)
        expect(tree.containsKey(key)).toBe(true)
        // the previous value comes back whole although it does not fit beside the key
        expectBytes(tree.insert(key, 'small'), value)
        expectBytes(tree.insert(key, value), 'small')
        expectBytes(tree.remove(key), value)
        expect(tree.get(key)).toBeUndefined()
      }
      const bigKey = fill(65_530, 3)
      tree.insert(bigKey, 'v')
      expectBytes(tree.get(bigKey), 'v')
      expect(tree.containsKey(bigKey)).toBe(true)
      expectBytes(tree.remove(bigKey), 'v')
    })

    it('a returned value never changes when later calls reuse the per-thread buffer', () => {
      tree.insert('a', 'first value')
      tree.insert('b', 'other')
      const a = tree.get('a')!
      const previous = tree.insert('a', 'replaced')!
      tree.get('b')
      tree.containsKey('a')
      tree.remove('b')
      tree.insert('c', Buffer.alloc(3000, 1))
      expectBytes(a, 'first value')
      expectBytes(previous, 'first value')
    })

    it('values read across many blocks of the value arena never change afterwards', () => {
      // 600 values of 200–700 bytes: several 32 KiB blocks used up and replaced
      const valueOf = (i: number) => Buffer.alloc(200 + (i % 500), i % 251)
      for (let i = 0; i < 600; i++) tree.insert(`k${i}`, valueOf(i))
      const kept: [Buffer, Buffer][] = []
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 600; i++) {
          kept.push([tree.get(`k${i}`)!, valueOf(i)])
          // a previous value comes back the same way
          if (i % 7 === 0) kept.push([tree.insert(`k${i}`, valueOf(i))!, valueOf(i)])
        }
      }
      for (const [got, want] of kept) expect(got.equals(want)).toBe(true)
    })

    it('a small value is an 8-byte aligned slice of a shared block; a large one has its own', () => {
      tree.insert('small', Buffer.alloc(100, 1))
      tree.insert('large', Buffer.alloc(5000, 2))
      // three reads: a full block is replaced at most once among them
      const smalls = [tree.get('small')!, tree.get('small')!, tree.get('small')!]
      for (const small of smalls) {
        expect(small.byteOffset % 8).toBe(0)
        expectBytes(small, Buffer.alloc(100, 1))
      }
      expect(smalls[0]!.buffer === smalls[1]!.buffer || smalls[1]!.buffer === smalls[2]!.buffer).toBe(true)
      const large = tree.get('large')!
      expectBytes(large, Buffer.alloc(5000, 2))
      // not in the block small values share (how Node allocates it is Node's business)
      for (const small of smalls) expect(large.buffer).not.toBe(small.buffer)
    })

    it('the shared block of a small value cannot be transferred away', () => {
      tree.insert('k', 'transfer me')
      const value = tree.get('k')!
      const buffer = value.buffer as ArrayBuffer & { transfer?: () => ArrayBuffer }
      // Node 21+ refuses; Node 20 copies instead of moving: either way the value stays
      try {
        structuredClone(buffer, { transfer: [buffer] })
      } catch (error) {
        expect((error as Error).name).toBe('DataCloneError')
      }
      expectBytes(value, 'transfer me')
      expect(buffer.byteLength).toBeGreaterThan(0)
      if (typeof buffer.transfer === 'function') expect(() => buffer.transfer?.()).toThrow(TypeError)
      expectBytes(tree.get('k'), 'transfer me')
    })

    it('a returned Buffer is a copy: mutating it does not change the store', () => {
      tree.insert('k', 'value')
      const got = tree.get('k')!
      got.fill(0)
      expectBytes(tree.get('k'), 'value')
    })
  })
})

describe('trees are separate keyspaces', () => {
  it('the default tree and named trees do not share keys', () => {
    const db = open(dbPath())
    const a = db.openTree('a')
    const other = db.openTree(b('b'))
    db.insert('k', 'default')
    a.insert('k', 'a')
    expectBytes(db.get('k'), 'default')
    expectBytes(a.get('k'), 'a')
    expect(other.get('k')).toBeUndefined()
    expect(db.len()).toBe(1)
    a.clear()
    expectBytes(db.get('k'), 'default')
    db.close()
  })

  it('two handles of the same tree name see each other', () => {
    const db = open(dbPath())
    const one = db.openTree('t')
    const two = db.openTree('t')
    one.insert('k', 'v')
    expectBytes(two.get('k'), 'v')
    db.close()
  })

  it('data in a named tree survives close and reopen', () => {
    const path = dbPath()
    const db = open(path)
    db.openTree('t').insert('k', 'v')
    db.close()
    const again = open(path)
    expectBytes(again.openTree('t').get('k'), 'v')
    expect(again.get('k')).toBeUndefined()
    again.close()
  })
})

// Node 20's Buffers stop at 4 GiB; later Nodes allow far more than a test should allocate
describe.runIf(constants.MAX_LENGTH <= 2 ** 32)('getMany past the Buffer limit', () => {
  it('is a RangeError ERR_BUFFER_TOO_LARGE, not a plain Error', () => {
    const db = open(dbPath())
    try {
      const big = Buffer.alloc(64 * 1024 * 1024, 7)
      db.insert('big', big)
      // 65 × 64 MiB packed is over 4 GiB; sled shares the value, so little is allocated
      const count = Math.ceil((constants.MAX_LENGTH + 1) / big.length)
      const thrown = caught(() => db.getMany(Array.from({ length: count }, () => 'big')))
      expect(thrown).toBeInstanceOf(RangeError)
      expect(thrown).toMatchObject({ code: 'ERR_BUFFER_TOO_LARGE' })
      // the handle is fine afterwards
      expect(db.getMany(['big'])[0]?.equals(big)).toBe(true)
    } finally {
      db.close()
    }
  })
})

describe('Tree objects and the fast path', () => {
  it('two Tree objects of one tree, and ones made after others were collected, read the same data', async () => {
    const db = open(dbPath())
    try {
      const one = db.openTree('twice')
      one.insert('k', 'v')
      const two = db.openTree('twice')
      expectBytes(two.get('k'), 'v')
      expectBytes(two.remove('k'), 'v')
      expect(one.get('k')).toBeUndefined()
      // handles come and go: numbers of collected ones are reused by new ones
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 200; i++) db.openTree(`t${i % 7}`).insert(`k${i}`, `v${round}`)
        globalThis.gc?.()
        await new Promise((resolve) => setImmediate(resolve))
      }
      for (let i = 0; i < 200; i++) expectBytes(db.openTree(`t${i % 7}`).get(`k${i}`), 'v2')
    } finally {
      db.close()
    }
  })
})
