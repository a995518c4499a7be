// Batch: chaining and length, atomic apply/applyAsync where the last operation on a
// key wins, bytes copied at insert(), tree.batch(), argument errors, and atomicity
// seen from a reader in another thread while batches are applied.
import { Buffer } from 'node:buffer'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { afterAll, describe, expect, it } from 'vitest'
import { Batch, type Db, open, SledClosedError } from 'sled-node'
import { dbPath } from './helpers/tmp.js'

const entry = createRequire(import.meta.url).resolve('sled-node')

const db: Db = open(dbPath())
afterAll(() => db.close())

const str = (v: Buffer | undefined): string | undefined => v?.toString('utf8')

describe('Batch building', () => {
  it('insert and remove chain (return the batch) and count operations in length', () => {
    const b = new Batch()
    expect(b.length).toBe(0)
    expect(b.insert('a', '1')).toBe(b)
    expect(b.remove('b')).toBe(b)
    expect(b.length).toBe(2)
    b.insert('a', '2').insert('c', '3').remove('a')
    expect(b.length).toBe(5)
    // repeated operations on one key all count
    expect(new Batch().insert('k', 'v').insert('k', 'v').length).toBe(2)
  })

  it('accepts Buffer, Uint8Array views and strings, and empty keys and values', () => {
    const tree = db.openTree('inputs')
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9])
    const view = backing.subarray(2, 5) // [1, 2, 3]
    tree.apply(new Batch().insert(view, Buffer.from([0xff, 0])).insert('', '').insert('s', view))
    expect(tree.get(Buffer.from([1, 2, 3]))).toEqual(Buffer.from([0xff, 0]))
    expect(tree.get('')).toEqual(Buffer.alloc(0))
    expect(tree.get('s')).toEqual(Buffer.from([1, 2, 3]))
    expect(tree.len()).toBe(3)
  })
})

describe('apply', () => {
  it('applies every operation, and the last operation on a key wins', () => {
    const tree = db.openTree('last-wins')
    tree.insert('gone', 'x')
    tree.insert('kept', 'x')
    const batch = new Batch()
      .insert('a', '1')
      .insert('a', '2') // insert after insert: 2
      .insert('b', '1')
      .remove('b') // remove after insert: absent
      .remove('c')
      .insert('c', '3') // insert after remove: 3
      .remove('gone') // remove of an existing key
      .insert('kept', 'y')
    expect(tree.apply(batch)).toBeUndefined()
    expect(str(tree.get('a'))).toBe('2')
    expect(tree.get('b')).toBeUndefined()
    expect(str(tree.get('c'))).toBe('3')
    expect(tree.get('gone')).toBeUndefined()
    expect(str(tree.get('kept'))).toBe('y')
    expect(tree.len()).toBe(3)
  })

  it('applyAsync resolves to undefined with the same semantics', async () => {
    const tree = db.openTree('last-wins-async')
    tree.insert('gone', 'x')
    const batch = new Batch().insert('a', '1').insert('a', '2').insert('b', '1').remove('b').remove('gone').insert('z', '')
    await expect(tree.applyAsync(batch)).resolves.toBeUndefined()
    expect(tree.iter().toArray().map(([k, v]) => [k.toString(), v.toString()])).toEqual([
      ['a', '2'],
      ['z', ''],
    ])
  })

  it('an empty batch is a no-op', async () => {
    const tree = db.openTree('empty-batch')
    tree.insert('k', 'v')
    tree.apply(new Batch())
    await tree.applyAsync(new Batch())
    expect(tree.iter().toArray()).toEqual([[Buffer.from('k'), Buffer.from('v')]])
  })

  it('writes only into the tree it is applied to', () => {
    const a = db.openTree('target-a')
    const b = db.openTree('target-b')
    a.apply(new Batch().insert('k', 'in-a'))
    expect(str(a.get('k'))).toBe('in-a')
    expect(b.get('k')).toBeUndefined()
    expect(db.get('k')).toBeUndefined()
  })

  it('a batch can be applied again, and extended after being applied', () => {
    const tree = db.openTree('reapply')
    const batch = new Batch().insert('a', '1')
    tree.apply(batch)
    tree.remove('a')
    tree.apply(batch)
    expect(str(tree.get('a'))).toBe('1')
    batch.insert('b', '2')
    expect(batch.length).toBe(2)
    tree.apply(batch)
    expect(str(tree.get('b'))).toBe('2')
  })

  it('copies bytes at insert(): mutating the Buffers afterwards does not change what is applied', async () => {
    for (const how of ['sync', 'async'] as const) {
      const tree = db.openTree(`copy-${how}`)
      const key = Buffer.from('key')
      const value = Buffer.from('original')
      const removed = Buffer.from('doomed')
      tree.insert('doomed', 'x')
      tree.insert('other', 'x')
      const batch = tree.batch().insert(key, value).remove(removed)
      key.write('KEY')
      value.fill('z')
      removed.write('other')
      if (how === 'sync') tree.apply(batch)
      else await tree.applyAsync(batch)
      expect(str(tree.get('key'))).toBe('original')
      expect(tree.get('KEY')).toBeUndefined()
      expect(tree.get('doomed')).toBeUndefined()
      expect(str(tree.get('other'))).toBe('x')
    }
  })

  it('tree.batch() returns a fresh Batch usable with that tree (and any other)', () => {
    const tree = db.openTree('tree-batch')
    const b1 = tree.batch()
    const b2 = tree.batch()
    expect(b1).toBeInstanceOf(Batch)
    expect(b1).not.toBe(b2)
    expect(b1.length).toBe(0)
    b1.insert('x', '1').insert('y', '2').remove('x')
    expect(b1.length).toBe(3)
    tree.apply(b1)
    expect(tree.get('x')).toBeUndefined()
    expect(str(tree.get('y'))).toBe('2')
    // db.batch() works the same way on the default tree
    db.apply(db.batch().insert('from-db-batch', 'v'))
    expect(str(db.get('from-db-batch'))).toBe('v')
  })
})

