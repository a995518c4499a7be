// getAsync / insertAsync / removeAsync calls of one tick share pool tasks (src/batcher.ts):
// each caller still gets its own value or its own error, as if every call had its own
// task, and the calls of one tick run in call order.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Buffer } from 'node:buffer'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { open, SledClosedError, SledCollectionNotFoundError, type Db, type Tree } from 'sled-node'
import { entry, expectCleanExit, runChild } from './helpers/child.js'
import { dbPath, tempDir } from './helpers/tmp.js'
import { freshTree, targets } from './helpers/tree-targets.js'

const require = createRequire(import.meta.url)
const pkgDir = dirname(require.resolve('sled-node/package.json'))
/** The built batcher: its `run` is the seam for a failure in the middle of a tick. */
type Results = Buffer | [Buffer, Error]
const { Batcher } = require(join(pkgDir, 'dist/src/batcher.js')) as {
  Batcher: new (run: (ops: Buffer, writes: boolean) => Promise<Results>, decode: (v: Buffer | undefined) => unknown) => {
    get(key: Uint8Array): Promise<unknown>
    getMany(keys: Uint8Array[]): Promise<unknown[]>
    insert(key: Uint8Array, value: Uint8Array): Promise<unknown>
  }
}
/** Bytes of one packed get of a 1-byte key: op, key length, key. */
const GET_BYTES = 6
/** Bytes of one packed insert of a 1-byte key and a 1-byte value: op, key length, key, value length, value. */
const INSERT_BYTES = 11
/** A batcher over the stand-in task `run`, whose values decode to strings. */
const stringBatcher = (run: (ops: Buffer, writes: boolean) => Promise<Results>) => new Batcher(run, (v) => v?.toString())
/** A batcher whose stand-in tasks each take 5 ms and answer `answer(ops)`; `seen` records each task's list, and whether two ran at once. */
function timedBatcher(answer: (ops: Buffer) => Results) {
  const seen = { lists: [] as Buffer[], overlapped: false }
  let running = 0
  const batcher = stringBatcher(async (ops) => {
    seen.overlapped ||= running > 0
    running++
    seen.lists.push(Buffer.from(ops))
    await new Promise((resolve) => setTimeout(resolve, 5))
    running--
    return answer(ops)
  })
  return { batcher, seen }
}
/** Results packed as the native side packs them: `[len u32 LE][bytes]`, absent as 0xffffffff. */
const packed = (values: (string | undefined)[]): Buffer =>
  Buffer.concat(values.map((v) => (v === undefined ? Buffer.from([255, 255, 255, 255]) : Buffer.concat([Buffer.alloc(4), Buffer.from(v)]).fill(v.length, 0, 1))))

/** Settles every promise: its value, or the error it rejected with. */
const outcomes = <T>(promises: Promise<T>[]): Promise<({ ok: true; value: T } | { ok: false; error: unknown })[]> =>
  Promise.all(promises.map((p) => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))))

