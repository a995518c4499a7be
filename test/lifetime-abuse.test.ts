// Lifetime abuse: closing while async operations, iterators and subscribers are in
// flight (each completes or rejects with SledClosedError, none hangs: every wait is
// under a hang guard); closing from inside callbacks; thousands of open/close cycles of
// one path without leaking descriptors or threads; handles, trees, iterators and
// subscribers dropped without closing and collected (in a child with --expose-gc).
// SLED_SOAK=1 runs 10,000 full open/close cycles instead of 1,000 and more close rounds.
import { Buffer } from 'node:buffer'
import { readdirSync, readFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { Batch, open, openAsync, SledClosedError, SledCollectionNotFoundError, SledError } from 'sled-node'
import { caught } from './helpers/caught.js'
import { entry, expectCleanExit, runChild } from './helpers/child.js'
import { settled } from './helpers/settled.js'
import { dbPath } from './helpers/tmp.js'

const soak = Boolean(process.env.SLED_SOAK)
const ROUNDS = soak ? 60 : 12
const FULL_CYCLES = soak ? 10_000 : 1_000
const SHARED_CYCLES = 10_000

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * `p`'s outcome, with its rejection handled at once: a promise rejected while the test
 * awaits something else (closeAsync) must not count as an unhandled rejection.
 */
function outcome<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  return p.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  )
}

function expectClosed(error: unknown, what: string): void {
  expect(error, what).toBeInstanceOf(SledClosedError)
  expect((error as SledClosedError).code, what).toBe('SLED_CLOSED')
}