describe('applyAsync in call order with the …Async calls', () => {
  const ROUNDS = 200

  it('runs after the unawaited insertAsync / removeAsync / getAsync calls before it, and the later ones run after it', async () => {
    const tree = db.openTree('ordered-apply')
    for (let round = 0; round < ROUNDS; round++) {
      const k = `k${round}`
      const before = tree.insertAsync(k, 'before')
      const readBefore = tree.getAsync(k)
      const applied = tree.applyAsync(new Batch().insert(k, 'batch').insert(`${k}-gone`, 'x'))
      const readAfter = tree.getAsync(k)
      const removed = tree.removeAsync(`${k}-gone`)
      expect(await before).toBeUndefined()
      expect(str(await readBefore)).toBe('before')
      expect(await applied).toBeUndefined()
      expect(str(await readAfter)).toBe('batch')
      expect(str(await removed)).toBe('x')
    }
    // and a batch removing what an unawaited insert made just before it
    for (let round = 0; round < ROUNDS; round++) {
      void tree.insertAsync(`r${round}`, 'v')
      await tree.applyAsync(new Batch().remove(`r${round}`))
      expect(tree.get(`r${round}`)).toBeUndefined()
    }
  })

  it('a burst of calls on either side of applyAsync calls, across ticks, keeps call order', async () => {
    const tree = db.openTree('ordered-apply-burst')
    const pending: Promise<unknown>[] = []
    for (let i = 0; i < 50; i++) {
      pending.push(tree.insertAsync('n', String(i * 3)))
      pending.push(tree.applyAsync(new Batch().insert('n', String(i * 3 + 1))))
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve))
      pending.push(tree.applyAsync(new Batch().insert('n', String(i * 3 + 2))))
      pending.push(tree.getAsync('n').then((v) => expect(str(v)).toBe(String(i * 3 + 2))))
    }
    await Promise.all(pending)
    expect(str(tree.get('n'))).toBe('149')
  })

  it('a batch of 64 KiB or more (a task of its own) keeps the same order with the calls around it', async () => {
    const tree = db.openTree('ordered-apply-large')
    const large = Buffer.alloc(100_000, 7)
    for (let round = 0; round < 50; round++) {
      const k = `k${round}`
      const calls = [tree.insertAsync(k, 'before'), tree.getAsync(k)]
      const batch = new Batch().insert(k, large).insert(`${k}-other`, large)
      const applied = tree.applyAsync(batch)
      batch.remove(k)
      const after = [tree.getAsync(k), tree.insertAsync(`${k}-other`, 'after')]
      expect(await calls[0]).toBeUndefined()
      expect(str(await calls[1])).toBe('before')
      expect(await applied).toBeUndefined()
      expect(await after[0]).toEqual(large)
      expect(await after[1]).toEqual(large)
      expect(str(tree.get(`${k}-other`))).toBe('after')
    }
  })

  it('takes the batch when called, also when it has to wait for earlier calls', async () => {
    const tree = db.openTree('ordered-apply-snapshot')
    const earlier = Array.from({ length: 100 }, (_, i) => tree.insertAsync(`e${i}`, 'v'))
    const batch = tree.batch().insert('a', '1')
    const applied = tree.applyAsync(batch)
    batch.insert('b', '2').remove('a')
    await Promise.all([...earlier, applied])
    expect(str(tree.get('a'))).toBe('1')
    expect(tree.get('b')).toBeUndefined()
  })

  it('a close before the tick goes out rejects the batch and the calls around it; a batch refused at the call rejects alone', async () => {
    const closing = open(dbPath())
    const tree = closing.openTree('t')
    const calls = [tree.insertAsync('a', '1'), tree.applyAsync(new Batch().insert('b', '2')), tree.getAsync('a')]
    closing.close()
    // the tick had not gone out: each call rejects with the closed error, and none hangs
    for (const call of await Promise.allSettled(calls)) {
      expect(call.status === 'rejected' && call.reason).toBeInstanceOf(SledClosedError)
    }
    // a malformed batch is refused at the call; the calls around it go on
    const other = db.openTree('ordered-apply-bad')
    const first = other.insertAsync('x', '1')
    const bad = other.applyAsync({} as unknown as Batch)
    const next = other.getAsync('x')
    await expect(bad).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
    expect(await first).toBeUndefined()
    expect(str(await next)).toBe('1')
  })
})