describe('getAsync batching', () => {
  it('1,000 reads in one tick each resolve to their own key: present, absent, empty, larger than the scratch', async () => {
    const db = open(dbPath())
    const big = Buffer.alloc(200_000, 7)
    for (let i = 0; i < 1000; i += 2) db.insert(`k${i}`, i % 10 === 0 ? '' : `v${i}`)
    db.insert('big', big)
    const keys = [...Array.from({ length: 1000 }, (_, i) => `k${i}`), 'big']
    const values = await Promise.all(keys.map((k) => db.getAsync(k)))
    keys.forEach((k, i) => {
      const expected = k === 'big' ? big : i % 2 === 1 ? undefined : Buffer.from(i % 10 === 0 ? '' : `v${i}`)
      expect(values[i], k).toEqual(expected)
    })
    db.close()
  })

  it.each([
    ['getAsync', (db: Db, key: Buffer) => Promise.all([db.getAsync(key), db.getAsync('b')])],
    ['getManyAsync', (db: Db, key: Buffer) => db.getManyAsync([key, 'b'])],
  ])('%s reads the key as it was at the call, though the caller changes its Buffer right after', async (_name, read) => {
    const db = open(dbPath())
    db.insert('a', '1')
    db.insert('b', '2')
    const key = Buffer.from('a')
    const values = read(db, key)
    key.write('b')
    expect(await values).toEqual([Buffer.from('1'), Buffer.from('2')])
    db.close()
  })

  it('copies each key at the call, also a codec output that the codec reuses', async () => {
    const db = open(dbPath())
    const scratch = Buffer.alloc(4)
    const reusing = db.openTree<number, string>('t', {
      keyEncoding: { encode: (n: number) => (scratch.writeUInt32BE(n), scratch), decode: (b: Uint8Array) => Buffer.from(b).readUInt32BE(0) },
      valueEncoding: 'utf8',
    })
    for (let i = 0; i < 5; i++) reusing.insert(i, `v${i}`)
    const values = ['v0', 'v1', 'v2', 'v3', 'v4']
    expect(await Promise.all([0, 1, 2, 3, 4].map((i) => reusing.getAsync(i)))).toEqual(values)
    // and getManyAsync / getMany each key of the list, though all are encoded before any is read
    expect(await reusing.getManyAsync([0, 1, 2, 3, 4])).toEqual(values)
    expect(reusing.getMany([0, 1, 2, 3, 4])).toEqual(values)
    db.close()
  })

  it.each([
    ['getAsync', (db: Db) => Promise.all([db.getAsync('small'), db.getAsync('big')])],
    ['getManyAsync', (db: Db) => db.getManyAsync(['small', 'big'])],
  ])('each value read in a batch by %s is a Buffer of its own, as get returns', async (_name, read) => {
    const db = open(dbPath())
    const big = Buffer.alloc(1 << 20, 1)
    db.insert('small', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]))
    db.insert('big', big)
    const [small, large] = (await read(db)) as [Buffer, Buffer]
    expect(large.equals(big)).toBe(true)
    // not a view into one packed buffer holding both (which would keep 1 MiB alive for 8 bytes)
    expect(small.buffer).not.toBe(large.buffer)
    expect(small.buffer.byteLength).toBeLessThan(big.length)
    // and aligned like any Buffer from Node's pool, so typed-array views work
    expect(new Float64Array(small.buffer, small.byteOffset, 1)).toHaveLength(1)
    db.close()
  })

  it('a bad key rejects its own call only', async () => {
    const db = open(dbPath())
    db.insert('a', '1')
    const results = await outcomes([db.getAsync('a'), db.getAsync(42 as never), db.getAsync('a')])
    expect(results[0]).toEqual({ ok: true, value: Buffer.from('1') })
    expect(results[1]).toMatchObject({ ok: false, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } })
    expect(results[2]).toEqual({ ok: true, value: Buffer.from('1') })
    db.close()
  })

  it('a value its encoding cannot decode rejects that call only', async () => {
    const db = open(dbPath())
    const tree = db.openTree<string, { n: number }>('json', { keyEncoding: 'utf8', valueEncoding: 'json' })
    tree.insert('good', { n: 1 })
    // written through a raw handle of the same tree: json would encode a Buffer as JSON
    db.openTree('json').insert('bad', '{not json')
    const results = await outcomes([tree.getAsync('good'), tree.getAsync('bad'), tree.getAsync('none')])
    expect(results[0]).toEqual({ ok: true, value: { n: 1 } })
    expect(results[1]).toMatchObject({ ok: false })
    expect((results[1] as { error: unknown }).error).toBeInstanceOf(SyntaxError)
    expect(results[2]).toEqual({ ok: true, value: undefined })
    db.close()
  })

  it('closing the Db in the tick of the calls rejects them all with SledClosedError, and nothing hangs', async () => {
    const db = open(dbPath())
    db.insert('a', '1')
    const pending = Array.from({ length: 300 }, () => db.getAsync('a'))
    db.close()
    const results = await outcomes(pending)
    // up to 128 keys per task are sent at once, before close(); the rest after it
    for (const r of results) {
      if (r.ok) expect(r.value).toEqual(Buffer.from('1'))
      else expect(r.error).toBeInstanceOf(SledClosedError)
    }
    expect(results.some((r) => !r.ok)).toBe(true)
  })

  it('reads of a dropped tree all reject with SledCollectionNotFoundError', async () => {
    const db = open(dbPath())
    const tree = db.openTree('t')
    tree.insert('a', '1')
    db.dropTree('t')
    const results = await outcomes([tree.getAsync('a'), tree.getAsync('b')])
    for (const r of results) expect(r.ok ? r : r.error).toBeInstanceOf(SledCollectionNotFoundError)
    db.close()
  })

  it('reads of several trees in one tick go to their own trees', async () => {
    const db = open(dbPath())
    const t1 = db.openTree('one')
    const t2 = db.openTree('two')
    t1.insert('k', 'from one')
    t2.insert('k', 'from two')
    const [a, b, c] = await Promise.all([t1.getAsync('k'), t2.getAsync('k'), db.getAsync('k')])
    expect(a).toEqual(Buffer.from('from one'))
    expect(b).toEqual(Buffer.from('from two'))
    expect(c).toBeUndefined()
    db.close()
  })
})

