// Subscriptions (watchPrefix): ordered insert/remove events, prefix filtering, writers
// never blocked by an unread subscriber, the highWaterMark overflow, close / abort /
// db.close ending a pending next(), option validation, and subscribers never keeping
// a process alive.
import { Buffer } from 'node:buffer'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { afterAll, describe, expect, it } from 'vitest'
import { type Db, type Event, open, SledClosedError, SledError, type Subscriber, type WatchOptions } from 'sled-node'
import { caught } from './helpers/caught.js'
import { runChild } from './helpers/child.js'
import { settled } from './helpers/settled.js'
import { dbPath } from './helpers/tmp.js'

const entry = createRequire(import.meta.url).resolve('sled-node')

const db: Db = open(dbPath())
afterAll(() => db.close())

/** The next `n` events (each next() under the hang guard). */
async function take(sub: Subscriber, n: number): Promise<Event[]> {
  const out: Event[] = []
  for (let i = 0; i < n; i++) {
    const r = await settled(sub.next(), `event ${i + 1} of ${n}`)
    if (r.done) throw new Error(`subscriber ended after ${i} of ${n} events`)
    out.push(r.value)
  }
  return out
}

/** Events up to and including the first whose key equals `sentinel`. */
async function until(sub: Subscriber, sentinel: Buffer | string): Promise<Event[]> {
  const stop = Buffer.from(sentinel)
  const out: Event[] = []
  for (;;) {
    const r = await settled(sub.next(), `the event for ${stop.toString('hex')}`)
    if (r.done) throw new Error('subscriber ended before the sentinel')
    out.push(r.value)
    if (r.value.key.equals(stop)) return out
  }
}

const ins = (key: string | Buffer, value: string | Buffer): Event => ({ type: 'insert', key: Buffer.from(key), value: Buffer.from(value) })
const rem = (key: string | Buffer): Event => ({ type: 'remove', key: Buffer.from(key) })
const keysOf = (events: Event[]): string[] => events.map((e) => e.key.toString())

