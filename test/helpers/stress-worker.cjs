'use strict'
// One worker of test/threads-stress.test.ts. It runs a seeded random mix of operations
// (sync and async reads and writes, batches, transactions over three trees, scans, ordered
// reads, pops, a second handle, a subscriber) on its own key space of a path that other
// workers use at the same time, checks every result against its own model as it goes,
// and logs every change it made so the parent can rebuild the expected database.
//
// Loaded by the test (not in a worker) only for `makeValue` and the tree names.

const { isMainThread, parentPort, workerData } = require('node:worker_threads')
const fc = require('fast-check')

/** The trees a worker writes: sled's default tree, one tree all workers share, and its own. */
const treeNames = (id) => ['__sled__default', 'shared', `own-${id}`]

/** Every value says who wrote it, when, and under which key; `pad` varies its size (sometimes 20-40 KB). */
function makeValue(id, seq, key, pad) {
  return `${id}:${seq}:${key}:${(pad >= 1000 ? 'Y' : 'x').repeat(pad)}`
}

/** Parses a value made by makeValue; null if it is not one. */
function parseValue(text) {
  const m = /^(\d+):(\d+):([^:]*):([xY]*)$/.exec(text)
  return m ? { id: Number(m[1]), seq: Number(m[2]), key: m[3] } : null
}

module.exports = { makeValue, parseValue, treeNames }

if (!isMainThread && workerData?.stress) run().catch((error) => {
  // an unexpected exception is reported, not swallowed: the parent fails the test
  parentPort.postMessage({ type: 'crash', error: String(error?.stack ?? error) })
  process.exitCode = 1
})

