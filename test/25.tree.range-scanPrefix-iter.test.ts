// range, scanPrefix and iter: property tests against a sorted model (bounds, reverse, limit),
// iteration while writing, and iterator lifetimes.
import { Buffer } from 'node:buffer'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { type Db, open, type RangeOptions, SledClosedError, SledCollectionNotFoundError, type Tree } from 'sled-node'
import { hex, loadTree, type Pair } from './helpers/model.js'
import { caught } from './helpers/caught.js'
import { dbPath } from './helpers/tmp.js'

// fixed seed unless one is given, so CI is reproducible; FC_RUNS raises the count for soaks
const seed = Number(process.env.FC_SEED ?? 20261125)
const numRuns = Number(process.env.FC_RUNS ?? 200)

const db: Db = open(dbPath())
afterAll(() => db.close())

// a small alphabet makes equal keys, shared prefixes and 0xff edges frequent
const keyArb = fc.uint8Array({ minLength: 0, maxLength: 4 }).map((a) => Buffer.from(a.map((b) => [0, 1, 0x7f, 0xff][b % 4] as number)))

const load = (name: string, keys: Buffer[]): { tree: Tree; model: Pair[] } => loadTree(db, name, keys)

function modelRange(model: Pair[], o: RangeOptions<Buffer>): Pair[] {
  let out = model.filter(([k]) => {
    if (o.gt !== undefined && Buffer.compare(k, o.gt as Buffer) <= 0) return false
    if (o.gte !== undefined && Buffer.compare(k, o.gte as Buffer) < 0) return false
    if (o.lt !== undefined && Buffer.compare(k, o.lt as Buffer) >= 0) return false
    if (o.lte !== undefined && Buffer.compare(k, o.lte as Buffer) > 0) return false
    return true
  })
  if (o.reverse) out = out.reverse()
  return o.limit === undefined ? out : out.slice(0, o.limit)
}