describe.each(targets)('insertAsync / removeAsync batching on $kind', ({ make }) => {
  let tree: ReturnType<typeof make>
  freshTree(make, (t) => (tree = t))
  const text = (v: Buffer | undefined) => v?.toString()

  it('1,000 inserts in one tick each resolve with their own previous value', async () => {
    for (let i = 0; i < 1000; i += 2) tree.insert(`k${i}`, `old${i}`)
    const previous = await Promise.all(Array.from({ length: 1000 }, (_, i) => tree.insertAsync(`k${i}`, `new${i}`)))
    previous.forEach((v, i) => expect(text(v), `k${i}`).toBe(i % 2 === 0 ? `old${i}` : undefined))
    for (let i = 0; i < 1000; i++) expect(text(tree.get(`k${i}`))).toBe(`new${i}`)
  })

  it('runs the calls of one tick in call order: each write sees the ones before it', async () => {
    const a = tree.insertAsync('k', 'a')
    const b = tree.insertAsync('k', 'b')
    const read = tree.getAsync('k')
    const removed = tree.removeAsync('k')
    const again = tree.removeAsync('k')
    const c = tree.insertAsync('k', 'c')
    expect((await Promise.all([a, b, read, removed, again, c])).map(text)).toEqual([undefined, 'a', 'b', 'b', undefined, undefined])
    expect(text(tree.get('k'))).toBe('c')
  })

  it('keeps call order in a tick of many calls', async () => {
    // 40 writes of one key: each resolves with the value of the call before it
    const previous = await Promise.all(Array.from({ length: 40 }, (_, i) => tree.insertAsync('k', `v${i}`)))
    expect(previous.map(text)).toEqual([undefined, ...Array.from({ length: 39 }, (_, i) => `v${i}`)])
    expect(text(tree.get('k'))).toBe('v39')
  })

  it('removes mixed with inserts of other keys resolve with their own removed values', async () => {
    for (let i = 0; i < 100; i++) tree.insert(`r${i}`, `v${i}`)
    const calls = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? tree.removeAsync(`r${i / 2}`) : tree.insertAsync(`i${i}`, 'x')))
    const results = await Promise.all(calls)
    results.forEach((v, i) => expect(text(v)).toBe(i % 2 === 0 ? `v${i / 2}` : undefined))
    expect(tree.scanPrefix('r').toArray()).toHaveLength(0)
    expect(tree.scanPrefix('i').toArray()).toHaveLength(100)
  })

  it('a bad key or value rejects its own call only; the others are written', async () => {
    const results = await outcomes([
      tree.insertAsync('a', '1'),
      tree.insertAsync(42 as never, '2'),
      tree.insertAsync('b', {} as never),
      tree.removeAsync(null as never),
      tree.insertAsync('c', '3'),
    ])
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false, true])
    for (const r of results.slice(1, 4)) expect(r).toMatchObject({ ok: false, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } })
    expect([text(tree.get('a')), text(tree.get('b')), text(tree.get('c'))]).toEqual(['1', undefined, '3'])
  })

  it('copies the key and value at the call, though the caller changes its Buffers right after', async () => {
    const key = Buffer.from('k1')
    const value = Buffer.from('v1')
    const first = tree.insertAsync(key, value)
    key.write('k2')
    value.write('v2')
    const second = tree.insertAsync(key, value)
    await Promise.all([first, second])
    expect([text(tree.get('k1')), text(tree.get('k2'))]).toEqual(['v1', 'v2'])
  })

  it('keeps call order across ticks: a read in a later tick sees the unfinished writes of earlier ones', async () => {
    const big = Buffer.alloc(4096, 1)
    const pending: Promise<unknown>[] = []
    // three ticks of writes, none awaited, then a read in a fourth
    for (let tick = 0; tick < 3; tick++) {
      for (let i = 0; i < 500; i++) pending.push(tree.insertAsync(`k${i}`, big))
      pending.push(tree.insertAsync('last', `tick ${tick}`))
      await new Promise((resolve) => setImmediate(resolve))
    }
    const read = tree.getAsync('last')
    pending.push(tree.removeAsync('k0'))
    expect(text(await read)).toBe('tick 2')
    await Promise.all(pending)
    expect(tree.get('k0')).toBeUndefined()
    expect(tree.get('k1')).toEqual(big)
  })

  it('writes of many ticks not awaited land in call order', async () => {
    const calls: Promise<Buffer | undefined>[] = []
    for (let tick = 0; tick < 20; tick++) {
      calls.push(tree.insertAsync('k', `v${tick}`))
      await new Promise((resolve) => setImmediate(resolve))
    }
    // each resolves with the value of the call before it
    expect((await Promise.all(calls)).map(text)).toEqual([undefined, ...Array.from({ length: 19 }, (_, i) => `v${i}`)])
    expect(text(tree.get('k'))).toBe('v19')
  })

  it('inside a transaction callback they reject with SLED_TRANSACTION_MISUSE; calls outside in the same tick still run', async () => {
    let inside: Promise<unknown>[] = []
    tree.transaction(() => {
      inside = [tree.insertAsync('t', 'x'), tree.removeAsync('t'), tree.getAsync('t')]
    })
    const outside = tree.insertAsync('o', 'y')
    for (const r of await outcomes(inside)) expect(r).toMatchObject({ ok: false, error: { code: 'SLED_TRANSACTION_MISUSE' } })
    expect(await outside).toBeUndefined()
    expect(text(tree.get('t'))).toBeUndefined()
    expect(text(tree.get('o'))).toBe('y')
  })
})