describe('close while work is in flight', () => {
  it.each(['close', 'closeAsync'] as const)(
    '%s: every async get/getMany/insert/remove/apply/flush completes or rejects with SledClosedError, and only the completed writes are stored',
    async (closer) => {
      const path = dbPath()
      const tally = { completed: 0, rejected: 0 }
      for (let round = 0; round < ROUNDS; round++) {
        const db = open(path)
        const tree = db.openTree('t')
        const targets = [db, tree] as const
        for (const target of targets) for (let i = 0; i < 40; i++) target.insert(`r${round}-${i}`, 'to remove')
        type Op = { kind: string; target: number; keys: string[]; promise: Promise<PromiseSettledResult<unknown>> }
        const ops: Op[] = []
        for (let i = 0; i < 40; i++) {
          const target = i % 2
          const t = targets[target]!
          const key = `${round}-${i}`
          switch (i % 5) {
            case 0: {
              // every other read a getManyAsync of 20 keys (two halves, two tasks at once)
              const read: Promise<unknown> = i % 10 === 0 ? t.getAsync(`r${round}-${i}`) : t.getManyAsync(Array.from({ length: 20 }, (_, j) => `r${round}-${j}`))
              ops.push({ kind: 'get', target, keys: [], promise: outcome(read) })
              break
            }
            case 1:
              ops.push({ kind: 'insert', target, keys: [`i${key}`], promise: outcome(t.insertAsync(`i${key}`, `v${key}`)) })
              break
            case 2:
              ops.push({ kind: 'remove', target, keys: [`r${round}-${i}`], promise: outcome(t.removeAsync(`r${round}-${i}`)) })
              break
            case 3:
              ops.push({
                kind: 'apply',
                target,
                keys: [`a${key}`, `b${key}`],
                promise: outcome(t.applyAsync(new Batch().insert(`a${key}`, `v${key}`).insert(`b${key}`, `v${key}`))),
              })
              break
            default:
              ops.push({ kind: 'flush', target, keys: [], promise: outcome(t.flushAsync()) })
          }
        }
        // close at a different stage of the work each round
        for (let i = 0; i < round % 4; i++) await turn()
        if (closer === 'close') db.close()
        else await settled(db.closeAsync(), 'closeAsync')
        expect(db.closed).toBe(true)
        expect(tree.closed).toBe(true)
        const outcomes = await settled(Promise.all(ops.map((op) => op.promise)), `round ${round}'s operations`)

        const again = open(path)
        const againTrees = [again, again.openTree('t')] as const
        outcomes.forEach((outcome, i) => {
          const op = ops[i]!
          const t = againTrees[op.target]!
          const what = `round ${round} op ${i} (${op.kind})`
          if (outcome.status === 'rejected') {
            tally.rejected++
            expectClosed(outcome.reason, what)
            // a rejected write wrote nothing (a remove that was refused leaves its key)
            if (op.kind === 'insert' || op.kind === 'apply') for (const k of op.keys) expect(t.containsKey(k), what).toBe(false)
            if (op.kind === 'remove') expect(t.containsKey(op.keys[0]!), what).toBe(true)
          } else {
            tally.completed++
            if (op.kind === 'insert' || op.kind === 'apply') for (const k of op.keys) expect(t.containsKey(k), what).toBe(true)
            if (op.kind === 'remove') expect(t.containsKey(op.keys[0]!), what).toBe(false)
          }
        })
        again.close()
      }
      console.log(`${closer}: ${tally.completed} operations completed, ${tally.rejected} rejected with SledClosedError over ${ROUNDS} rounds`)
    },
    soak ? 600_000 : 120_000,
  )

  it.each(['close', 'closeAsync'] as const)(
    '%s: sync iterators fail on their next step, for await loops end with SledClosedError or complete, pending async steps settle',
    async (closer) => {
      const path = dbPath()
      const seed = open(path)
      const N = 20_000
      for (const target of [seed, seed.openTree('t')]) {
        const batch = new Batch()
        for (let i = 0; i < N; i++) batch.insert(String(i).padStart(6, '0'), `value ${i}`)
        target.apply(batch)
      }
      seed.close()

      for (let round = 0; round < ROUNDS; round++) {
        const db = open(path)
        const tree = db.openTree('t')
        const sync = tree.range({ gte: '001000' })
        expect(sync.next().value?.[0].toString()).toBe('001000')
        const prefix = db.scanPrefix('01')
        prefix.next()
        // a for await loop that is mid-way when the handle closes
        const loops = [db, tree].map(async (t) => {
          let seen = 0
          try {
            for await (const [k] of t.iter()) {
              expect(k.length).toBe(6)
              seen++
            }
            return { ended: 'complete', seen }
          } catch (error) {
            expectClosed(error, 'for await')
            return { ended: 'closed', seen }
          }
        })
        // an async step whose chunk is being fetched on the libuv pool right now
        const pending = outcome(tree.range({ reverse: true })[Symbol.asyncIterator]().next())
        for (let i = 0; i < round % 5; i++) await turn()
        if (closer === 'close') db.close()
        else await settled(db.closeAsync(), 'closeAsync')

        for (const result of await settled(Promise.all(loops), 'the for await loops')) {
          if (result.ended === 'complete') expect(result.seen).toBe(N)
          else expect(result.seen).toBeLessThan(N)
        }
        const step = await settled(pending, 'the pending async step')
        if (step.status === 'rejected') expectClosed(step.reason, 'pending async step')
        else expect(step.value.value?.[0].toString()).toBe(String(N - 1).padStart(6, '0'))
        expectClosed(caught(() => sync.next()), 'sync iterator after close')
        expectClosed(caught(() => prefix.next()), 'prefix iterator after close')
        // closing an iterator of a closed handle is fine, and so is doing it twice
        expect(() => sync.close()).not.toThrow()
        expect(() => prefix.return()).not.toThrow()
        expect(() => sync.close()).not.toThrow()
      }
      // nothing was written by all this; the data is intact
      const again = open(path)
      expect(again.len()).toBe(N)
      expect(again.openTree('t').len()).toBe(N)
      again.close()
    },
    soak ? 600_000 : 120_000,
  )

  it.each(['close', 'closeAsync'] as const)(
    '%s: pending, queued, looping and aborted subscribers all end; a subscriber of another handle keeps working',
    async (closer) => {
      const path = dbPath()
      for (let round = 0; round < ROUNDS; round++) {
        const db = open(path)
        const tree = db.openTree('t')
        const other = open(path)
        const otherSub = other.watchPrefix('')

        const waiting = tree.watchPrefix('never')
        const pendingNext = outcome(waiting.next())
        const queued = db.watchPrefix('q')
        db.insert('q1', '1')
        db.insert('q2', '2')
        const controller = new AbortController()
        const aborted = tree.watchPrefix('', { signal: controller.signal })
        const abortedNext = aborted.next()
        controller.abort()
        // a for await loop consuming events while writes keep coming from the pool
        const looping = db.watchPrefix('w')
        const loop = (async () => {
          let seen = 0
          try {
            for await (const event of looping) {
              expect(event.key.toString().startsWith('w')).toBe(true)
              seen++
            }
            return { ended: 'done', seen }
          } catch (error) {
            expectClosed(error, 'subscriber for await')
            return { ended: 'closed', seen }
          }
        })()
        const writes = Array.from({ length: 30 }, (_, i) => outcome(db.insertAsync(`w${round}-${i}`, 'x')))
        for (let i = 0; i < round % 4; i++) await turn()
        if (closer === 'close') db.close()
        else await settled(db.closeAsync(), 'closeAsync')

        const waited = await settled(pendingNext, 'a pending next()')
        expect(waited.status).toBe('rejected')
        expectClosed((waited as PromiseRejectedResult).reason, 'pending next() on close')
        await expect(settled(queued.next(), 'next() on a subscriber with queued events')).rejects.toBeInstanceOf(SledClosedError)
        expect(await settled(abortedNext, 'an aborted subscriber')).toEqual({ done: true, value: undefined })
        const ended = await settled(loop, 'the subscriber for await loop')
        expect(['done', 'closed']).toContain(ended.ended)
        for (const write of await settled(Promise.all(writes), 'the racing writes')) {
          if (write.status === 'rejected') expectClosed(write.reason, 'racing write')
        }
        // after close, every subscriber of the closed handle fails or is done, promptly
        for (const sub of [waiting, queued, looping]) {
          const after = await settled(outcome(sub.next()), 'next() after close')
          if (after.status === 'rejected') expectClosed(after.reason, 'next() after close')
          else expect(after.value).toEqual({ done: true, value: undefined })
          expect(() => sub.close()).not.toThrow()
        }
        // the other handle's subscriber was not touched by this close (a new value each
        // round: rewriting an equal value emits no event)
        other.insert('still', `here ${round}`)
        const event = await settled(otherSub.next(), "the other handle's subscriber")
        expect(event.done).toBe(false)
        other.close()
      }
    },
    soak ? 600_000 : 120_000,
  )

  it('close() called from inside callbacks: the callback finishes, nothing half-written, later calls fail closed', async () => {
    const path = dbPath()
    // update function: the compare-and-swap after it finds the handle closed
    let db = open(path)
    db.insert('k', 'before')
    expectClosed(
      caught(() =>
        db.updateAndFetch('k', () => {
          db.close()
          return 'after'
        }),
      ),
      'updateAndFetch',
    )
    // merge operator
    db = open(path)
    db.setMergeOperator((_k, _old, v) => {
      db.close()
      return v
    })
    expectClosed(
      caught(() => db.merge('k', 'merged')),
      'merge',
    )
    // codec encode and decode
    db = open(path)
    const coded = db.openTree<string, string>('c', {
      valueEncoding: {
        encode: (v: string) => {
          db.close()
          return Buffer.from(v)
        },
        decode: (b: Uint8Array) => Buffer.from(b).toString(),
      },
    })
    expectClosed(
      caught(() => coded.insert('k', 'v')),
      'codec encode',
    )
    // a transaction callback may not close: refused, and the handle stays usable
    db = open(path)
    const misuse = caught(() =>
      db.transaction((tx) => {
        tx.insert('k', 'in tx')
        db.close()
      }),
    )
    expect(misuse).toBeInstanceOf(SledError)
    expect((misuse as SledError).code).toBe('SLED_TRANSACTION_MISUSE')
    expect(db.closed).toBe(false)
    expect(db.get('k')?.toString()).toBe('before')
    // the body of a for…of over an iterator, and of a for await over a subscriber
    for (let i = 0; i < 100; i++) db.insert(`i${String(i).padStart(3, '0')}`, 'x')
    let seen = 0
    expectClosed(
      caught(() => {
        for (const _ of db.scanPrefix('i')) {
          if (++seen === 10) db.close()
        }
      }),
      'iterator loop body',
    )
    expect(seen).toBe(10)
    db = open(path)
    const sub = db.watchPrefix('s')
    const loop = (async () => {
      for await (const _ of sub) db.close()
    })()
    db.insert('s1', 'x')
    await expect(settled(loop, 'for await over a subscriber closed in its body')).rejects.toBeInstanceOf(SledClosedError)
    // nothing was half-written by any of it
    const again = open(path)
    expect(again.get('k')?.toString()).toBe('before')
    expect(again.openTree('c').len()).toBe(0)
    again.close()
  })
})

