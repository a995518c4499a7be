// keyEncoding 'ordered' (typed keys in natural order, through ordered-binary) and
// valueEncoding 'msgpack' (structured values, through msgpackr).
import { Buffer } from 'node:buffer'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { type Db, open, type OrderedKey, type OrderedScalar } from 'sled-node'
import { expectCleanExit, moduleHider, runChild } from './helpers/child.js'
import { dbPath, tempDir } from './helpers/tmp.js'

/** Natural order: null < false < true < numbers < strings (by code point) < tuples. */
function rank(v: OrderedKey): number {
  if (v === null) return 0
  if (v === false) return 1
  if (v === true) return 2
  if (typeof v === 'number') return 3
  if (typeof v === 'string') return 4
  return 5
}

function compareCodePoints(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!)
  const y = [...b].map((c) => c.codePointAt(0)!)
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!
  return x.length - y.length
}

function natural(a: OrderedKey, b: OrderedKey): number {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b)
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = natural(a[i]!, b[i]!)
      if (c !== 0) return c
    }
    return a.length - b.length
  }
  return 0
}

/** -0 is stored as 0 (they are one key). */
const canonical = (k: OrderedKey): OrderedKey => (Array.isArray(k) ? k.map((e) => canonical(e) as OrderedScalar) : Object.is(k, -0) ? 0 : k)

function sortedUnique(keys: OrderedKey[]): OrderedKey[] {
  const sorted = keys.map(canonical).sort(natural)
  return sorted.filter((k, i) => i === 0 || natural(sorted[i - 1]!, k) !== 0)
}

const number = fc.oneof(
  fc.double(),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, -0, Infinity, -Infinity, 1.5, -1.5, Number.MIN_VALUE, -Number.MAX_VALUE),
).filter((n) => !Number.isNaN(n))
const string = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('', '\u0000', '\u0004', 'a\u0000', 'é', '\u{1F600}', '\uffff'), fc.string({ maxLength: 3 }))
const scalar: fc.Arbitrary<OrderedScalar> = fc.oneof(number, string, fc.boolean(), fc.constant(null))
const tuple = fc.array(scalar, { maxLength: 4 })
const key: fc.Arbitrary<OrderedKey> = fc.oneof(scalar, tuple, tuple.map((t) => ['user', ...t]))

const keysOf = <K>(entries: Iterable<[K, unknown]>): K[] => [...entries].map(([k]) => k)