describe('events', () => {
  it('arrive in order for a single writer, with the exact shapes {type, key, value} / {type, key}', async () => {
    const tree = db.openTree('order')
    const sub = tree.watchPrefix('')
    tree.insert('a', '1')
    tree.insert('b', '2')
    tree.insert('a', '3')
    tree.remove('b')
    tree.insert(Buffer.from([0, 0xff]), Buffer.alloc(0))
    tree.remove('a')
    tree.insert('b', '4')
    const events = await take(sub, 7)
    expect(events).toStrictEqual([
      ins('a', '1'),
      ins('b', '2'),
      ins('a', '3'),
      rem('b'),
      ins(Buffer.from([0, 0xff]), Buffer.alloc(0)),
      rem('a'),
      ins('b', '4'),
    ])
    for (const e of events) {
      expect(Buffer.isBuffer(e.key)).toBe(true)
      if (e.type === 'insert') {
        expect(Object.keys(e).sort()).toEqual(['key', 'type', 'value'])
        expect(Buffer.isBuffer(e.value)).toBe(true)
      } else {
        expect(Object.keys(e).sort()).toEqual(['key', 'type'])
      }
    }
    sub.close()
  })

  it('a long mixed sequence of sync and async writes arrives complete and in order', async () => {
    const tree = db.openTree('order-long')
    const sub = tree.watchPrefix('')
    const expected: Event[] = []
    const live = new Set<string>()
    for (let i = 0; i < 3_000; i++) {
      const key = `k${i % 97}`
      if (live.has(key) && i % 3 === 0) {
        if (i % 2 === 0) tree.remove(key)
        else await tree.removeAsync(key)
        live.delete(key)
        expected.push(rem(key))
      } else {
        // every value differs, so every write changes something
        if (i % 2 === 0) tree.insert(key, String(i))
        else await tree.insertAsync(key, String(i))
        live.add(key)
        expected.push(ins(key, String(i)))
      }
    }
    const events = await take(sub, expected.length)
    expect(events).toStrictEqual(expected)
    sub.close()
  })

  it('batches and transactions deliver one event per changed key', async () => {
    const tree = db.openTree('batch-events')
    tree.insert('old', 'x')
    const sub = tree.watchPrefix('')
    tree.apply(tree.batch().insert('b1', '1').insert('b2', '2').remove('old'))
    tree.transaction((tx) => {
      tx.insert('t1', '1')
      tx.remove('b1')
    })
    tree.insert('end', '.')
    const events = await until(sub, 'end')
    const render = (e: Event) => `${e.type} ${e.key.toString()}${e.type === 'insert' ? `=${e.value.toString()}` : ''}`
    // sled decides the order inside one batch or transaction; the sets must match
    expect(events.slice(0, 3).map(render).sort()).toEqual(['insert b1=1', 'insert b2=2', 'remove old'])
    expect(events.slice(3, 5).map(render).sort()).toEqual(['insert t1=1', 'remove b1'])
    expect(events.slice(5).map(render)).toEqual(['insert end=.'])
    sub.close()
  })

  it('no-op writes (same-value insert, remove of an absent key) emit nothing and do not stop later events', async () => {
    const tree = db.openTree('no-op')
    tree.insert('same', 'v')
    const sub = tree.watchPrefix('')
    tree.insert('first', '1')
    tree.insert('same', 'v') // no change: sled emits no event
    tree.remove('absent') // no change: sled emits no event
    tree.insert('after', '2')
    tree.remove('first')
    const events = await take(sub, 3)
    expect(events).toStrictEqual([ins('first', '1'), ins('after', '2'), rem('first')])
    sub.close()
  })

  it('a slow write (a 64 MiB value) does not end the subscription: its event and later ones arrive', async () => {
    const tree = db.openTree('slow-write')
    const sub = tree.watchPrefix('')
    tree.insert('before', '1')
    const big = Buffer.alloc(64 * 1024 * 1024, 7)
    tree.insert('big', big)
    tree.insert('after', '2')
    const events = await take(sub, 3)
    expect(keysOf(events)).toEqual(['before', 'big', 'after'])
    expect(events[1]!.type === 'insert' && events[1]!.value.equals(big)).toBe(true)
    sub.close()
    tree.remove('big')
  })

  it('every subscriber of a prefix gets every event; for await works and break closes', async () => {
    const tree = db.openTree('fan-out')
    const subs = [tree.watchPrefix('k'), tree.watchPrefix('k'), tree.watchPrefix('')]
    for (let i = 0; i < 50; i++) tree.insert(`k${i}`, String(i))
    const expected = Array.from({ length: 50 }, (_, i) => ins(`k${i}`, String(i)))
    for (const sub of subs) expect(await take(sub, 50)).toStrictEqual(expected)

    tree.insert('k-loop-1', '1')
    tree.insert('k-loop-2', '2')
    const seen: string[] = []
    const loop = (async () => {
      for await (const e of subs[0]!) {
        seen.push(e.key.toString())
        if (seen.length === 2) break
      }
    })()
    await settled(loop, 'the for await loop')
    expect(seen).toEqual(['k-loop-1', 'k-loop-2'])
    // break called return(), which closed the subscriber
    expect(await settled(subs[0]!.next(), 'next after break')).toEqual({ done: true, value: undefined })
    for (const sub of subs) sub.close()
  })
})