describe('insertAsync / removeAsync batching: closed and dropped', () => {
  it('closing the Db in the tick of the writes rejects them all with SledClosedError, and none is written', async () => {
    const path = dbPath()
    const db = open(path)
    db.insert('r', '1')
    const pending = [...Array.from({ length: 300 }, (_, i) => db.insertAsync(`k${i}`, 'v')), db.removeAsync('r')]
    db.close()
    for (const r of await outcomes(pending)) expect(r.ok ? r : r.error).toBeInstanceOf(SledClosedError)
    const again = open(path)
    expect(again.scanPrefix('k').toArray()).toHaveLength(0)
    expect(again.get('r')?.toString()).toBe('1')
    again.close()
  })

  it('writes to a dropped tree all reject with SledCollectionNotFoundError', async () => {
    const db = open(dbPath())
    const tree = db.openTree('t')
    db.dropTree('t')
    const results = await outcomes([tree.insertAsync('a', '1'), tree.removeAsync('b'), tree.getAsync('a')])
    for (const r of results) expect(r.ok ? r : r.error).toBeInstanceOf(SledCollectionNotFoundError)
    db.close()
  })
})

describe('insertAsync / removeAsync batching with a running backup', () => {
  it('the copy holds the writes made before the backup point and none after, in call order with no gap', async () => {
    const db = open(dbPath(), { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    const key = (i: number) => `k${String(i).padStart(6, '0')}`
    for (let from = 0; from < 50_000; from += 10_000) {
      const batch = db.batch()
      for (let i = from; i < from + 10_000; i++) batch.insert(key(i), 'old')
      db.apply(batch)
    }
    const dest = join(tempDir(), 'copy')
    const running = db.backup(dest)
    // 3,000 writes, 100 per tick, each tick awaited: even keys overwritten, odd ones removed
    for (let tick = 0; tick < 30; tick++) {
      const calls = Array.from({ length: 100 }, (_, j) => {
        const i = tick * 100 + j
        return i % 2 === 0 ? db.insertAsync(key(i), 'new') : db.removeAsync(key(i))
      })
      expect(await Promise.all(calls)).toEqual(Array.from({ length: 100 }, () => 'old'))
    }
    await running
    const copy = open(dest, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    // the backup's pre-images: a prefix of the writes reached the copy, the rest did not
    const written = (i: number) => copy.get(key(i)) === (i % 2 === 0 ? 'new' : undefined)
    let point = 0
    while (point < 3000 && written(point)) point++
    for (let i = point; i < 3000; i++) expect(copy.get(key(i)), key(i)).toBe('old')
    for (let i = 3000; i < 50_000; i += 997) expect(copy.get(key(i))).toBe('old')
    copy.close()
    db.close()
  })
})

describe('getManyAsync', () => {
  it('resolves with the value of every key in key order (undefined when missing), in one call of any size', async () => {
    const db = open(dbPath())
    const tree = db.openTree<string, string>('t', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    for (let i = 0; i < 1000; i += 2) tree.insert(`k${i}`, i % 10 === 0 ? '' : `v${i}`)
    const expected = (i: number) => (i % 2 === 1 ? undefined : i % 10 === 0 ? '' : `v${i}`)
    // 1,000 keys (more than a task of reads holds), 17 (halves of 8 and 9), 1, none
    for (const n of [1000, 17, 1, 0]) {
      const keys = Array.from({ length: n }, (_, i) => `k${(i * 7) % 1000}`)
      expect(await tree.getManyAsync(keys), `${n} keys`).toEqual(keys.map((_, i) => expected((i * 7) % 1000)))
    }
    // the same key twice, and a key absent from the tree
    expect(await tree.getManyAsync(['k2', 'none', 'k2'])).toEqual(['v2', undefined, 'v2'])
    db.close()
  })

  it('reads after the …Async calls made before it on the same object, in this tick and earlier ones', async () => {
    const db = open(dbPath(), { valueEncoding: 'utf8' })
    db.insert('a', '1')
    const earlier = db.insertAsync('b', '2')
    await new Promise((resolve) => setImmediate(resolve))
    const calls = [db.insertAsync('c', '3'), db.getManyAsync(['a', 'b', 'c']), db.removeAsync('a'), db.getManyAsync(['a', 'b', 'c'])]
    expect(await Promise.all([earlier, ...calls])).toEqual([undefined, undefined, ['1', '2', '3'], '1', [undefined, '2', '3']])
    db.close()
  })

  it('rejects bad input (not an array, a bad key, named by its index) without affecting the other calls of the tick', async () => {
    const db = open(dbPath())
    db.insert('a', '1')
    const results = await outcomes<unknown>([
      db.getAsync('a'),
      db.getManyAsync('a' as never),
      db.getManyAsync(new Set(['a']) as never),
      db.getManyAsync(['a', 42 as never]),
      db.getManyAsync(['a']),
    ])
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false, true])
    for (const r of results.slice(1, 4)) expect(r).toMatchObject({ ok: false, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } })
    expect(((results[3] as { error: Error }).error).message).toContain('"keys[1]"')
    expect(results[4]).toEqual({ ok: true, value: [Buffer.from('1')] })
    db.close()
  })

  it('a hole in the keys (a sparse array) rejects the call naming keys[i]; the other calls of the tick get their own values', async () => {
    const db = open(dbPath(), { valueEncoding: 'utf8' })
    for (const k of ['a', 'b', 'x', 'y']) db.insert(k, k.toUpperCase())
    // a hole in a list of under 16 keys, and one in the second half of a longer list
    const short = ['a', 'b', 'x']
    delete short[1]
    const long = Array.from({ length: 20 }, () => 'a')
    delete long[15]
    const results = await outcomes<unknown>([db.getAsync('x'), db.getManyAsync(short), db.getManyAsync(long), db.getAsync('y')])
    expect(results[0]).toEqual({ ok: true, value: 'X' })
    expect(results[1]).toMatchObject({ ok: false, error: { code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('"keys[1]"') } })
    expect(results[2]).toMatchObject({ ok: false, error: { code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('"keys[15]"') } })
    expect(results[3]).toEqual({ ok: true, value: 'Y' })
    // nothing of the refused lists stayed queued for a later tick
    expect(await db.getAsync('y')).toBe('Y')
    expect(() => db.getMany(short)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('"keys[1]"') }))
    db.close()
  })

  it('a value its encoding cannot decode rejects the whole call; the other calls of the tick resolve', async () => {
    const db = open(dbPath())
    const tree = db.openTree<string, { n: number }>('json', { keyEncoding: 'utf8', valueEncoding: 'json' })
    tree.insert('good', { n: 1 })
    db.openTree('json').insert('bad', '{not json')
    const results = await outcomes<unknown>([tree.getManyAsync(['good', 'bad']), tree.getAsync('good')])
    expect((results[0] as { error: unknown }).error).toBeInstanceOf(SyntaxError)
    expect(results[1]).toEqual({ ok: true, value: { n: 1 } })
    db.close()
  })

  it('a closed or dropped tree rejects, named getManyAsync, also with no keys; in a transaction callback, SLED_TRANSACTION_MISUSE', async () => {
    const db = open(dbPath())
    const tree = db.openTree('t')
    db.dropTree('t')
    for (const keys of [['a'], []]) {
      const error = await tree.getManyAsync(keys).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SledCollectionNotFoundError)
      expect((error as Error).message).toMatch(/^getManyAsync on tree "t" of /)
    }
    let inside: Promise<unknown> | undefined
    db.transaction(() => {
      inside = db.getManyAsync(['a'])
    })
    await expect(inside).rejects.toMatchObject({ code: 'SLED_TRANSACTION_MISUSE' })
    db.close()
    for (const keys of [['a'], []]) {
      const error = await db.getManyAsync(keys).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SledClosedError)
      expect((error as Error).message).toMatch(/^getManyAsync on the default tree of .*: the handle is closed$/)
    }
  })

  it('closing the Db in the tick of the call rejects it with SledClosedError', async () => {
    const db = open(dbPath())
    db.insert('a', '1')
    const pending = db.getManyAsync(Array.from({ length: 10 }, () => 'a'))
    db.close()
    await expect(pending).rejects.toBeInstanceOf(SledClosedError)
  })
})