describe("keyEncoding 'ordered'", () => {
  it('iterates in natural order (property: random numbers, strings and tuples), and reads every key back', () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'json' })
    let n = 0
    fc.assert(
      fc.property(fc.array(key, { maxLength: 40 }), (keys) => {
        const tree = db.openTree(`t${n++}`)
        for (const k of keys) tree.insert(k, 1)
        const expected = sortedUnique(keys)
        expect(keysOf(tree.iter())).toEqual(expected)
        expect(keysOf(tree.range({ reverse: true }))).toEqual([...expected].reverse())
        for (const k of keys) expect(tree.containsKey(k)).toBe(true)
      }),
      { numRuns: 150 },
    )
    db.close()
  })

  it('ranges take typed bounds (property: random bounds give the keys between them, in order)', () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'json' })
    let n = 0
    fc.assert(
      fc.property(fc.array(key, { maxLength: 30 }), key, key, (keys, a, b) => {
        const tree = db.openTree(`r${n++}`)
        for (const k of keys) tree.insert(k, 1)
        const [lo, hi] = natural(a, b) <= 0 ? [a, b] : [b, a]
        const expected = sortedUnique(keys).filter((k) => natural(k, lo) >= 0 && natural(k, hi) < 0)
        expect(keysOf(tree.range({ gte: lo, lt: hi }))).toEqual(expected)
      }),
      { numRuns: 150 },
    )
    db.close()
  })

  it('scanPrefix takes a tuple prefix (property: exactly the tuples that begin with it, in order)', () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'json' })
    let n = 0
    fc.assert(
      fc.property(fc.array(key, { maxLength: 30 }), fc.array(scalar, { maxLength: 2 }), (keys, prefix) => {
        const tree = db.openTree(`p${n++}`)
        for (const k of [...keys, ...keys.filter(Array.isArray).map((t) => [...prefix, ...t])]) tree.insert(k, 1)
        const p = canonical(prefix) as OrderedScalar[]
        const all = sortedUnique(keysOf(tree.iter()))
        const expected = all.filter((k) => Array.isArray(k) && k.length >= p.length && p.every((e, i) => natural(e, k[i]!) === 0))
        expect(keysOf(tree.scanPrefix(prefix))).toEqual(expected)
        expect(keysOf(tree.scanPrefix(prefix, { reverse: true }))).toEqual([...expected].reverse())
      }),
      { numRuns: 150 },
    )
    db.close()
  })

  it('a number, boolean or null prefix matches only that key (property), in scanPrefix and watchPrefix', async () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'json' })
    // a number's short form used to begin other numbers' bytes
    const neighbours: [number, number][] = [[0, 5e-324], [1, 1.0000000000000002], [2 ** 53, 2 ** 53 + 2], [0.5, 0.5000000000000001], [Infinity, 1e308]]
    for (const [n, other] of neighbours) {
      db.insert(n, 'n')
      db.insert(other, 'other')
      expect(keysOf(db.scanPrefix(n))).toEqual([n])
      expect(keysOf(db.scanPrefix(n, { reverse: true }))).toEqual([n])
    }
    let run = 0
    fc.assert(
      fc.property(fc.array(key, { maxLength: 30 }), fc.oneof(number, fc.boolean(), fc.constant(null)), (keys, prefix) => {
        const tree = db.openTree(`s${run++}`)
        for (const k of [...keys, prefix]) tree.insert(k, 1)
        expect(keysOf(tree.scanPrefix(prefix))).toEqual([canonical(prefix)])
      }),
      { numRuns: 150 },
    )
    const sub = db.watchPrefix(0)
    db.insert(5e-324, 'not 0')
    db.insert(0, 'zero')
    const first = await sub[Symbol.asyncIterator]().next()
    expect(first.value).toEqual({ type: 'insert', key: 0, value: 'zero' })
    sub.close()
    db.close()
  })

  it("every number is stored at ordered-binary's full 9 bytes (no number's bytes begin another's)", () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'utf8' })
    const tree = db.openTree('numbers')
    const raw = db.openTree('numbers', { keyEncoding: 'buffer' })
    for (const n of [0, 1, -1, 5e-324, 2 ** 53, Infinity, -Infinity, 123456789]) tree.insert(n, 'v')
    expect(raw.len()).toBe(8)
    for (const [k] of raw.iter()) expect(k).toHaveLength(9)
    // a number cut short is not a key of this encoding
    raw.insert(Buffer.from('10000000', 'hex'), 'short')
    expect(() => tree.iter().toArray()).toThrow(TypeError)
    db.close()
  })

  it('the README example: numbers in numeric order, composite keys, typed ranges and prefixes', () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'utf8' })
    for (const k of [10, 2, -1, 1.5]) db.insert(k, 'n')
    expect(keysOf(db.iter())).toEqual([-1, 1.5, 2, 10])
    db.insert(['user', 42], 'ada')
    db.insert(['user', 7], 'bob')
    db.insert(['users', 1], 'not a user')
    expect(db.range({ gte: ['user', 0], lt: ['user', Infinity] }).toArray()).toEqual([
      [['user', 7], 'bob'],
      [['user', 42], 'ada'],
    ])
    expect(keysOf(db.scanPrefix(['user']))).toEqual([
      ['user', 7],
      ['user', 42],
    ])
    db.close()
  })

  it('string prefixes match string keys; bytes are used as they are', () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'utf8' })
    for (const k of ['apple', 'apricot', 'banana', '\u0001x', 5, ['apple']]) db.insert(k, 'v')
    expect(keysOf(db.scanPrefix('ap'))).toEqual(['apple', 'apricot'])
    expect(keysOf(db.scanPrefix('\u0001'))).toEqual(['\u0001x'])
    expect(keysOf(db.scanPrefix(''))).toHaveLength(6)
    expect(keysOf(db.scanPrefix(Buffer.from([0xff])))).toEqual([['apple']])
    db.close()
  })

  it('a range bound may be raw bytes (a Uint8Array or Buffer), used as they are', () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'utf8' })
    for (const k of [null, true, -1, 7, 'a', 'b', ['user', 1], ['user', 'x']]) db.insert(k, 'v')
    // 0xff leads every tuple: gte it is every tuple; lt it is every scalar
    expect(keysOf(db.range({ gte: Uint8Array.of(0xff) }))).toEqual([['user', 1], ['user', 'x']])
    expect(keysOf(db.range({ lt: Buffer.from([0xff]) }))).toEqual([null, true, -1, 7, 'a', 'b'])
    // strings lead with their UTF-8: raw bytes between typed bounds
    expect(keysOf(db.range({ gt: 7, lte: Buffer.from('a') }))).toEqual(['a'])
    expect(keysOf(db.range({ gt: Uint8Array.of(0x07), lt: 'b', reverse: true }))).toEqual(['a', 7, -1])
    db.close()
  })

  it('refuses what has no place in the order', () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'utf8' })
    expect(() => db.insert(NaN, 'v')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => db.insert('\ud800', 'v')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => db.insert({ a: 1 } as never, 'v')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => db.insert([['nested']] as never, 'v')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => db.insert(Buffer.from('x') as never, 'v')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => db.insert(1n as never, 'v')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    // an undefined element, and a hole like one (forEach skipped holes: [1, , 3] was stored as [1, 3])
    expect(() => db.insert([1, undefined, 3] as never, 'v')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => db.insert([1, , 3] as never, 'v')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('key[1]') }))
    expect(() => db.scanPrefix(new Array(2) as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(db.len()).toBe(0)
    db.close()
  })

  it('types: OrderedKey keys', () => {
    const db = open(dbPath(), { keyEncoding: 'ordered', valueEncoding: 'msgpack' })
    expectTypeOf(db).toEqualTypeOf<Db<OrderedKey, unknown>>()
    db.insert(['user', 1], 'x')
    expectTypeOf(db.first()).toEqualTypeOf<[OrderedKey, unknown] | undefined>()
    db.close()
  })
})