describe('prefix filtering', () => {
  it('only keys starting with the prefix, of this tree only', async () => {
    const tree = db.openTree('prefix')
    const other = db.openTree('prefix-other')
    const users = tree.watchPrefix('user:')
    const binary = tree.watchPrefix(Buffer.from([0xff]))
    const everything = tree.watchPrefix('')
    const otherAll = other.watchPrefix('')
    const defaultAll = db.watchPrefix('')

    tree.insert('user:1', 'a')
    tree.insert('users', 'no') // not "user:"
    tree.insert('use', 'no')
    tree.insert('user:', 'exact prefix')
    tree.insert('admin', 'no')
    tree.insert(Buffer.from([0xff, 1]), 'bin')
    tree.insert(Buffer.from([0xfe, 0xff]), 'no')
    tree.remove('user:1')
    tree.insert(Buffer.from([0xff]), 'bin exact')
    other.insert('user:9', 'other tree')
    // sentinels, one per subscriber
    tree.insert('user:~end', '.')
    tree.insert(Buffer.from([0xff, 0xff]), '.')
    other.insert('~end', '.')
    db.insert('~end', '.')

    expect(await until(users, 'user:~end')).toStrictEqual([
      ins('user:1', 'a'),
      ins('user:', 'exact prefix'),
      rem('user:1'),
      ins('user:~end', '.'),
    ])
    expect(await until(binary, Buffer.from([0xff, 0xff]))).toStrictEqual([
      ins(Buffer.from([0xff, 1]), 'bin'),
      ins(Buffer.from([0xff]), 'bin exact'),
      ins(Buffer.from([0xff, 0xff]), '.'),
    ])
    expect(keysOf(await until(everything, Buffer.from([0xff, 0xff])))).toEqual(
      keysOf([
        ins('user:1', ''),
        ins('users', ''),
        ins('use', ''),
        ins('user:', ''),
        ins('admin', ''),
        ins(Buffer.from([0xff, 1]), ''),
        ins(Buffer.from([0xfe, 0xff]), ''),
        rem('user:1'),
        ins(Buffer.from([0xff]), ''),
        ins('user:~end', ''),
        ins(Buffer.from([0xff, 0xff]), ''),
      ]),
    )
    // writes to other trees are not seen
    expect(await until(otherAll, '~end')).toStrictEqual([ins('user:9', 'other tree'), ins('~end', '.')])
    expect(await until(defaultAll, '~end')).toStrictEqual([ins('~end', '.')])
    for (const s of [users, binary, everything, otherAll, defaultAll]) s.close()
  })
})