describe('bad input', () => {
  it('apply / applyAsync of something that is not a Batch throw / reject TypeError ERR_INVALID_ARG_TYPE', async () => {
    const tree = db.openTree('bad')
    const code = { code: 'ERR_INVALID_ARG_TYPE' }
    for (const bad of [{}, null, undefined, [], 'batch', { insert() {}, remove() {}, length: 0 }]) {
      expect(() => tree.apply(bad as unknown as Batch)).toThrow(TypeError)
      expect(() => tree.apply(bad as unknown as Batch)).toThrow(expect.objectContaining(code))
      await expect(tree.applyAsync(bad as unknown as Batch)).rejects.toThrow(expect.objectContaining(code))
      await expect(tree.applyAsync(bad as unknown as Batch)).rejects.toBeInstanceOf(TypeError)
    }
    expect(tree.len()).toBe(0)
  })

  it('insert / remove with a number or other non-bytes key or value throw TypeError and add nothing', () => {
    const b = new Batch()
    const code = { code: 'ERR_INVALID_ARG_TYPE' }
    expect(() => b.insert(1 as unknown as string, 'v')).toThrow(TypeError)
    expect(() => b.insert(1 as unknown as string, 'v')).toThrow(expect.objectContaining(code))
    expect(() => b.insert('k', 1 as unknown as string)).toThrow(expect.objectContaining(code))
    expect(() => b.insert(null as unknown as string, 'v')).toThrow(TypeError)
    expect(() => b.insert('k', undefined as unknown as string)).toThrow(TypeError)
    expect(() => b.insert({} as unknown as string, 'v')).toThrow(TypeError)
    expect(() => b.remove(1 as unknown as string)).toThrow(expect.objectContaining(code))
    expect(() => b.remove(undefined as unknown as string)).toThrow(TypeError)
    expect(b.length).toBe(0)
  })

  it('apply on a closed database throws SledClosedError', async () => {
    const closed = open(dbPath())
    const tree = closed.openTree('t')
    closed.close()
    expect(() => closed.apply(new Batch().insert('a', 'b'))).toThrow(SledClosedError)
    expect(() => tree.apply(new Batch().insert('a', 'b'))).toThrow(SledClosedError)
    await expect(tree.applyAsync(new Batch().insert('a', 'b'))).rejects.toBeInstanceOf(SledClosedError)
  })
})