describe('a failure in the middle of a tick (the batcher, with a stand-in for the native task)', () => {
  const key = Buffer.from('k')
  it('the calls before the failed one resolve, it and the ones after reject with its error', async () => {
    const error = new Error('sled failed at the third write')
    const lists: Buffer[] = []
    const batcher = stringBatcher(async (ops) => {
      lists.push(Buffer.from(ops))
      return [packed(['a', undefined]), error]
    })
    const results = await outcomes([0, 1, 2, 3].map(() => batcher.insert(key, key)))
    expect(lists).toHaveLength(1)
    expect(results).toEqual([{ ok: true, value: 'a' }, { ok: true, value: undefined }, { ok: false, error }, { ok: false, error }])
  })

  it('a tick of many writes runs in two halves, the second only after the first has finished', async () => {
    const { batcher, seen } = timedBatcher((ops) => packed(Array.from({ length: ops.length / INSERT_BYTES }, () => 'p')))
    const { lists } = seen
    const calls = Array.from({ length: 40 }, (_, i) => batcher.insert(Buffer.from([i]), Buffer.from([i])))
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 40 }, () => 'p'))
    expect(lists).toHaveLength(2)
    expect(seen.overlapped).toBe(false)
    // the two lists are the tick's calls in call order, split in the middle
    const keys = lists.flatMap((list) => Array.from({ length: list.length / INSERT_BYTES }, (_, j) => list[j * INSERT_BYTES + 5]))
    expect(keys).toEqual(Array.from({ length: 40 }, (_, i) => i))
  })

  it('a failure in the first half of a tick of writes leaves the second half unrun: its calls reject with that error', async () => {
    const error = new Error('the store is full')
    const lists: Buffer[] = []
    const batcher = stringBatcher(async (ops) => {
      lists.push(Buffer.from(ops))
      return [packed(['x']), error]
    })
    const results = await outcomes(Array.from({ length: 40 }, () => batcher.insert(key, key)))
    // one run, of the first half only
    expect(lists.map((list) => list.length)).toEqual([20 * INSERT_BYTES])
    expect(results[0]).toEqual({ ok: true, value: 'x' })
    for (const r of results.slice(1)) expect(r).toEqual({ ok: false, error })
  })

  it('a failure in the second half rejects from the failed call on; the first half resolves', async () => {
    const error = new Error('sled failed in the second half')
    let runs = 0
    const batcher = stringBatcher(async (ops) => {
      runs++
      const count = ops.length / INSERT_BYTES
      return runs === 1 ? packed(Array.from({ length: count }, () => 'a')) : [packed(['b', 'c']), error]
    })
    const results = await outcomes(Array.from({ length: 40 }, () => batcher.insert(key, key)))
    expect(runs).toBe(2)
    for (const r of results.slice(0, 20)) expect(r).toEqual({ ok: true, value: 'a' })
    expect(results.slice(20, 22)).toEqual([{ ok: true, value: 'b' }, { ok: true, value: 'c' }])
    for (const r of results.slice(22)) expect(r).toEqual({ ok: false, error })
  })

  it('a first half that cannot start, or rejects, rejects the whole tick with its error', async () => {
    for (const fail of ['throw', 'reject'] as const) {
      const error = new Error(fail)
      const lists: Buffer[] = []
      const batcher = stringBatcher((ops) => {
        lists.push(Buffer.from(ops))
        if (fail === 'throw') throw error
        return Promise.reject(error)
      })
      const results = await outcomes(Array.from({ length: 40 }, () => batcher.insert(key, key)))
      expect(lists.map((list) => list.length)).toEqual([20 * INSERT_BYTES])
      for (const r of results) expect(r).toEqual({ ok: false, error })
    }
  })

  it('a write after 128 reads in one tick runs after them, though the reads went out early', async () => {
    const events: string[] = []
    const batcher = stringBatcher(async (ops) => {
      const kind = ops[0] === 1 /* INSERT */ ? 'write' : 'reads'
      events.push(`${kind} start`)
      await new Promise((resolve) => setTimeout(resolve, kind === 'reads' ? 20 : 1))
      events.push(`${kind} end`)
      // at least a result per op (the batcher reads as many as the task had calls)
      return packed(Array.from({ length: 128 }, () => 'v'))
    })
    const calls = [...Array.from({ length: 128 }, () => batcher.get(key)), batcher.insert(key, key)]
    await Promise.all(calls)
    // the reads went out as soon as there were 128 (in two halves, at once); the write, at
    // the tick's end, only after both had finished
    expect(events.filter((e) => e === 'reads end')).toHaveLength(2)
    expect(events.indexOf('write start')).toBeGreaterThan(events.lastIndexOf('reads end'))
  })

  it('a getManyAsync of 16 keys or more runs as two tasks of reads at once; its values come back as one array in key order', async () => {
    const { batcher, seen } = timedBatcher((ops) => packed(Array.from({ length: ops.length / GET_BYTES }, (_, j) => `v${ops[j * GET_BYTES + 5]}`)))
    const { lists } = seen
    const keys = Array.from({ length: 21 }, (_, i) => Buffer.from([i]))
    expect(await batcher.getMany(keys)).toEqual(keys.map((_, i) => `v${i}`))
    expect(lists.map((list) => list.length / GET_BYTES)).toEqual([10, 11])
    expect(seen.overlapped).toBe(true)
    // fewer than 16 keys: one task
    lists.length = 0
    expect(await batcher.getMany(keys.slice(0, 15))).toHaveLength(15)
    expect(lists).toHaveLength(1)
  })

  it("a getManyAsync whose halves both fail rejects with the first half's error, though the second settles first", async () => {
    const [early, late] = [new Error('first half'), new Error('second half')]
    let runs = 0
    const batcher = stringBatcher(async () => {
      const first = ++runs === 1
      await new Promise((resolve) => setTimeout(resolve, first ? 20 : 0))
      return [packed([]), first ? early : late]
    })
    await expect(batcher.getMany(Array.from({ length: 20 }, () => key))).rejects.toBe(early)
    expect(runs).toBe(2)
  })

  it('a key that cannot be packed leaves nothing of the getManyAsync queued: the other calls of the tick get their own values', async () => {
    const batcher = stringBatcher(async (ops) => packed(Array.from({ length: ops.length / GET_BYTES }, (_, j) => `v${ops[j * GET_BYTES + 5]}`)))
    const before = batcher.get(Buffer.from([1]))
    expect(() => batcher.getMany([Buffer.from([2]), undefined as never])).toThrow(TypeError)
    const after = batcher.get(Buffer.from([3]))
    expect(await Promise.all([before, after])).toEqual(['v1', 'v3'])
  })

  it('a getManyAsync whose reads sled failed part-way rejects with the error; a call before it in the tick resolves', async () => {
    const error = new Error('sled failed at the second read')
    const batcher = stringBatcher(async () => [packed(['a', 'b']), error])
    const results = await outcomes<unknown>([batcher.get(key), batcher.getMany([key, key, key])])
    expect(results).toEqual([{ ok: true, value: 'a' }, { ok: false, error }])
  })

  it('write tasks of later ticks are sent while one runs, in call order; reads wait for running writes and writes for running reads', async () => {
    const events: string[] = []
    const batcher = stringBatcher(async (ops, writes) => {
      const name = `${writes ? 'w' : 'r'}${ops[5]}`
      events.push(`${name} start`)
      await new Promise((resolve) => setTimeout(resolve, 5))
      events.push(`${name} end`)
      return packed(Array.from({ length: ops.length / INSERT_BYTES + 1 }, () => 'v'))
    })
    const tick = () => new Promise((resolve) => setImmediate(resolve))
    const calls: Promise<unknown>[] = []
    calls.push(batcher.insert(Buffer.from([1]), key))
    await tick()
    calls.push(batcher.insert(Buffer.from([2]), key))
    await tick()
    calls.push(batcher.get(Buffer.from([3])))
    await tick()
    calls.push(batcher.get(Buffer.from([4])))
    await tick()
    calls.push(batcher.insert(Buffer.from([5]), key))
    await Promise.all(calls)
    // w2 went out while w1 ran (the writer runs them in order); the reads waited for both
    // writes and ran together; w5 waited for both reads
    expect(events.indexOf('w2 start')).toBeLessThan(events.indexOf('w1 end'))
    expect(events.indexOf('r3 start')).toBeGreaterThan(events.indexOf('w2 end'))
    expect(events.indexOf('r4 start')).toBeLessThan(events.indexOf('r3 end'))
    expect(events.indexOf('w5 start')).toBeGreaterThan(Math.max(events.indexOf('r3 end'), events.indexOf('r4 end')))
  })
})