describe('a subscriber that is not read never blocks writers', () => {
  it(
    '100,000 writes from another thread complete; highWaterMark 1,000 overflows after 1,000 events; 200,000 and the default keep all in order',
    async () => {
      const path = dbPath()
      const main = open(path)
      try {
        const tree = main.openTree('flood')
        const N = 100_000
        const small = tree.watchPrefix('w:', { highWaterMark: 1_000 })
        const large = tree.watchPrefix('w:', { highWaterMark: 200_000 })
        const byDefault = tree.watchPrefix('w:')
        const unrelated = tree.watchPrefix('zzz', { highWaterMark: 1 })

        // the writer runs in a worker so that, were it blocked, this thread's guard still fires
        const writer = new Worker(
          `
const { parentPort, workerData } = require('node:worker_threads')
const sled = require(${JSON.stringify(entry)})
const db = sled.open(workerData.path)
const tree = db.openTree('flood')
for (let i = 0; i < workerData.n; i++) tree.insert('w:' + String(i).padStart(6, '0'), String(i))
db.close()
parentPort.postMessage('done')
`,
          { eval: true, workerData: { path, n: N } },
        )
        const exited = once(writer, 'exit')
        const done = new Promise<void>((resolve, reject) => {
          writer.once('message', () => resolve())
          writer.once('error', reject)
          writer.once('exit', (code) => reject(new Error(`writer exited with ${code} before finishing`)))
        })
        await settled(done, `${N} writes with unread subscribers`, 240_000)
        await exited

        const key = (i: number) => `w:${String(i).padStart(6, '0')}`

        // highWaterMark 1,000: the first 1,000 events in order, then SLED_SUBSCRIBER_OVERFLOW
        const first: Event[] = []
        let overflow: unknown
        await settled(
          (async () => {
            try {
              for (;;) {
                const r = await small.next()
                if (r.done) break
                first.push(r.value)
              }
            } catch (e) {
              overflow = e
            }
          })(),
          'reading the overflowed subscriber',
        )
        console.log(`highWaterMark 1,000: read ${first.length} events, then ${String((overflow as Error)?.name)}`)
        expect(first.length).toBe(1_000)
        expect(first[0]).toStrictEqual(ins(key(0), '0'))
        expect(first[999]).toStrictEqual(ins(key(999), '999'))
        expect(keysOf(first)).toEqual(Array.from({ length: 1_000 }, (_, i) => key(i)))
        expect(overflow).toBeInstanceOf(SledError)
        expect((overflow as SledError).code).toBe('SLED_SUBSCRIBER_OVERFLOW')

        // highWaterMark 200,000 and the default (100,000): every event, in order
        for (const [name, sub] of [
          ['200,000', large],
          ['default', byDefault],
        ] as const) {
          let count = 0
          let outOfOrder = -1
          let stalled: unknown
          await settled(
            (async () => {
              while (count < N) {
                const r = await sub.next()
                if (r.done) break
                const e = r.value
                if (outOfOrder < 0 && (e.type !== 'insert' || e.key.toString() !== key(count) || e.value.toString() !== String(count))) {
                  outOfOrder = count
                }
                count++
              }
            })(),
            `reading ${N} events (${name})`,
            180_000,
          ).catch((e: unknown) => {
            stalled = e
          })
          if (stalled) console.log(`highWaterMark ${name}: ${String(stalled)} after ${count} events`)
          console.log(`highWaterMark ${name}: read ${count} events${outOfOrder >= 0 ? `, first mismatch at ${outOfOrder}` : ' in order'}`)
          expect(count).toBe(N)
          expect(outOfOrder).toBe(-1)
        }
        // nothing more was queued: the next event is the next write
        tree.insert('w:end', 'end')
        for (const sub of [large, byDefault]) {
          expect((await take(sub, 1))[0]).toStrictEqual(ins('w:end', 'end'))
        }
        // a subscriber whose prefix matched nothing is still fine
        tree.insert('zzz', '1')
        expect(await take(unrelated, 1)).toStrictEqual([ins('zzz', '1')])
        for (const s of [small, large, byDefault, unrelated]) s.close()
      } finally {
        main.close()
      }
    },
    600_000,
  )

  it(
    'close() of an unread subscriber and of its Db return (checked in a child process, so a hang fails instead of hanging)',
    () => {
      const res = runChild(`
const db = sled.open(${JSON.stringify(dbPath())})
const tree = db.openTree('t')
const closedBySelf = tree.watchPrefix('')
const overflowed = tree.watchPrefix('', { highWaterMark: 10 })
const closedByDb = tree.watchPrefix('')
const onDefault = db.watchPrefix('')
for (let i = 0; i < 20000; i++) {
  tree.insert('k' + i, 'v')
  db.insert('k' + i, 'v')
}
closedBySelf.close()
console.log('subscriber closed')
const ended = closedBySelf.next()
db.close()
console.log('db closed')
Promise.allSettled([ended, closedBySelf.next(), overflowed.next(), closedByDb.next(), onDefault.next()]).then((rs) => {
  console.log(JSON.stringify(rs.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.name + ' ' + r.reason.code))))
})
`)
      expect(res.signal, `child hung and was killed; stdout: ${res.stdout}; stderr: ${res.stderr}`).toBeNull()
      expect(res.status, res.stderr).toBe(0)
      const lines = res.stdout.trim().split('\n')
      expect(lines.slice(0, 2)).toEqual(['subscriber closed', 'db closed'])
      expect(JSON.parse(lines[2]!)).toEqual([
        // a subscriber closed by itself is done; once its Db is closed, next() fails as every method does
        { done: true },
        'SledClosedError SLED_CLOSED',
        'SledClosedError SLED_CLOSED',
        'SledClosedError SLED_CLOSED',
        'SledClosedError SLED_CLOSED',
      ])
    },
    180_000,
  )
})