describe('atomicity under concurrency', () => {
  it('a reader in another thread never sees a batch half applied', async () => {
    const path = dbPath()
    const main = open(path)
    try {
      const tree = main.openTree('atomic')
      const KEYS = Array.from({ length: 16 }, (_, i) => `k${String(i).padStart(2, '0')}`)
      tree.apply(KEYS.reduce((b, k) => b.insert(k, '0'), new Batch()))

      // [0] stop flag, [1] distinct generations the reader has seen so far
      const shared = new Int32Array(new SharedArrayBuffer(8))
      const reader = new Worker(
        `
const { parentPort, workerData } = require('node:worker_threads')
const sled = require(${JSON.stringify(entry)})
const { path, keys, shared } = workerData
const db = sled.open(path)
const tree = db.openTree('atomic')
const show = (v) => (v === undefined ? 'absent' : v.toString())
const keyBufs = keys.map((k) => Buffer.from(k))
const reversed = [...keyBufs].reverse()
const gen = (v) => (v === undefined ? -1 : Number(v.toString()))
const stats = { txReads: 0, orderedReads: 0, mixedTx: [], regressions: [], generations: 0 }
const seen = new Set()
let first = true
while (Atomics.load(shared, 0) === 0) {
  // 1. all keys read inside one transaction: one consistent view, all equal
  const values = tree.transaction((tx) => keyBufs.map((k) => show(tx.get(k))))
  stats.txReads++
  if (new Set(values).size !== 1 && stats.mixedTx.length < 5) stats.mixedTx.push(values)
  if (!seen.has(values[0])) {
    seen.add(values[0])
    Atomics.store(shared, 1, seen.size)
  }
  // 2. plain reads one key after another (getMany, then reverse order): a batch
  //    that appeared between two reads may make later keys newer, never older
  //    (generations only grow; a removed generation counts as -1 and is treated
  //    as "any", since it sits between two growing generations)
  for (const order of [keyBufs, reversed]) {
    const vals = tree.getMany(order)
    stats.orderedReads++
    let max = -1
    for (const v of vals) {
      const g = gen(v)
      if (g === -1) continue
      if (g < max && stats.regressions.length < 5) stats.regressions.push(vals.map(show))
      max = Math.max(max, g)
    }
  }
  if (first) {
    first = false
    parentPort.postMessage('ready')
  }
}
stats.generations = seen.size
db.close()
parentPort.postMessage(stats)
`,
        { eval: true, workerData: { path, keys: KEYS, shared } },
      )
      const exited = once(reader, 'exit')
      const failed = new Promise<never>((_, reject) => {
        reader.once('error', reject)
        reader.once('exit', (code) => reject(new Error(`reader exited early with ${code}`)))
      })
      await Promise.race([once(reader, 'message'), failed])

      // every batch sets all keys to the same generation; every 7th removes them all
      let generation = 0
      const MIN = 3_000
      const MAX = 200_000
      while (generation < MIN || (Atomics.load(shared, 1) < 50 && generation < MAX)) {
        generation++
        const batch = new Batch()
        if (generation % 7 === 0) for (const k of KEYS) batch.remove(k)
        else for (const k of KEYS) batch.insert(k, String(generation))
        if (generation % 2 === 0) await tree.applyAsync(batch)
        else tree.apply(batch)
        if (generation % 100 === 0) await new Promise((r) => setImmediate(r))
      }

      Atomics.store(shared, 0, 1)
      const [stats] = (await Promise.race([once(reader, 'message'), failed])) as [
        { txReads: number; orderedReads: number; mixedTx: string[][]; regressions: string[][]; generations: number },
      ]
      console.log(
        `batch atomicity: ${generation} batches applied; reader did ${stats.txReads} transactional reads and ` +
          `${stats.orderedReads} ordered getMany reads of ${KEYS.length} keys, seeing ${stats.generations} distinct generations`,
      )
      await exited
      expect(stats.mixedTx).toEqual([])
      expect(stats.regressions).toEqual([])
      expect(stats.txReads).toBeGreaterThan(0)
      // the reads really overlapped the writes
      expect(stats.generations).toBeGreaterThan(1)
      // the final state is the last generation, everywhere
      const last = generation % 7 === 0 ? undefined : String(generation)
      expect(tree.getMany(KEYS).map(str)).toEqual(KEYS.map(() => last))
    } finally {
      main.close()
    }
  })
})