describe('the task threads of getAsync / insertAsync / removeAsync', () => {
  const threadNames = () =>
    readdirSync('/proc/self/task').map((t) => {
      try {
        return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim()
      } catch {
        return '' // a thread that ended meanwhile
      }
    })
  const value = Buffer.alloc(2000, 3)

  it.runIf(process.platform === 'linux').each([
    ['writing', (t: Tree<Buffer, Buffer>, i: number) => t.insertAsync(`k${i}`, value)],
    ['reading', (t: Tree<Buffer, Buffer>, i: number) => t.getAsync(`k${i}`)],
  ] as const)('2,000 Tree objects %s at once share at most 4 task threads; every call lands', async (mode, call) => {
    const db = open(dbPath())
    if (mode === 'reading') for (let i = 0; i < 2000; i++) db.openTree(`t${i % 500}`).insert(`k${i}`, value)
    let most = 0
    const sampler = setInterval(() => (most = Math.max(most, threadNames().filter((n) => n === 'sled-node-task').length)), 1)
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => call(db.openTree(`t${i % 500}`), i)))
    clearInterval(sampler)
    most = Math.max(most, threadNames().filter((n) => n === 'sled-node-task').length)
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(4)
    if (mode === 'reading') expect(results.every((r) => Buffer.isBuffer(r) && r.equals(value))).toBe(true)
    for (let i = 0; i < 2000; i += 97) expect(db.openTree(`t${i % 500}`).get(`k${i}`)).toEqual(value)
    db.close()
  })

  it.each([
    ['write', `db.insertAsync('k', 'v')`],
    ['read', `(db.insert('k', 'v'), db.getAsync('k'))`],
  ])('a pending %s keeps the process alive until it resolves; an idle task thread does not keep it', (kind, call) => {
    const res = runChild(
      `const db = sled.open(process.argv[1])
      ;${call}.then((result) => {
        console.log(JSON.stringify({ result: result === undefined ? null : String(result), stored: String(db.get('k')) }))
        // no close(): the process must still end once nothing is pending
      })`,
      [dbPath(), entry],
    )
    expectCleanExit(res)
    expect(JSON.parse(res.stdout)).toEqual({ result: kind === 'write' ? null : 'v', stored: 'v' })
  })

  it.each([
    ['writes', '', `insertAsync('k', String(i))`, `results.every((r) => r === undefined)`],
    ['reads', `for (let i = 0; i < 50; i++) db.openTree('t' + i).insert('k', String(i))`, `getAsync('k')`, `results.every((r, i) => String(r) === String(i))`],
  ])('a Tree object collected while its %s are pending still settles them', (_kind, setup, call, check) => {
    const res = runChild(
      `;(async () => {
        const db = sled.open(process.argv[1])
        ${setup}
        const pending = []
        // the Tree objects are dropped at once; only the promises are kept
        for (let i = 0; i < 50; i++) pending.push(db.openTree('t' + i).${call})
        global.gc()
        await new Promise((r) => setImmediate(r))
        global.gc()
        const results = await Promise.all(pending)
        const stored = Array.from({ length: 50 }, (_, i) => String(db.openTree('t' + i).get('k')))
        console.log(JSON.stringify({ results: ${check}, stored: stored.every((v, i) => v === String(i)) }))
        db.close()
      })().catch((e) => { console.error(e); process.exitCode = 1 })`,
      [dbPath(), entry],
      ['--expose-gc'],
    )
    expectCleanExit(res)
    expect(JSON.parse(res.stdout)).toEqual({ results: true, stored: true })
  })


  it('closing the Db while a tick of writes runs: the running task completes, later ticks reject with SledClosedError', async () => {
    const path = dbPath()
    const db = open(path)
    const big = Buffer.alloc(4096, 2)
    const first = Array.from({ length: 2000 }, (_, i) => db.insertAsync(`a${i}`, big))
    await new Promise((resolve) => setImmediate(resolve))
    const second = Array.from({ length: 10 }, (_, i) => db.insertAsync(`b${i}`, big))
    await new Promise((resolve) => setImmediate(resolve))
    db.close()
    const results = await outcomes([...first, ...second])
    for (const r of results) if (!r.ok) expect(r.error).toBeInstanceOf(SledClosedError)
    const again = open(path)
    // whatever resolved is in the database; whatever rejected is not
    results.forEach((r, i) => {
      const k = i < 2000 ? `a${i}` : `b${i - 2000}`
      expect(again.get(k) !== undefined, k).toBe(r.ok)
    })
    again.close()
  })
})