describe('ending a subscription', () => {
  it('a pending next() resolves {done: true} on subscriber.close(); later next() calls too', async () => {
    const tree = db.openTree('end-close')
    const sub = tree.watchPrefix('')
    const pending = sub.next()
    sub.close()
    expect(await settled(pending, 'pending next after close')).toEqual({ done: true, value: undefined })
    expect(await settled(sub.next(), 'next after close')).toEqual({ done: true, value: undefined })
    sub.close() // twice is fine
    // a close from a later turn of the event loop, too
    const sub2 = tree.watchPrefix('')
    const pending2 = sub2.next()
    setImmediate(() => sub2.close())
    expect(await settled(pending2, 'pending next, closed later')).toEqual({ done: true, value: undefined })
    // and queued events are dropped by close
    const sub3 = tree.watchPrefix('')
    tree.insert('queued', '1')
    expect(await take(sub3, 1)).toStrictEqual([ins('queued', '1')])
    tree.insert('queued', '2')
    sub3.close()
    expect(await settled(sub3.next(), 'next after close with queued events')).toEqual({ done: true, value: undefined })
  })

  it('a pending next() resolves {done: true} when the signal aborts', async () => {
    const tree = db.openTree('end-abort')
    const ac = new AbortController()
    const sub = tree.watchPrefix('', { signal: ac.signal })
    tree.insert('before', '1')
    expect(await take(sub, 1)).toStrictEqual([ins('before', '1')])
    const pending = sub.next()
    ac.abort()
    expect(await settled(pending, 'pending next after abort')).toEqual({ done: true, value: undefined })
    tree.insert('after', '1')
    expect(await settled(sub.next(), 'next after abort')).toEqual({ done: true, value: undefined })
  })

  it('an already-aborted signal gives an ended subscriber', async () => {
    const tree = db.openTree('end-pre-aborted')
    const sub = tree.watchPrefix('', { signal: AbortSignal.abort() })
    tree.insert('k', 'v')
    expect(await settled(sub.next(), 'next on a pre-aborted subscriber')).toEqual({ done: true, value: undefined })
    const seen: Event[] = []
    await settled(
      (async () => {
        for await (const e of tree.watchPrefix('', { signal: AbortSignal.abort() })) seen.push(e)
      })(),
      'for await over a pre-aborted subscriber',
    )
    expect(seen).toEqual([])
  })

  it('a pending next() rejects with SledClosedError on db.close(), for the default tree and opened trees', async () => {
    const own = open(dbPath())
    const tree = own.openTree('t')
    const onDefault = own.watchPrefix('')
    const onTree = tree.watchPrefix('')
    const idle = tree.watchPrefix('')
    const p1 = onDefault.next()
    const p2 = onTree.next()
    own.close()
    await expect(settled(p1, 'pending next (default tree) after db.close')).rejects.toBeInstanceOf(SledClosedError)
    await expect(settled(p2, 'pending next (tree) after db.close')).rejects.toBeInstanceOf(SledClosedError)
    // a subscriber that was not waiting also reports the close
    await expect(settled(idle.next(), 'next after db.close')).rejects.toBeInstanceOf(SledClosedError)
    // watching a closed database throws
    expect(() => own.watchPrefix('')).toThrow(SledClosedError)
    expect(() => tree.watchPrefix('')).toThrow(SledClosedError)
  })
})

describe('a subscriber used inside a transaction callback', () => {
  it('next() there rejects with SLED_TRANSACTION_MISUSE, and the subscriber goes on afterwards', async () => {
    const tree = db.openTree('sub-in-tx')
    const sub = tree.watchPrefix('')
    let inside: Promise<unknown> | undefined
    tree.transaction(() => {
      inside = sub.next()
    })
    await expect(inside).rejects.toMatchObject({ code: 'SLED_TRANSACTION_MISUSE' })
    await expect(inside).rejects.toBeInstanceOf(SledError)
    tree.insert('a', '1')
    const event = await sub.next()
    expect(event.done).toBe(false)
    expect(String((event.value as Event<Buffer, Buffer>).key)).toBe('a')
    sub.close()
  })
})

describe('bad options', () => {
  it('throw TypeError / RangeError with Node codes, and bad prefixes are TypeErrors', () => {
    const tree = db.openTree('bad-options')
    const cases: [unknown, typeof TypeError | typeof RangeError, string][] = [
      [{ highWaterMark: 0 }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ highWaterMark: -1 }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ highWaterMark: 1.5 }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ highWaterMark: Number.NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ highWaterMark: Number.POSITIVE_INFINITY }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ highWaterMark: '10' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ highWaterMark: 10n }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ signal: {} }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ signal: new AbortController() }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ signal: null }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ unknown: 1 }, TypeError, 'ERR_INVALID_ARG_VALUE'],
      [{ highwatermark: 10 }, TypeError, 'ERR_INVALID_ARG_VALUE'],
      ['options', TypeError, 'ERR_INVALID_ARG_TYPE'],
      [null, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ]
    for (const [opts, cls, code] of cases) {
      const thrown = caught(() => tree.watchPrefix('', opts as WatchOptions))
      expect(thrown, JSON.stringify(opts, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))).toBeInstanceOf(cls)
      expect((thrown as { code?: string }).code).toBe(code)
    }
    expect(() => tree.watchPrefix(1 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => tree.watchPrefix(undefined as unknown as string)).toThrow(TypeError)
    // the boundaries that are valid
    tree.watchPrefix('', { highWaterMark: 1 }).close()
    tree.watchPrefix('', { highWaterMark: 0xffffffff }).close()
    tree.watchPrefix('', {}).close()
    tree.watchPrefix('', { signal: undefined, highWaterMark: undefined }).close()
  })
})