describe('range', () => {
  it('matches a sorted-array model for every bound combination, reverse and limit', () => {
    const optsArb = fc.record(
      {
        lower: fc.option(fc.tuple(fc.constantFrom('gt', 'gte'), keyArb), { nil: undefined }),
        upper: fc.option(fc.tuple(fc.constantFrom('lt', 'lte'), keyArb), { nil: undefined }),
        reverse: fc.boolean(),
        limit: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(fc.array(keyArb, { maxLength: 60 }), optsArb, (keys, o) => {
        const { tree, model } = load('range', keys)
        const opts: RangeOptions<Buffer> = {}
        if (o.lower) opts[o.lower[0] as 'gt' | 'gte'] = o.lower[1]
        if (o.upper) opts[o.upper[0] as 'lt' | 'lte'] = o.upper[1]
        if (o.reverse !== undefined) opts.reverse = o.reverse
        if (o.limit !== undefined) opts.limit = o.limit
        expect(hex(tree.range(opts))).toEqual(hex(modelRange(model, opts)))
      }),
      { seed, numRuns },
    )
  })

  it('rejects conflicting bounds and bad limits, and yields nothing for empty or inverted ranges', () => {
    const tree = load('bounds', ['a', 'b', 'c'].map((s) => Buffer.from(s))).tree
    expect(() => tree.range({ gt: 'a', gte: 'a' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => tree.range({ lt: 'a', lte: 'a' })).toThrow(TypeError)
    expect(() => tree.range({ limit: -1 })).toThrow(RangeError)
    expect(() => tree.range({ limit: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => tree.range({ limit: '3' as unknown as number })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => tree.range({ reverse: 1 as unknown as boolean })).toThrow(TypeError)
    expect(() => tree.range({ from: 'a' } as RangeOptions<Buffer>)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => tree.range({ gt: 1 as unknown as string })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(tree.range({ gt: 'b', lt: 'b' }).toArray()).toEqual([])
    expect(tree.range({ gte: 'b', lt: 'b' }).toArray()).toEqual([])
    expect(tree.range({ gte: 'c', lt: 'a' }).toArray()).toEqual([])
    expect(tree.range({ gte: 'c', lte: 'a', reverse: true }).toArray()).toEqual([])
    expect(tree.range({ limit: 0 }).toArray()).toEqual([])
    expect(tree.range({ gte: 'b', lte: 'b' }).toArray().map(([k]) => k.toString())).toEqual(['b'])
    expect(tree.iter().toArray().map(([k]) => k.toString())).toEqual(['a', 'b', 'c'])
  })
})

describe('scanPrefix', () => {
  it('matches the model for random prefixes, reverse and limit', () => {
    fc.assert(
      fc.property(fc.array(keyArb, { maxLength: 60 }), keyArb, fc.boolean(), fc.option(fc.nat({ max: 30 }), { nil: undefined }), (keys, prefix, reverse, limit) => {
        const { tree, model } = load('prefix', keys)
        let expected = model.filter(([k]) => k.subarray(0, prefix.length).equals(prefix))
        if (reverse) expected = expected.reverse()
        if (limit !== undefined) expected = expected.slice(0, limit)
        expect(hex(tree.scanPrefix(prefix, limit === undefined ? { reverse } : { reverse, limit }))).toEqual(hex(expected))
      }),
      { seed, numRuns },
    )
  })

  it('handles the empty prefix and prefixes of 0xff bytes', () => {
    const keys = [[], [0xff], [0xff, 0xff], [0xff, 0xff, 0], [0xfe, 0xff], [0]].map((a) => Buffer.from(a))
    const { tree, model } = load('ff', keys)
    expect(hex(tree.scanPrefix(''))).toEqual(hex(model))
    expect(tree.scanPrefix(Buffer.from([0xff])).toArray().map(([k]) => k.toString('hex'))).toEqual(['ff', 'ffff', 'ffff00'])
    expect(tree.scanPrefix(Buffer.from([0xff, 0xff])).toArray().map(([k]) => k.toString('hex'))).toEqual(['ffff', 'ffff00'])
    expect(tree.scanPrefix(Buffer.from([0xff, 0xff]), { reverse: true }).toArray().map(([k]) => k.toString('hex'))).toEqual(['ffff00', 'ffff'])
    expect(() => tree.scanPrefix(5 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })
})

describe('entries cut out of chunks one at a time', () => {
  it('keeps every entry of several chunks exact while earlier ones are kept', () => {
    // 6,000 entries: chunks of 16, 64, 256, 1024 and 4096 entries
    const tree = db.openTree('chunks')
    const valueOf = (i: number) => Buffer.alloc(i % 300, i % 251)
    for (let i = 0; i < 6000; i++) tree.insert(Buffer.from(String(i).padStart(5, '0')), valueOf(i))
    const kept = [...tree.iter()]
    expect(kept.length).toBe(6000)
    kept.forEach(([key, value], i) => {
      expect(key.toString()).toBe(String(i).padStart(5, '0'))
      expect(value.equals(valueOf(i))).toBe(true)
    })
  })

  it('an entry that cannot be decoded throws from its next(); the next one goes on', () => {
    const raw = db.openTree('undecodable')
    raw.insert('a', '1')
    raw.insert('b', 'not json')
    raw.insert('c', '3')
    const json = db.openTree<Buffer, unknown>('undecodable', { valueEncoding: 'json' })
    const it = json.iter()
    expect(it.next().value).toEqual([Buffer.from('a'), 1])
    expect(() => it.next()).toThrow(SyntaxError)
    expect(it.next().value).toEqual([Buffer.from('c'), 3])
    expect(it.next().done).toBe(true)
  })

  it('an async step over a buffered entry that cannot be decoded rejects (never throws); the next one goes on', async () => {
    const json = db.openTree<Buffer, unknown>('undecodable', { valueEncoding: 'json' })
    const steps = json.iter()[Symbol.asyncIterator]()
    expect((await steps.next()).value).toEqual([Buffer.from('a'), 1])
    // 'b' is buffered with 'a' (one chunk), so this step takes no pool round trip
    let step: Promise<unknown> | undefined
    expect(() => (step = steps.next())).not.toThrow()
    await expect(step).rejects.toThrow(SyntaxError)
    expect((await steps.next()).value).toEqual([Buffer.from('c'), 3])
    expect((await steps.next()).done).toBe(true)
  })
})

describe('iteration while writing', () => {
  it('never repeats a key and stays in order with interleaved inserts and removes', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => Buffer.from(String(i * 2).padStart(6, '0')))
    const { tree } = load('interleaved', keys)
    const seen: string[] = []
    let n = 0
    for (const [key] of tree.range()) {
      seen.push(key.toString())
      n++
      // insert behind and ahead of the cursor, remove ahead
      tree.insert(String(n * 3 + 1).padStart(6, '0'), 'x')
      tree.remove(String(n * 2 + 100).padStart(6, '0'))
    }
    expect(new Set(seen).size).toBe(seen.length)
    const sorted = [...seen].sort()
    expect(seen).toEqual(sorted)
  })

  it('stays ordered during insertAsync writes from another thread while iterating asynchronously', async () => {
    const { tree } = load('async-writes', Array.from({ length: 5000 }, (_, i) => Buffer.from(String(i).padStart(6, '0'))))
    const writes: Promise<unknown>[] = []
    const seen: string[] = []
    for await (const [key] of tree.range()) {
      seen.push(key.toString())
      if (seen.length % 10 === 0) writes.push(tree.insertAsync(String(Math.floor(Math.random() * 10000)).padStart(6, '0'), 'y'))
    }
    await Promise.all(writes)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen).toEqual([...seen].sort())
  })
})

describe('iterator lifetimes', () => {
  it('break closes the iterator; later next() is done', () => {
    const { tree } = load('break', ['a', 'b', 'c'].map((s) => Buffer.from(s)))
    const it = tree.iter()
    for (const _ of it) break
    expect(it.next().done).toBe(true)
  })

  it('keys(), values() and toArray()', () => {
    const { tree } = load('kv', ['a', 'b'].map((s) => Buffer.from(s)))
    expect([...tree.iter().keys()].map(String)).toEqual(['a', 'b'])
    expect([...tree.iter().values()].map((v) => v.toString('hex'))).toEqual(['0000', '0100'])
    const it = tree.iter()
    it.next()
    expect(it.toArray().map(([k]) => k.toString())).toEqual(['b'])
  })

  it('db.close() invalidates open iterators, sync and async, even with entries buffered', async () => {
    const path = dbPath()
    const local = open(path)
    for (let i = 0; i < 100; i++) local.insert(String(i).padStart(3, '0'), 'v')
    const tree = local.openTree('t')
    tree.insert('a', 'b')
    const a = local.iter()
    const b = tree.iter()
    const c = local.range()[Symbol.asyncIterator]()
    a.next()
    await c.next()
    local.close()
    expect(() => a.next()).toThrow(SledClosedError)
    expect(() => b.next()).toThrow(SledClosedError)
    await expect(c.next()).rejects.toThrow(SledClosedError)
    expect(() => local.range()).toThrow(SledClosedError)
  })

  it('a sync step while an async next() is unsettled is refused (ERR_INVALID_STATE); afterwards both share one position', async () => {
    const { tree } = load('mixed-steps', Array.from({ length: 1000 }, (_, i) => Buffer.from([i >> 8, i & 0xff])))
    const entries = tree.iter()
    const stepper = entries[Symbol.asyncIterator]()
    const first = stepper.next()
    const refused = caught(() => entries.next())
    expect(refused).toBeInstanceOf(TypeError)
    expect(refused).toMatchObject({ code: 'ERR_INVALID_STATE' })
    expect(() => [...entries]).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }))
    const seen = [((await first).value as [Buffer, Buffer])[0]]
    // settled: sync steps go on from the same position, then async ones again
    seen.push((entries.next().value as [Buffer, Buffer])[0])
    seen.push(((await stepper.next()).value as [Buffer, Buffer])[0])
    for (const [key] of entries) seen.push(key)
    expect(seen.length).toBe(1000)
    expect(seen.map((k) => k.readUInt16BE(0))).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect((await stepper.next()).done).toBe(true)
  })

  it('an iterator of a dropped tree fails with SledCollectionNotFoundError', () => {
    const { tree } = load('to-drop', Array.from({ length: 100 }, (_, i) => Buffer.from([i])))
    const it = tree.iter()
    it.next()
    db.dropTree('to-drop')
    expect(() => {
      for (const _ of it);
    }).toThrow(SledCollectionNotFoundError)
  })

  it('an iterator starts on its first step: a tree dropped before it fails then; range() itself checked the handle', () => {
    const { tree } = load('drop-before-start', [Buffer.from([1]), Buffer.from([2])])
    const it = tree.range({ limit: 5 })
    db.dropTree('drop-before-start')
    expect(() => it.next()).toThrow(SledCollectionNotFoundError)
    expect(() => tree.range()).toThrow(SledCollectionNotFoundError)
    expect(() => tree.scanPrefix('')).toThrow(SledCollectionNotFoundError)
  })

  it('bounds and prefixes are copied when range() / scanPrefix() is called, not when it starts', () => {
    const { tree } = load('bounds-copied', [Buffer.from([1]), Buffer.from([2]), Buffer.from([3])])
    const gte = Buffer.from([2])
    const prefix = Buffer.from([3])
    const range = tree.range({ gte })
    const scan = tree.scanPrefix(prefix)
    gte[0] = 3
    prefix[0] = 1
    expect(range.toArray().map(([k]) => k[0])).toEqual([2, 3])
    expect(scan.toArray().map(([k]) => k[0])).toEqual([3])
  })

  it('a step pending when the iterator is closed is done, with or without a chunk read meanwhile', async () => {
    const { tree } = load('closed-pending', Array.from({ length: 300 }, (_, i) => Buffer.from([i >> 8, i & 0xff])))
    for (const close of [(it: ReturnType<Tree['iter']>) => it.close(), (it: ReturnType<Tree['iter']>) => it.return()]) {
      // closed before the pool read starts (same tick), and while it runs (a later tick)
      for (const later of [false, true]) {
        const it = tree.iter()
        const steps = it[Symbol.asyncIterator]()
        for (let i = 0; i < 16; i++) await steps.next() // the first chunk, all taken
        const pending = steps.next() // needs the next chunk
        if (later) await new Promise((resolve) => setImmediate(resolve))
        close(it)
        expect(await pending).toEqual({ done: true, value: undefined })
        expect(await steps.next()).toEqual({ done: true, value: undefined })
        expect(it.next().done).toBe(true)
      }
    }
  })

  it('async steps yield what sync steps do, across chunks, also when several are in flight', async () => {
    const keys = Array.from({ length: 6000 }, (_, i) => Buffer.from([i >> 8, i & 0xff]))
    const { tree } = load('async-like-sync', keys)
    const sync = tree.iter().toArray()
    const one: [Buffer, Buffer][] = []
    for await (const entry of tree.iter()) one.push(entry)
    expect(one).toEqual(sync)
    const steps = tree.iter()[Symbol.asyncIterator]()
    const many: [Buffer, Buffer][] = []
    for (;;) {
      // 7 in flight at once, some over buffered entries, some waiting for a chunk
      const batch = await Promise.all(Array.from({ length: 7 }, () => steps.next()))
      for (const r of batch) if (!r.done) many.push(r.value)
      if (batch.some((r) => r.done)) break
    }
    expect(many).toEqual(sync)
  })

  it('chunks read ahead for async steps come in order when sync and async steps alternate', async () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => Buffer.from([i >> 8, i & 0xff]))
    const { tree } = load('ahead-alternating', keys)
    const entries = tree.iter()
    const steps = entries[Symbol.asyncIterator]()
    const seen: number[] = []
    for (let turn = 0; ; turn++) {
      // runs of 1 to 3,000 steps, each ending anywhere in a chunk
      const run = 1 + ((turn * 7919) % 3000)
      let done = false
      for (let i = 0; i < run && !done; i++) {
        const r = turn % 2 ? entries.next() : await steps.next()
        if (r.done) done = true
        else seen.push(r.value[0].readUInt16BE(0))
      }
      if (done) break
    }
    expect(seen).toEqual(Array.from({ length: 20_000 }, (_, i) => i))
  })

  it('a tree dropped during async iteration: the chunk being taken is delivered, the next fetch throws (a chunk read ahead is dropped)', async () => {
    const { tree } = load('ahead-dropped', Array.from({ length: 2000 }, (_, i) => Buffer.from([i >> 8, i & 0xff])))
    const steps = tree.iter()[Symbol.asyncIterator]()
    for (let i = 0; i < 16 + 10; i++) await steps.next() // into the second chunk (64); the third is read ahead
    await new Promise((resolve) => setTimeout(resolve, 20)) // the read ahead has ended
    db.dropTree('ahead-dropped')
    let delivered = 0
    const err = await (async () => {
      for (;;) {
        const r = await steps.next()
        if (r.done) return undefined
        delivered++
      }
    })().catch((e: unknown) => e)
    expect(delivered).toBe(64 - 10)
    expect(err).toBeInstanceOf(SledCollectionNotFoundError)
  })

  it('a range closed before its first step yields nothing and reads nothing', async () => {
    const { tree } = load('closed-early', [Buffer.from([1])])
    const it = tree.range()
    it.close()
    expect(it.next().done).toBe(true)
    const later = tree.range()
    expect((await later[Symbol.asyncIterator]().next()).value[0]).toEqual(Buffer.from([1]))
  })

  it('for await over 100,000 entries lets the event loop turn between chunks', async () => {
    const tree = db.openTree<Buffer, Buffer>('big')
    tree.clear()
    for (let i = 0; i < 100_000; i++) tree.insert(String(i).padStart(8, '0'), 'v')
    let sinceTurn = 0
    let maxBetweenTurns = 0
    let turns = 0
    let intervalTicks = 0
    let running = true
    const spin = () => {
      turns++
      maxBetweenTurns = Math.max(maxBetweenTurns, sinceTurn)
      sinceTurn = 0
      if (running) setImmediate(spin)
    }
    setImmediate(spin)
    const interval = setInterval(() => intervalTicks++, 1)
    let count = 0
    for await (const _ of tree.range()) {
      count++
      sinceTurn++
    }
    running = false
    clearInterval(interval)
    expect(count).toBe(100_000)
    expect(turns).toBeGreaterThan(10)
    // one chunk holds at most 4096 entries (crates/sled-node/src/iter.rs MAX_CHUNK)
    expect(maxBetweenTurns).toBeLessThanOrEqual(4096)
    expect(intervalTicks).toBeGreaterThan(0)
  })
})