describe('a task line whose native calls throw (TaskLine, with a stand-in native line)', () => {
  type Taken = (number | boolean | Buffer | Error)[]
  const { TaskLine } = require(join(pkgDir, 'dist/src/task-line.js')) as {
    TaskLine: new (make: (notify: () => void) => unknown) => { run(tree: unknown, ops: Buffer, ordered: boolean): Promise<unknown> }
  }
  /** A native line that records its calls; each method throws while its entry in `throws` is set. */
  const standIn = () => {
    const calls: string[] = []
    const throws: { send?: Error; take?: Error; keepAlive?: Error } = {}
    let finished: Taken = []
    let notify = (): void => {}
    const line = new TaskLine((n) => {
      notify = n
      return {
        send: (_tree: unknown, _ops: Buffer, id: number, ordered: boolean) => {
          calls.push(`send ${id}${ordered ? '' : ' alone'}`)
          if (throws.send) throw throws.send
        },
        take: (): Taken => {
          calls.push('take')
          if (throws.take) throw throws.take
          const out = finished
          finished = []
          return out
        },
        keepAlive: (alive: boolean) => {
          calls.push(`keepAlive ${alive}`)
          if (throws.keepAlive) throw throws.keepAlive
        },
      }
    })
    const finish = (id: number, result: Buffer) => {
      finished.push(id, false, result)
      notify()
    }
    return { line, calls, throws, finish }
  }
  const ops = Buffer.alloc(0)

  it('a keep-alive that throws fails the call before anything is queued', async () => {
    const w = standIn()
    w.throws.keepAlive = new Error('no ref')
    expect(() => w.line.run({}, ops, true)).toThrow('no ref')
    expect(w.calls).toEqual(['keepAlive true'])
    w.throws.keepAlive = undefined
    // the next task (a task of reads, sent to run alone) starts from scratch: kept
    // alive, sent, settled, let go
    const next = w.line.run({}, ops, false)
    w.finish(2, Buffer.from('x'))
    expect(await next).toEqual(Buffer.from('x'))
    expect(w.calls).toEqual(['keepAlive true', 'keepAlive true', 'send 2 alone', 'take', 'keepAlive false'])
  })

  it('a send that throws lets go of the keep-alive it took, and queues nothing', () => {
    const w = standIn()
    w.throws.send = new Error('closed')
    expect(() => w.line.run({}, ops, true)).toThrow('closed')
    expect(w.calls).toEqual(['keepAlive true', 'send 1', 'keepAlive false'])
  })

  it('a take that throws rejects every pending task with its error; later outcomes of those tasks are ignored', async () => {
    const w = standIn()
    const a = w.line.run({}, ops, true)
    const b = w.line.run({}, ops, true)
    const error = new Error('cannot make a value')
    w.throws.take = error
    w.finish(1, Buffer.from('a'))
    const settled = await outcomes([a, b])
    expect(settled).toEqual([{ ok: false, error }, { ok: false, error }])
    expect(w.calls.slice(-2)).toEqual(['take', 'keepAlive false'])
    w.throws.take = undefined
    // task 2 finishing late settles nothing twice; a new task works
    w.finish(2, Buffer.from('b'))
    const c = w.line.run({}, ops, true)
    w.finish(3, Buffer.from('c'))
    expect(await c).toEqual(Buffer.from('c'))
  })
})