describe('subscribers and process exit', () => {
  /**
   * Runs `script` in a child process that must end on its own, and returns its output lines.
   * If anything kept the process alive, an unref'd guard ends it with status 3.
   */
  function outputOfExitingChild(script: string): string[] {
    const res = runChild(`setTimeout(() => { console.log('STILL ALIVE'); process.exit(3) }, 30000).unref()\n${script}`)
    expect(res.signal, `child was killed; stdout: ${res.stdout}; stderr: ${res.stderr}`).toBeNull()
    expect(res.stdout).not.toContain('STILL ALIVE')
    expect(res.status, res.stderr).toBe(0)
    return res.stdout.trim().split('\n')
  }

  it('an idle, unread subscriber left open at the end of the script does not keep the process alive', () => {
    const lines = outputOfExitingChild(`
const db = sled.open(${JSON.stringify(dbPath())})
const tree = db.openTree('t')
const unread = db.watchPrefix('')
const overflowing = tree.watchPrefix('', { highWaterMark: 5 })
for (let i = 0; i < 3000; i++) {
  db.insert('k' + i, 'v')
  tree.insert('k' + i, 'v')
}
// one that was read once (a next() was pending, then settled) and then left idle
const readOnce = db.watchPrefix('r')
readOnce.next().then((r) => {
  console.log('read ' + r.value.key)
})
db.insert('r1', 'x')
console.log('end of script')
`)
    expect(lines).toEqual(['end of script', 'read r1'])
  })

  it('a for await over a subscriber that is pending when the db closes ends, and the process exits', () => {
    const lines = outputOfExitingChild(`
const db = sled.open(${JSON.stringify(dbPath())})
const sub = db.watchPrefix('')
;(async () => {
  try {
    for await (const e of sub) {
      console.log('event ' + e.key)
      // close while the loop's next next() is pending
      setImmediate(() => db.close())
    }
    console.log('loop ended')
  } catch (e) {
    console.log('rejected ' + e.name + ' ' + e.code)
  }
})()
db.insert('a', '1')
`)
    expect(lines).toEqual(['event a', 'rejected SledClosedError SLED_CLOSED'])
  })

  it('a for await that is pending when the db closes, before any event, also ends and exits', () => {
    const lines = outputOfExitingChild(`
const db = sled.open(${JSON.stringify(dbPath())})
const tree = db.openTree('t')
const sub = tree.watchPrefix('')
;(async () => {
  try {
    for await (const e of sub) console.log('event ' + e.key)
    console.log('loop ended')
  } catch (e) {
    console.log('rejected ' + e.name + ' ' + e.code)
  }
})()
setImmediate(() => db.close())
`)
    expect(lines).toEqual(['rejected SledClosedError SLED_CLOSED'])
  })
})

describe('queued next() calls', () => {
  it('settle in order as events arrive, and all resolve done on close()', async () => {
    const db = open(dbPath())
    try {
      const sub = db.watchPrefix('')
      const pending = [sub.next(), sub.next(), sub.next()]
      db.insert('a', '1')
      db.insert('b', '2')
      db.insert('c', '3')
      const got = await Promise.all(pending)
      expect(got.map((r) => (r.done ? 'done' : String(r.value.key)))).toEqual(['a', 'b', 'c'])
      const later = [sub.next(), sub.next()]
      sub.close()
      expect(await Promise.all(later)).toEqual([
        { done: true, value: undefined },
        { done: true, value: undefined },
      ])
    } finally {
      db.close()
    }
  })
})