async function run() {
  const sled = require(workerData.entry)
  const { path, id, seed, durationMs, stream, seqBase } = workerData

  // fast-check's seeded generation, as the other tests draw theirs (test/helpers/seeded.ts), in
  // chunks since a worker draws for as long as it runs: reproducible from the seed the parent prints
  const CHUNK = 1 << 16
  let chunk = []
  let at = 0
  let chunks = 0
  const random = () => {
    if (at === chunk.length) {
      chunk = fc.sample(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { seed: seed + chunks++, numRuns: CHUNK, unbiased: true })
      at = 0
    }
    return chunk[at++] / 2 ** 31
  }
  const int = (n) => Math.floor(random() * n)

  const KEYS = 48
  const prefix = `w${id}/`
  const db = sled.open(path)
  const trees = [db, db.openTree('shared'), db.openTree(`own-${id}`)]
  const models = [new Map(), new Map(), new Map()]
  const keyOf = (ti, n) => (ti === 2 ? 'k' : prefix) + String(n).padStart(3, '0')
  // a path reused across rounds already holds this key space: the model starts from it
  for (let ti = 0; ti < 3; ti++) {
    for (const [k, v] of ti === 2 ? trees[2].iter() : trees[ti].scanPrefix(prefix)) models[ti].set(k.toString(), v.toString())
  }

  /** [tree index, key, seq, pad] per change, in the order they happened; pad -1 is a remove. */
  let log = []
  let seq = seqBase
  const mismatches = []
  const counts = {}
  const str = (b) => (b === undefined ? undefined : b.toString())
  const same = (actual, expected, what) => {
    if (actual === expected) return
    if (mismatches.length < 20) mismatches.push(`${what}: got ${JSON.stringify(actual)?.slice(0, 80)}, model has ${JSON.stringify(expected)?.slice(0, 80)}`)
  }
  const sameList = (actual, expected, what) => same(JSON.stringify(actual), JSON.stringify(expected), what)

  /** A new value for `key`: allocated before the write, recorded once it is done. */
  const fresh = (key) => {
    const pad = random() < 0.02 ? 20000 + int(20000) : int(40)
    const s = ++seq
    return { seq: s, pad, value: makeValue(id, s, key, pad) }
  }
  const recordPut = (ti, key, f) => {
    models[ti].set(key, f.value)
    log.push([ti, key, f.seq, f.pad])
  }
  const recordDel = (ti, key) => {
    if (!models[ti].has(key)) return
    models[ti].delete(key)
    log.push([ti, key, ++seq, -1])
  }
  /** The model's entries of tree `ti` in key order (keys are ASCII: JS order is byte order). */
  const sorted = (ti) => [...models[ti].entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const pairs = (entries) => entries.map(([k, v]) => `${k}=${v.toString().slice(0, 24)}`)

  // a subscriber on this worker's prefix, read by a for await loop in the background
  const sub = db.watchPrefix(prefix)
  const lastSeqOf = new Map()
  let events = 0
  let subEnd = 'running'
  const subLoop = (async () => {
    try {
      for await (const event of sub) {
        events++
        const key = event.key.toString()
        if (!key.startsWith(prefix)) same(key, prefix, 'subscriber event outside the prefix')
        if (event.type === 'insert') {
          const parsed = parseValue(event.value.toString())
          if (!parsed || parsed.key !== key || parsed.id !== id) same(event.value.toString().slice(0, 40), key, 'subscriber event value')
          else {
            // events of one key arrive in the order of its writes
            if ((lastSeqOf.get(key) ?? -1) > parsed.seq) same(parsed.seq, lastSeqOf.get(key), `subscriber event order for ${key}`)
            lastSeqOf.set(key, parsed.seq)
          }
        }
      }
      subEnd = 'done'
    } catch (error) {
      subEnd = error?.code ?? String(error)
    }
  })()

  const ABORT = Symbol('abort')
  const ops = {
    insert() {
      const ti = int(3)
      const key = keyOf(ti, int(KEYS))
      const f = fresh(key)
      same(str(trees[ti].insert(key, f.value)), models[ti].get(key), `insert ${key} returns the previous value`)
      recordPut(ti, key, f)
    },
    remove() {
      const ti = int(3)
      const key = keyOf(ti, int(KEYS))
      same(str(trees[ti].remove(key)), models[ti].get(key), `remove ${key} returns the removed value`)
      recordDel(ti, key)
    },
    get() {
      const ti = int(3)
      const key = keyOf(ti, int(KEYS))
      same(str(trees[ti].get(key)), models[ti].get(key), `get ${key}`)
      same(trees[ti].containsKey(key), models[ti].has(key), `containsKey ${key}`)
    },
    getMany() {
      const ti = int(3)
      const keys = Array.from({ length: 1 + int(8) }, () => keyOf(ti, int(KEYS)))
      sameList(trees[ti].getMany(keys).map(str), keys.map((k) => models[ti].get(k)), 'getMany')
    },
    casOk() {
      const ti = int(3)
      const key = keyOf(ti, int(KEYS))
      const f = random() < 0.25 ? undefined : fresh(key)
      const result = trees[ti].compareAndSwap(key, models[ti].get(key), f?.value)
      same(result.ok, true, `compareAndSwap ${key} with the current value`)
      if (!result.ok) return
      if (f) recordPut(ti, key, f)
      else recordDel(ti, key)
    },
    casFail() {
      const ti = int(3)
      const key = keyOf(ti, int(KEYS))
      const result = trees[ti].compareAndSwap(key, 'never stored', 'x')
      same(result.ok, false, `compareAndSwap ${key} with a wrong expectation`)
      same(str(result.current), models[ti].get(key), `compareAndSwap ${key} reports the current value`)
    },
    update() {
      const ti = int(3)
      const key = keyOf(ti, int(KEYS))
      const f = fresh(key)
      const out = trees[ti].updateAndFetch(key, (old) => {
        same(str(old), models[ti].get(key), `updateAndFetch ${key} sees the stored value`)
        return f.value
      })
      same(str(out), f.value, `updateAndFetch ${key} returns the new value`)
      recordPut(ti, key, f)
    },
    batch() {
      const ti = int(3)
      const batch = trees[ti].batch()
      const planned = []
      for (let i = 1 + int(8); i > 0; i--) {
        const key = keyOf(ti, int(KEYS))
        if (random() < 0.75) {
          const f = fresh(key)
          batch.insert(key, f.value)
          planned.push([key, f])
        } else {
          batch.remove(key)
          planned.push([key, null])
        }
      }
      trees[ti].apply(batch)
      for (const [key, f] of planned) f ? recordPut(ti, key, f) : recordDel(ti, key)
    },
    transaction() {
      // planned before the callback, which sled may run more than once
      const plan = Array.from({ length: 2 + int(5) }, () => {
        const ti = int(3)
        const key = keyOf(ti, int(KEYS))
        const r = random()
        return r < 0.3 ? { ti, key, kind: 'get' } : r < 0.85 ? { ti, key, kind: 'put', f: fresh(key) } : { ti, key, kind: 'del' }
      })
      const abort = random() < 0.15
      try {
        sled.transaction(trees, (txs) => {
          const local = [new Map(), new Map(), new Map()]
          const current = (ti, key) => (local[ti].has(key) ? local[ti].get(key) : models[ti].get(key))
          for (const op of plan) {
            if (op.kind === 'get') same(str(txs[op.ti].get(op.key)), current(op.ti, op.key), `transaction get ${op.key}`)
            else if (op.kind === 'put') {
              same(str(txs[op.ti].insert(op.key, op.f.value)), current(op.ti, op.key), `transaction insert ${op.key}`)
              local[op.ti].set(op.key, op.f.value)
            } else {
              same(str(txs[op.ti].remove(op.key)), current(op.ti, op.key), `transaction remove ${op.key}`)
              local[op.ti].set(op.key, undefined)
            }
          }
          if (abort) throw ABORT
        })
      } catch (error) {
        if (error !== ABORT) throw error
      }
      if (abort) {
        // nothing of an aborted transaction is visible
        for (const op of plan) same(str(trees[op.ti].get(op.key)), models[op.ti].get(op.key), `after an aborted transaction, ${op.key}`)
        return
      }
      for (const op of plan) {
        if (op.kind === 'put') recordPut(op.ti, op.key, op.f)
        else if (op.kind === 'del') recordDel(op.ti, op.key)
      }
    },
    scan() {
      const ti = int(3)
      const reverse = random() < 0.3
      const limit = random() < 0.3 ? int(10) : undefined
      let expected = sorted(ti)
      if (reverse) expected.reverse()
      let actual
      if (ti === 2) {
        // the own tree: a random range
        const lo = keyOf(2, int(KEYS))
        const hi = keyOf(2, int(KEYS))
        const loIncl = random() < 0.5
        const hiIncl = random() < 0.5
        expected = expected.filter(([k]) => (loIncl ? k >= lo : k > lo) && (hiIncl ? k <= hi : k < hi))
        actual = trees[2].range({ [loIncl ? 'gte' : 'gt']: lo, [hiIncl ? 'lte' : 'lt']: hi, reverse, limit }).toArray()
      } else {
        actual = trees[ti].scanPrefix(prefix, { reverse, limit }).toArray()
      }
      if (limit !== undefined) expected = expected.slice(0, limit)
      sameList(pairs(actual), pairs(expected), `scan of tree ${ti}`)
    },
    ordered() {
      const own = trees[2]
      const entries = sorted(2)
      const key = keyOf(2, int(KEYS))
      switch (int(7)) {
        case 0:
          return same(str(own.first()?.[0]), entries[0]?.[0], 'first')
        case 1:
          return same(str(own.last()?.[0]), entries.at(-1)?.[0], 'last')
        case 2: {
          const got = own.popMin()
          same(str(got?.[0]), entries[0]?.[0], 'popMin')
          if (got) recordDel(2, got[0].toString())
          return
        }
        case 3: {
          const got = own.popMax()
          same(str(got?.[0]), entries.at(-1)?.[0], 'popMax')
          if (got) recordDel(2, got[0].toString())
          return
        }
        case 4:
          return same(str(own.getLt(key)?.[0]), entries.filter(([k]) => k < key).at(-1)?.[0], `getLt ${key}`)
        case 5:
          return same(str(own.getGt(key)?.[0]), entries.find(([k]) => k > key)?.[0], `getGt ${key}`)
        default:
          same(own.len(), entries.length, 'len')
          same(own.isEmpty(), entries.length === 0, 'isEmpty')
      }
    },
    async asyncGroup() {
      // several operations in flight at once, on distinct keys so their order does not matter
      const used = new Set()
      const jobs = []
      for (let i = 1 + int(6); i > 0; i--) {
        const ti = int(3)
        const key = keyOf(ti, int(KEYS))
        if (used.has(`${ti}|${key}`)) continue
        used.add(`${ti}|${key}`)
        const before = models[ti].get(key)
        const r = random()
        if (r < 0.35) {
          const f = fresh(key)
          jobs.push(trees[ti].insertAsync(key, f.value).then((prev) => (same(str(prev), before, `insertAsync ${key}`), () => recordPut(ti, key, f))))
        } else if (r < 0.55) {
          jobs.push(trees[ti].removeAsync(key).then((prev) => (same(str(prev), before, `removeAsync ${key}`), () => recordDel(ti, key))))
        } else if (r < 0.8) {
          jobs.push(trees[ti].getAsync(key).then((v) => (same(str(v), before, `getAsync ${key}`), () => undefined)))
        } else {
          const f = fresh(key)
          jobs.push(trees[ti].applyAsync(trees[ti].batch().insert(key, f.value)).then(() => () => recordPut(ti, key, f)))
        }
      }
      // recorded in the order they were issued: each key appears once, so any order is right
      for (const record of await Promise.all(jobs)) record()
    },
    async forAwait() {
      const entries = []
      for await (const [k, v] of trees[2].range()) entries.push([k, v])
      sameList(pairs(entries), pairs(sorted(2)), 'for await over the own tree')
    },
    async flush() {
      if (random() < 0.5) trees[int(3)].flush()
      else await trees[int(3)].flushAsync()
    },
    secondHandle() {
      // another handle of the path, opened and closed while everything else runs
      const other = sled.open(path)
      const shared = other.openTree('shared')
      const key = keyOf(1, int(KEYS))
      const f = fresh(key)
      same(str(shared.insert(key, f.value)), models[1].get(key), `insert through a second handle, ${key}`)
      recordPut(1, key, f)
      other.close()
      same(str(trees[1].get(key)), f.value, `read back through the first handle, ${key}`)
    },
  }
  // weights: writes and reads dominate; the expensive operations are rarer
  const menu = Object.entries({
    insert: 16, remove: 7, get: 12, getMany: 4, casOk: 5, casFail: 3, update: 4, batch: 7,
    transaction: 7, scan: 6, ordered: 7, asyncGroup: 9, forAwait: 2, flush: 1, secondHandle: 2,
  })
  const total = menu.reduce((n, [, w]) => n + w, 0)
  const pick = () => {
    let r = int(total)
    for (const [name, w] of menu) if ((r -= w) < 0) return name
    return 'get'
  }

  if (stream) parentPort.postMessage({ type: 'running', id })
  const start = Date.now()
  let n = 0
  while (Date.now() - start < durationMs) {
    const name = pick()
    counts[name] = (counts[name] ?? 0) + 1
    await ops[name]()
    n++
    if (stream && log.length >= 16) {
      parentPort.postMessage({ type: 'log', id, log, mismatches: mismatches.splice(0) })
      log = []
    }
    // let the subscriber's loop and the pool's callbacks run
    if (n % 25 === 0) await new Promise((resolve) => setImmediate(resolve))
  }

  // everything this worker wrote reads back exactly as its model says
  for (let ti = 0; ti < 3; ti++) {
    const actual = ti === 2 ? trees[2].iter().toArray() : trees[ti].scanPrefix(prefix).toArray()
    sameList(pairs(actual), pairs(sorted(ti)), `final contents of tree ${ti}`)
    for (const [k, v] of actual) same(v.toString(), models[ti].get(k.toString()), `final value of ${k}`)
  }
  sub.close()
  await subLoop
  db.close()
  parentPort.postMessage({ type: 'done', id, ops: n, counts, log, mismatches, events, subEnd })
}