describe("valueEncoding 'msgpack'", () => {
  const values: [string, unknown][] = [
    ['Date', new Date(1_700_000_000_123)],
    ['Map', new Map<unknown, unknown>([['a', 1], [2, { x: [1, 2] }]])],
    ['Set', new Set([1, 'two', null])],
    ['BigInt', 12n],
    ['large and negative BigInt', [2n ** 100n, -(2n ** 70n), -5n]],
    ['Uint8Array', new Uint8Array([0, 1, 255])],
    ['Float64Array', new Float64Array([1.5, -Infinity])],
    ['Int32Array', new Int32Array([-1, 2 ** 31 - 1])],
    ['Buffer', Buffer.from('bytes')],
    ['records (arrays of same-shaped objects)', [{ name: 'ada', born: 1815 }, { name: 'grace', born: 1906 }]],
    ['nested structures', { when: new Date(0), tags: new Set(['a']), index: new Map([['k', [1n, new Uint16Array([7])]]]) }],
    ['plain values', [null, true, 0, -0.5, 2 ** 53, 'text', { a: { b: [] } }]],
  ]
  for (const [name, value] of values) {
    it(`round-trips ${name}, also through another handle of the path`, () => {
      const path = dbPath()
      const db = open(path, { keyEncoding: 'utf8', valueEncoding: 'msgpack' })
      db.insert('a', { other: 'shape first' })
      db.insert('k', value)
      db.insert('k2', value)
      expect(db.get('k')).toEqual(value)
      expect(db.get('k2')).toEqual(value)
      db.close()
      // each value carries its own record structures: a fresh process reads it alone
      const again = open(path, { keyEncoding: 'utf8', valueEncoding: 'msgpack' })
      expect(again.get('k2')).toEqual(value)
      again.close()
    })
  }

  it('stores null; refuses undefined, and functions at any depth', () => {
    const db = open(dbPath(), { valueEncoding: 'msgpack' })
    db.insert('n', null)
    expect(db.get('n')).toBeNull()
    expect(() => db.insert('u', undefined)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    const fn = () => 1
    for (const value of [fn, { f: fn }, { a: { b: [1, { c: fn }] } }, [fn], new Map([[1, fn]]), new Set([fn]), { m() {} }, class {}]) {
      expect(() => db.insert('f', value)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }))
    }
    expect(db.containsKey('f')).toBe(false)
    // a refused value leaves the encoder as it was: the next value packs as in a fresh process
    db.insert('after', { a: { b: [1, { c: 2 }] } })
    db.close()
  })

  // Every value is self-contained and decodable alone: written in one process, read in
  // another, in reverse order, singly, and after the reader wrote values of other shapes.
  it('values written by one process read back in another: in reverse, singly, after the reader wrote other shapes', () => {
    const path = dbPath()
    const writer = `const db = sled.open(process.argv[1], { keyEncoding: 'utf8', valueEncoding: 'msgpack' })
const shape = (i) => ({ id: i, name: 'n' + i, tags: ['t' + i], inner: { at: new Date(1_700_000_000_000 + i), n: BigInt(i) ** 20n } })
for (let i = 0; i < 20; i++) db.insert('v' + String(i).padStart(2, '0'), shape(i))
db.insert('mix', { list: [shape(1), { other: 1 }, shape(2)], map: new Map([[{ k: 1 }, new Set([shape(3)])]]), typed: new Float32Array([1.5]), big: -(2n ** 80n) })
db.close()`
    expectCleanExit(runChild(writer, [path]))
    const reader = `const db = sled.open(process.argv[1], { keyEncoding: 'utf8', valueEncoding: 'msgpack' })
// this process's own values first, of other shapes with the same field count
db.insert('own1', { x: 1, y: 2, z: 3, w: 4 }); db.insert('own2', { p: { q: 1 } })
const single = db.get('v07')
const reversed = db.iter().toArray().reverse().filter(([k]) => k.startsWith('v') || k === 'mix')
const mix = db.get('mix')
const check = (v, i) => v.id === i && v.name === 'n' + i && v.tags[0] === 't' + i && v.inner.at.getTime() === 1_700_000_000_000 + i && v.inner.n === BigInt(i) ** 20n && Object.keys(v).join() === 'id,name,tags,inner'
const ok = check(single, 7) && reversed.every(([k, v]) => k === 'mix' || check(v, Number(k.slice(1))))
  && check(mix.list[0], 1) && mix.list[1].other === 1 && check(mix.list[2], 2)
  && [...mix.map][0][0].k === 1 && check([...[...mix.map][0][1]][0], 3) && mix.typed instanceof Float32Array && mix.typed[0] === 1.5 && mix.big === -(2n ** 80n)
  && db.get('own1').w === 4 && db.get('own2').p.q === 1
console.log(JSON.stringify({ ok, single: { ...single, inner: { ...single.inner, n: String(single.inner.n) } } }))
db.close()`
    const res = runChild(reader, [path])
    expectCleanExit(res)
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, single: { id: 7, name: 'n7' } })
  })

  it('structured values round-trip across processes, each read alone', () => {
    const path = dbPath()
    const db = open(path, { keyEncoding: 'utf8', valueEncoding: 'msgpack' })
    for (const [name, value] of values) db.insert(name, value)
    db.close()
    // another process reads each value alone, last written first, and sends them back as msgpack
    const script = `const { Packr } = require('msgpackr')
const db = sled.open(process.argv[1], { keyEncoding: 'utf8', valueEncoding: 'msgpack' })
const names = JSON.parse(process.argv[2]).reverse()
const out = names.map((n) => [n, db.get(n)])
db.close()
process.stdout.write(Buffer.from(new Packr({ structuredClone: true, mapsAsObjects: false, int64AsType: 'bigint' }).pack(out)).toString('base64'))`
    const res = runChild(script, [path, JSON.stringify(values.map(([n]) => n))])
    expectCleanExit(res)
    const back = new Map(new Packr({ structuredClone: true, mapsAsObjects: false, int64AsType: 'bigint' }).unpack(Buffer.from(res.stdout, 'base64')) as [string, unknown][])
    for (const [name, value] of values) expect(back.get(name), name).toEqual(value)
  })

  it('keyEncoding msgpack: the same key is always the same bytes (one key), in any process', () => {
    const path = dbPath()
    const db = open(path, { keyEncoding: 'msgpack', valueEncoding: 'utf8' })
    db.insert({ a: 1 }, 'x')
    db.insert({ b: 2, c: [3] }, 'other shape')
    db.insert({ a: 1 }, 'y')
    expect(db.len()).toBe(2)
    expect(db.get({ a: 1 })).toBe('y')
    db.insert({ nested: { a: 1 }, list: [{ a: 1 }, { a: 2 }] }, 'z')
    db.close()
    const res = runChild(
      `const db = sled.open(process.argv[1], { keyEncoding: 'msgpack', valueEncoding: 'utf8' })
db.insert({ q: 0 }, 'first shape here')
console.log(JSON.stringify([db.get({ nested: { a: 1 }, list: [{ a: 1 }, { a: 2 }] }), db.get({ a: 1 }), db.len(), db.iter().toArray().map(([k]) => k)]))
db.close()`,
      [path],
    )
    expectCleanExit(res)
    const [z, y, len, keys] = JSON.parse(res.stdout) as [string, string, number, unknown[]]
    expect([z, y, len]).toEqual(['z', 'y', 4])
    expect(keys).toHaveLength(4)
    expect(keys).toEqual(expect.arrayContaining([{ a: 1 }, { q: 0 }, { b: 2, c: [3] }, { nested: { a: 1 }, list: [{ a: 1 }, { a: 2 }] }]))
  })
})

it("'msgpack' without msgpackr installed: SledError SLED_MISSING_PEER when the handle is opened", () => {
  const dir = tempDir()
  // a child process in which msgpackr does not resolve, as when the optional peer is not installed
  const hide = moduleHider(dir, 'msgpackr')
  const script = `const { open } = require('sled-node')
const db = open(${JSON.stringify(join(dir, 'db'))}, { keyEncoding: 'ordered' })
db.insert(1, 'ordered works without msgpackr')
try { open(${JSON.stringify(join(dir, 'db'))}, { valueEncoding: 'msgpack' }) } catch (e) { console.log(JSON.stringify([e.name, e.code, e.message])) }`
  const out = execFileSync(process.execPath, ['-r', hide, '-e', script], { encoding: 'utf8' })
  const [name, code, message] = JSON.parse(out) as string[]
  expect([name, code]).toEqual(['SledError', 'SLED_MISSING_PEER'])
  expect(message).toContain('npm install msgpackr')
})
