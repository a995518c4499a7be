// Encodings (keyEncoding / valueEncoding) applied by every method: each encoding, through
// point reads and writes, CAS, updates, ranges, prefixes, events, batches, transactions
// and merges; what reaches the disk is the encoded bytes; trees inherit and override.
import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { type Codec, type Encoding, type Event, open, type Tree, transaction } from 'sled-node'
import { dbPath } from './helpers/tmp.js'

/** Big-endian u32 keys: an order-preserving codec, as the docs recommend for typed keys. */
const u32: Codec<number> = {
  encode(n) {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n)
    return b
  },
  decode: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32BE(0),
}

interface Point {
  x: number
  y: number
}
/** Two little-endian i32s: a codec whose values are objects. */
const point: Codec<Point> = {
  encode({ x, y }) {
    const b = Buffer.alloc(8)
    b.writeInt32LE(x, 0)
    b.writeInt32LE(y, 4)
    return b
  },
  decode: (b) => {
    const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    return { x: view.readInt32LE(0), y: view.readInt32LE(4) }
  },
}

interface Case {
  name: string
  keyEncoding: Encoding<unknown>
  valueEncoding: Encoding<unknown>
  /** Three keys in ascending order of their encoded bytes, as the encoding takes them. */
  keys: [unknown, unknown, unknown]
  values: [unknown, unknown, unknown]
  /** The bytes `value` is stored as. */
  stored: (value: unknown) => Buffer
  /** The bytes `key` is stored as. */
  storedKey: (key: unknown) => Buffer
  /** How decoded output is checked: its class, then its contents. */
  kind: 'buffer' | 'view' | 'decoded'
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8')

const cases: Case[] = [
  {
    name: "'buffer'",
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    keys: [text('a'), text('b'), text('c')],
    values: [text('one'), Buffer.from([0, 255]), Buffer.alloc(0)],
    stored: (v) => Buffer.from(v as Uint8Array),
    storedKey: (k) => Buffer.from(k as Uint8Array),
    kind: 'buffer',
  },
  {
    name: "'view'",
    keyEncoding: 'view',
    valueEncoding: 'view',
    keys: [new Uint8Array([1]), new Uint8Array([1, 0]), new Uint8Array([2])],
    values: [new Uint8Array([9, 9]), new Uint8Array([0]), new Uint8Array(0)],
    stored: (v) => Buffer.from(v as Uint8Array),
    storedKey: (k) => Buffer.from(k as Uint8Array),
    kind: 'view',
  },
  {
    name: "'utf8'",
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
    keys: ['apple', 'banana', 'é'],
    values: ['red', '', 'ünïcödé ✓'],
    stored: (v) => text(v as string),
    storedKey: (k) => text(k as string),
    kind: 'decoded',
  },
  {
    name: "'json'",
    keyEncoding: 'json',
    valueEncoding: 'json',
    // ordered by JSON text: '"a"' < '["a",1]' < '{"id":2}'
    keys: ['a', ['a', 1], { id: 2 }],
    values: [{ name: 'Ada', tags: ['x'] }, null, [1, 'two', false]],
    stored: (v) => text(JSON.stringify(v)),
    storedKey: (k) => text(JSON.stringify(k)),
    kind: 'decoded',
  },
  {
    name: 'codecs (u32 keys, point values)',
    keyEncoding: u32,
    valueEncoding: point,
    keys: [1, 256, 70000],
    values: [{ x: 1, y: -1 }, { x: 0, y: 0 }, { x: -5, y: 2 ** 30 }],
    stored: (v) => Buffer.from(point.encode(v as Point)),
    storedKey: (k) => Buffer.from(u32.encode(k as number)),
    kind: 'decoded',
  },
]

/** Asserts `actual` is the decoded form of `expected` for this case's encoding. */
function same(c: Case, actual: unknown, expected: unknown): void {
  if (c.kind === 'decoded') {
    expect(actual).toEqual(expected)
    return
  }
  expect(actual).toBeInstanceOf(Uint8Array)
  expect(Buffer.isBuffer(actual)).toBe(c.kind === 'buffer')
  expect(Buffer.from(actual as Uint8Array).equals(Buffer.from(expected as Uint8Array))).toBe(true)
}

function sameEntries(c: Case, actual: unknown[][], expected: unknown[][]): void {
  expect(actual).toHaveLength(expected.length)
  actual.forEach(([k, v], i) => {
    same(c, k, expected[i]![0])
    same(c, v, expected[i]![1])
  })
}

function openCase(c: Case): { tree: Tree<unknown, unknown>; raw: Tree; close: () => void } {
  const db = open(dbPath())
  const tree = db.openTree<unknown, unknown>('t', { keyEncoding: c.keyEncoding, valueEncoding: c.valueEncoding })
  // the same tree through a handle without encodings: what is really stored
  const raw = db.openTree<Buffer, Buffer>('t', { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  return { tree, raw, close: () => db.close() }
}

describe.each(cases)('encoding $name', (c) => {
  const [k1, k2, k3] = c.keys
  const [v1, v2, v3] = c.values

  it('insert, get, getAsync, getMany, containsKey, remove; the stored bytes are the encoded ones', async () => {
    const { tree, raw, close } = openCase(c)
    expect(tree.insert(k1, v1)).toBeUndefined()
    same(c, tree.insert(k1, v2), v1)
    same(c, tree.get(k1), v2)
    same(c, await tree.getAsync(k1), v2)
    tree.insert(k2, v3)
    const many = tree.getMany([k1, k3, k2])
    same(c, many[0], v2)
    expect(many[1]).toBeUndefined()
    same(c, many[2], v3)
    expect(tree.containsKey(k2)).toBe(true)
    expect(tree.containsKey(k3)).toBe(false)
    // through a handle without encodings: the encoded key holds the encoded value
    expect(raw.get(c.storedKey(k1))?.equals(c.stored(v2))).toBe(true)
    same(c, tree.remove(k1), v2)
    same(c, await tree.removeAsync(k2), v3)
    expect(await tree.insertAsync(k3, v1)).toBeUndefined()
    expect(tree.len()).toBe(1)
    close()
  })

  it('compareAndSwap and updateAndFetch / fetchAndUpdate see and return decoded values', () => {
    const { tree, close } = openCase(c)
    expect(tree.compareAndSwap(k1, undefined, v1)).toEqual({ ok: true })
    const failed = tree.compareAndSwap(k1, v2, v3)
    expect(failed.ok).toBe(false)
    if (!failed.ok) {
      same(c, failed.current, v1)
      same(c, failed.proposed, v3)
    }
    expect(tree.compareAndSwap(k1, v1, v2)).toEqual({ ok: true })
    const seen: unknown[] = []
    same(
      c,
      tree.updateAndFetch(k1, (old) => {
        seen.push(old)
        return v3
      }),
      v3,
    )
    same(c, seen[seen.length - 1], v2)
    same(
      c,
      tree.fetchAndUpdate(k1, () => v1),
      v3,
    )
    same(c, tree.get(k1), v1)
    close()
  })

  it('range bounds are keys of the encoding; entries, keys(), values(), first/last/getLt/getGt/popMin/popMax decode', async () => {
    const { tree, close } = openCase(c)
    tree.insert(k3, v3)
    tree.insert(k1, v1)
    tree.insert(k2, v2)
    sameEntries(c, tree.iter().toArray(), [
      [k1, v1],
      [k2, v2],
      [k3, v3],
    ])
    sameEntries(c, tree.range({ gte: k2 }).toArray(), [
      [k2, v2],
      [k3, v3],
    ])
    sameEntries(c, tree.range({ gt: k1, lte: k3, reverse: true, limit: 1 }).toArray(), [[k3, v3]])
    const keys = [...tree.range({ lt: k3 }).keys()]
    keys.forEach((k, i) => same(c, k, c.keys[i]))
    const values = [...tree.range({ gt: k1 }).values()]
    values.forEach((v, i) => same(c, v, c.values[i + 1]))
    const fromAsync: unknown[][] = []
    for await (const entry of tree.range({ lte: k2 })) fromAsync.push(entry)
    sameEntries(c, fromAsync, [
      [k1, v1],
      [k2, v2],
    ])
    sameEntries(c, [tree.first()!, tree.last()!, tree.getLt(k2)!, tree.getGt(k2)!], [
      [k1, v1],
      [k3, v3],
      [k1, v1],
      [k3, v3],
    ])
    sameEntries(c, [tree.popMin()!, tree.popMax()!], [
      [k1, v1],
      [k3, v3],
    ])
    expect(tree.len()).toBe(1)
    close()
  })

  it('scanPrefix takes bytes and text as they are, and any other key encoded', () => {
    const { tree, close } = openCase(c)
    c.keys.forEach((k, i) => tree.insert(k, c.values[i]))
    const all = c.keys.map((k, i) => [k, c.values[i]])
    sameEntries(c, tree.scanPrefix('').toArray(), all)
    /** The entries whose stored key starts with `prefix`. */
    const expected = (prefix: Uint8Array) => all.filter(([k]) => c.storedKey(k).subarray(0, prefix.length).equals(prefix))
    // raw bytes: the first stored byte of k2
    const firstByte = c.storedKey(k2).subarray(0, 1)
    sameEntries(c, tree.scanPrefix(firstByte).toArray(), expected(firstByte))
    // a key: text and bytes as they are, anything else through the key codec
    const asPrefix = typeof k2 === 'string' ? text(k2) : k2 instanceof Uint8Array ? k2 : c.storedKey(k2)
    const found = tree.scanPrefix(k2 as never).toArray()
    sameEntries(c, found, expected(asPrefix))
    if (typeof k2 !== 'string') expect(found.length).toBeGreaterThanOrEqual(1)
    close()
  })

  it('watchPrefix events carry decoded keys and values', async () => {
    const { tree, close } = openCase(c)
    const sub = tree.watchPrefix('')
    tree.insert(k1, v1)
    tree.remove(k1)
    const first = (await sub.next()).value as Event<unknown, unknown>
    const second = (await sub.next()).value as Event<unknown, unknown>
    expect(first.type).toBe('insert')
    same(c, first.key, k1)
    if (first.type === 'insert') same(c, first.value, v1)
    expect(second.type).toBe('remove')
    same(c, second.key, k1)
    sub.close()
    close()
  })

  it('tree.batch() and transactions encode and decode', () => {
    const { tree, close } = openCase(c)
    tree.insert(k3, v3)
    tree.apply(tree.batch().insert(k1, v1).insert(k2, v2).remove(k3))
    sameEntries(c, tree.iter().toArray(), [
      [k1, v1],
      [k2, v2],
    ])
    const result = tree.transaction((tx) => {
      same(c, tx.get(k1), v1)
      same(c, tx.insert(k1, v3), v1)
      same(c, tx.remove(k2), v2)
      expect(tx.get(k2)).toBeUndefined()
      tx.apply(tree.batch().insert(k3, v2))
      return tx.get(k1)
    })
    same(c, result, v3)
    sameEntries(c, tree.iter().toArray(), [
      [k1, v3],
      [k3, v2],
    ])
    close()
  })

  it('a merge operator gets the decoded key, old value and merged value', () => {
    const { tree, close } = openCase(c)
    const calls: unknown[][] = []
    tree.setMergeOperator((key, old, value) => {
      calls.push([key, old, value])
      return old === undefined ? value : v3
    })
    same(c, tree.merge(k1, v1), v1)
    same(c, tree.merge(k1, v2), v3)
    const [key, old, value] = calls[calls.length - 1]!
    same(c, key, k1)
    same(c, old, v1)
    same(c, value, v2)
    close()
  })
})

describe('encodings per handle', () => {
  it('a tree inherits the Db handle encodings unless it names its own; other handles see other encodings', () => {
    const path = dbPath()
    const db = open(path, { keyEncoding: 'utf8', valueEncoding: 'json' })
    const inherited = db.openTree('t')
    inherited.insert('k', { n: 1 })
    expect(inherited.get('k')).toEqual({ n: 1 })
    const overridden = db.openTree('t', { valueEncoding: 'utf8' })
    expect(overridden.get('k')).toBe('{"n":1}')
    const other = open(path)
    expect(other.openTree('t').get('k')).toEqual(Buffer.from('{"n":1}'))
    other.close()
    db.close()
  })

  it('transaction() over trees with different encodings decodes each with its own', () => {
    const db = open(dbPath())
    const names = db.openTree('names', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    const points = db.openTree('points', { keyEncoding: u32, valueEncoding: point })
    transaction([names, points], ([n, p]) => {
      n!.insert('origin', 'zero')
      p!.insert(7, { x: 3, y: 4 })
    })
    expect(names.get('origin')).toBe('zero')
    expect(points.get(7)).toEqual({ x: 3, y: 4 })
    db.close()
  })

  it('null is a value for json and codecs, and absent for the byte encodings', () => {
    const db = open(dbPath())
    const json = db.openTree('j', { valueEncoding: 'json' })
    json.insert('k', null)
    expect(json.get('k')).toBeNull()
    expect(json.containsKey('k')).toBe(true)
    const utf8 = db.openTree('u', { valueEncoding: 'utf8' })
    expect(() => utf8.insert('k', null as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    utf8.insert('k', 'v')
    expect(utf8.compareAndSwap('k', 'v', null as never)).toEqual({ ok: true })
    expect(utf8.containsKey('k')).toBe(false)
    db.close()
  })

  it('bad encodings and codecs are argument errors', () => {
    const db = open(dbPath())
    expect(() => db.openTree('t', { keyEncoding: 'hex' as never })).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => db.openTree('t', { valueEncoding: 42 as never })).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => open(dbPath(), { keyEncoding: { encode: () => new Uint8Array() } as never })).toThrow(TypeError)
    const bad = db.openTree('b', { valueEncoding: { encode: () => 'not bytes' as never, decode: (b: Uint8Array) => b } })
    expect(() => bad.insert('k', 'v')).toThrow(expect.objectContaining({ name: 'TypeError' }))
    expect(bad.get('k')).toBeUndefined()
    const json = db.openTree('j', { valueEncoding: 'json' })
    expect(() => json.insert('k', 10n)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => json.insert('k', cyclic)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(json.containsKey('k')).toBe(false)
    db.close()
  })
})