describe('dropTree while work on that tree is in flight', () => {
  it('async operations, iterators and subscribers of the tree, here and in a worker thread, end with a documented error or complete', async () => {
    const path = dbPath()
    const db = open(path)
    const gone = (error: unknown): boolean => error instanceof SledCollectionNotFoundError || error instanceof SledClosedError
    // a worker keeps writing, reading and iterating the tree until it is dropped under it
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads')
      const sled = require(workerData.entry)
      const db = sled.open(workerData.path)
      const t = db.openTree('victim')
      const errors = {}
      const note = (e) => { const c = e && e.code || String(e); errors[c] = (errors[c] || 0) + 1 }
      parentPort.postMessage('ready')
      ;(async () => {
        for (let i = 0; i < 1e6 && !errors.SLED_COLLECTION_NOT_FOUND; i++) {
          try { t.insert('w' + (i % 100), 'x'); t.get('w' + (i % 50)); for (const _ of t.range({ limit: 20 })); }
          catch (e) { note(e) }
          if (i % 50 === 0) {
            await Promise.all([t.insertAsync('a' + i, 'x').catch(note), t.getAsync('a' + i).catch(note)])
          }
        }
        db.close()
        parentPort.postMessage(errors)
      })().catch((e) => parentPort.postMessage({ crashed: String(e && e.stack || e) }))`,
      { eval: true, workerData: { path, entry } },
    )
    const messages: unknown[] = []
    const ready = new Promise<void>((resolve) => worker.once('message', () => resolve()))
    const finished = new Promise<unknown>((resolve, reject) => {
      worker.on('message', (m) => messages.push(m))
      worker.once('error', reject)
      worker.once('exit', resolve)
    })
    await settled(ready, 'the worker starting')

    const tree = db.openTree('victim')
    const batch = new Batch()
    for (let i = 0; i < 20_000; i++) batch.insert(`k${String(i).padStart(5, '0')}`, 'v')
    tree.apply(batch)
    const ops = Array.from({ length: 30 }, (_, i) => outcome<unknown>(i % 3 === 0 ? tree.insertAsync(`n${i}`, 'x') : i % 3 === 1 ? tree.getAsync(`k${i}`) : tree.flushAsync()))
    const sync = tree.iter()
    sync.next()
    const loop = outcome(
      (async () => {
        let n = 0
        for await (const _ of tree.range()) n++
        return n
      })(),
    )
    const pendingNext = outcome(tree.watchPrefix('never').next())
    await turn()
    expect(db.dropTree('victim')).toBe(true)

    for (const op of await settled(Promise.all(ops), 'the async operations')) {
      if (op.status === 'rejected') expect(gone(op.reason)).toBe(true)
    }
    const looped = await settled(loop, 'the for await loop')
    if (looped.status === 'rejected') expect(looped.reason).toBeInstanceOf(SledCollectionNotFoundError)
    const next = await settled(pendingNext, 'the pending subscriber next()')
    expect(next.status).toBe('rejected')
    expect(gone((next as PromiseRejectedResult).reason)).toBe(true)
    // the sync iterator may hand out the entries it already fetched, then fails
    let steps = 0
    const err = caught(() => {
      for (; steps < 10_000; steps++) sync.next()
    })
    expect(err).toBeInstanceOf(SledCollectionNotFoundError)
    expect(() => tree.insert('k', 'v')).toThrow(SledCollectionNotFoundError)

    expect(await settled(finished, 'the worker')).toBe(0)
    const report = messages.at(-1) as Record<string, number>
    expect(report).not.toHaveProperty('crashed')
    expect(report.SLED_COLLECTION_NOT_FOUND).toBeGreaterThan(0)
    expect(Object.keys(report).every((code) => code === 'SLED_COLLECTION_NOT_FOUND' || code === 'SLED_CLOSED')).toBe(true)
    // the database is fine; the tree can be made again and starts empty
    expect(db.openTree('victim').len()).toBe(0)
    db.insert('still', 'works')
    db.close()
    const again = open(path)
    expect(again.get('still')?.toString()).toBe('works')
    again.close()
  })
})

/** Open file descriptors and threads of this process (Linux). */
function resources(): { fds: number; threads: number } {
  const threads = Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1])
  return { fds: readdirSync('/proc/self/fd').length, threads }
}

/** Waits (under a hang guard) until the thread count is back to at most `limit`; subscriber pumps stop shortly after close. */
async function threadsSettle(limit: number): Promise<number> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const { threads } = resources()
    if (threads <= limit || Date.now() > deadline) return threads
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe.runIf(process.platform === 'linux')('open/close cycles of one path', () => {
  it(
    `${FULL_CYCLES.toLocaleString('en')} full open/close cycles (each releases sled's lock), with trees, iterators and subscribers left for close(): no leaked descriptors or threads`,
    async () => {
      const path = dbPath()
      // warm up: the libuv pool and sled's first threads exist before the baseline
      const warm = await openAsync(path)
      await warm.insertAsync('n', '-1')
      warm.watchPrefix('').close()
      await warm.closeAsync()
      const base = resources()
      for (let i = 0; i < FULL_CYCLES; i++) {
        const db = i % 10 === 0 ? await openAsync(path) : open(path)
        db.insert('n', String(i))
        if (i % 7 === 0) {
          const t = db.openTree(`t${i % 5}`)
          t.insert('k', String(i))
          t.iter().next()
          t.watchPrefix('')
          db.watchPrefix('n').next().catch(() => undefined)
        }
        if (i % 10 === 0) await db.closeAsync()
        else db.close()
        expect(db.closed).toBe(true)
      }
      const after = resources()
      const threads = await threadsSettle(base.threads + 2)
      expect(after.fds).toBeLessThanOrEqual(base.fds + 2)
      expect(threads).toBeLessThanOrEqual(base.threads + 2)
      // the lock is free: another process opens the path and sees the last write
      const res = runChild(`const db = sled.open(process.argv[1]); console.log(String(db.get('n'))); db.close()`, [path])
      expect(res.stderr).toBe('')
      expect(res.stdout.trim()).toBe(String(FULL_CYCLES - 1))
    },
    soak ? 1_800_000 : 300_000,
  )

  it(
    `${SHARED_CYCLES.toLocaleString('en')} open/close cycles of a second handle while a first stays open`,
    async () => {
      const path = dbPath()
      const keeper = open(path)
      const keptTree = keeper.openTree('kept')
      const keptSub = keptTree.watchPrefix('')
      const warm = open(path)
      warm.watchPrefix('').close()
      warm.close()
      const base = resources()
      for (let i = 0; i < SHARED_CYCLES; i++) {
        const db = open(path)
        const t = db.openTree('kept')
        t.insert('n', String(i))
        if (i % 100 === 0) {
          db.iter().next()
          db.watchPrefix('')
        }
        db.close()
      }
      const after = resources()
      expect(after.fds).toBeLessThanOrEqual(base.fds + 2)
      expect(await threadsSettle(base.threads + 2)).toBeLessThanOrEqual(base.threads + 2)
      // the first handle, its tree and its subscriber were never disturbed
      expect(keeper.closed).toBe(false)
      expect(keptTree.get('n')?.toString()).toBe(String(SHARED_CYCLES - 1))
      const first = await settled(keptSub.next(), "the kept handle's subscriber")
      expect(first.value).toMatchObject({ type: 'insert' })
      keeper.close()
    },
    soak ? 600_000 : 300_000,
  )
})

/** Child prelude (run with --expose-gc): collect garbage, count threads, probe the lock from a grandchild. */
const CHILD = `
  const { spawnSync } = require('node:child_process')
  const fs = require('node:fs')
  const threads = () => Number(/Threads:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1])
  const pumpThreads = () => fs.readdirSync('/proc/self/task').filter((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').startsWith('sled-node-subsc')).length
  // Rust names a thread from inside it once it first runs: on a loaded machine a pump just
  // spawned may still carry its parent's name. Waits up to 2 s (blocking, so no finalizer
  // runs meanwhile) for \`expected\`, and returns what it counted last.
  function pumpThreadsUpTo(expected) {
    const pause = new Int32Array(new SharedArrayBuffer(4))
    let count = pumpThreads()
    for (let i = 0; i < 1000 && count < expected; i++) {
      Atomics.wait(pause, 0, 0, 2)
      count = pumpThreads()
    }
    return count
  }
  async function collect(rounds = 8) {
    for (let i = 0; i < rounds; i++) {
      global.gc()
      await new Promise((r) => setImmediate(r))
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  async function threadsSettle(limit) {
    for (let i = 0; i < 500 && threads() > limit; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)) }
    return threads()
  }
  function probe(path) {
    const code = 'const sled = require(' + JSON.stringify(process.argv[2]) + ');' +
      'try { const db = sled.open(process.argv[1]); console.log(JSON.stringify({ ok: true, len: db.len() })); db.close() }' +
      'catch (e) { console.log(JSON.stringify({ ok: false, code: e.code })) }'
    return JSON.parse(spawnSync(process.execPath, ['-e', code, '--', path], { encoding: 'utf8' }).stdout)
  }
`

describe.runIf(process.platform === 'linux')('handles dropped without closing, collected under --expose-gc', () => {
  it('unclosed Dbs with trees, sync and async iterators mid-way, unread subscribers and dropped async promises: collected, threads stopped, lock released', () => {
    const path = dbPath()
    const res = runChild(
      `${CHILD}
      // plain (non-async) functions, so no suspended frame keeps the last handle alive
      // starts the libuv pool's threads (which never end) before the baseline is taken;
      // the task threads of getAsync / insertAsync end after 200 ms without work
      function warmUp(path) {
        const db = sled.open(path)
        db.watchPrefix('').close()
        return db.getAsync('x').then(() => db.flushAsync()).then(() => db.close())
      }
      function abandon(path, n) {
        for (let i = 0; i < n; i++) {
          const db = sled.open(path)
          const t = db.openTree('t' + (i % 3))
          t.insert('k' + i, 'v')
          db.insert('k' + i, 'v')
          t.iter().next()
          db.range()[Symbol.asyncIterator]().next()
          t.watchPrefix('')
          db.watchPrefix('k')
          db.insert('k' + i + 'x', 'queued for the subscriber')
          db.getAsync('k' + i)
          if (i % 2) db.insertAsync('a' + i, 'v')
        }
      }
      ;(async () => {
        const path = process.argv[1]
        await warmUp(path)
        await collect()
        const base = threads()
        abandon(path, 100)
        const pumps = pumpThreadsUpTo(4)
        await collect()
        const settledThreads = await threadsSettle(base + 2)
        const probed = probe(path)
        const db = sled.open(path)
        const len = db.len()
        db.close()
        console.log(JSON.stringify({ pumps, backToBase: settledThreads <= base + 2, probed, len }))
      })().catch((e) => { console.error(e); process.exitCode = 1 })`,
      [path, entry],
      ['--expose-gc'],
    )
    expectCleanExit(res)
    // 100 keys, 100 keys with the x suffix, 50 async inserts (their promises were dropped, not their writes)
    // 200 subscribers on 4 trees of one database: one pump thread per watched tree, not per subscriber
    expect(JSON.parse(res.stdout)).toEqual({ pumps: 4, backToBase: true, probed: { ok: true, len: 250 }, len: 250 })
  })

  it('a for await over a subscriber that nothing else references keeps receiving events across collections', () => {
    const path = dbPath()
    const res = runChild(
      `${CHILD}
      function listen(db, n) {
        ;(async () => {
          let seen = 0
          for await (const event of db.watchPrefix('w')) {
            console.log('event ' + event.key)
            if (++seen === n) break
          }
          console.log('loop ended')
          db.close()
        })()
      }
      ;(async () => {
        const db = sled.open(process.argv[1])
        listen(db, 3)
        for (let i = 1; i <= 3; i++) {
          await collect()
          db.insert('w' + i, 'x')
        }
      })().catch((e) => { console.error(e); process.exitCode = 1 })`,
      [path, entry],
      ['--expose-gc'],
    )
    expectCleanExit(res)
    expect(res.stdout.trim().split('\n')).toEqual(['event w1', 'event w2', 'event w3', 'loop ended'])
  })

  it('a tree, iterator or subscriber outliving its unreachable Db keeps it open until it is collected itself', () => {
    const path = dbPath()
    const res = runChild(
      `${CHILD}
      function keep(path) {
        const db = sled.open(path)
        db.insert('a', '1')
        const tree = db.openTree('t')
        tree.insert('b', '2')
        return { tree, iter: db.iter(), sub: db.watchPrefix('') }
      }
      ;(async () => {
        const path = process.argv[1]
        let kept = keep(path)
        await collect()
        const held = probe(path)
        kept.tree.insert('c', '3')
        const entries = kept.iter.toArray().map(([k]) => String(k))
        kept = undefined
        await collect()
        const released = probe(path)
        console.log(JSON.stringify({ held, entries, released }))
      })().catch((e) => { console.error(e); process.exitCode = 1 })`,
      [path, entry],
      ['--expose-gc'],
    )
    expectCleanExit(res)
    expect(JSON.parse(res.stdout)).toEqual({
      held: { ok: false, code: 'SLED_LOCKED' },
      entries: ['a'],
      released: { ok: true, len: 1 },
    })
  })
})
