// The workloads of BENCH.md as tinybench tasks over one adapter. Every key, value and
// random order is generated before timing (or in beforeEach, which tinybench does not
// time), so a sample is the store's work and nothing else. One tinybench iteration is
// a block of operations (adapter.block, 1,000 by default) because timing a single
// sub-microsecond call would mostly time the clock. Reads record the last value they
// saw and afterEach checks it against bench/data.mjs.

import { key, value, shuffled, pool, mixedStream, mixedBlock, POOL } from './data.mjs'
import { blockRunner } from './ops.mjs'
import { expectValue, expectMissing, expectEntry, expectCount } from './checks.mjs'

const BATCH = 1000

export const keysOf = (indices) => Array.from(indices, (i) => key(i))

/** Wraps `call(j)` so that its result (awaited for a promise API) is passed to record. */
function recording(call, inFlight, record) {
  return inFlight === undefined ? (j) => record(j, call(j)) : async (j) => record(j, await call(j))
}

/** A sampled reader: the op, plus a check of the last value it read. */
function sampledReads(db, a, indices, cfg, expect) {
  const keys = keysOf(indices)
  let last, lastAt = -1
  const op = recording((j) => db.get(keys[j % keys.length]), a.inFlight.get, (j, v) => {
    last = v
    lastAt = j % keys.length
  })
  const check = () => {
    if (lastAt >= 0) expect(last, indices[lastAt], `${cfg.contender} ${cfg.workload}`)
    lastAt = -1
  }
  return { op, check }
}

function fill(db, a, cfg, order) {
  const block = a.block
  // cfg.fillN: the run's cap on per-entry fills (--fill-n), the same for every contender
  const count = Math.floor(Math.min(order.length, cfg.fillN ?? cfg.n, a.fillLimit(cfg.workload, cfg.n)) / block) * block
  const ks = new Array(block)
  const vs = new Array(block)
  let at = 0
  const run = blockRunner((j) => db.put(ks[j], vs[j]), a.inFlight.put)
  return {
    inFlight: a.inFlight.put,
    opsPerIteration: block,
    iterations: count / block,
    entries: count,
    inserted: (p) => order[p],
    beforeEach() {
      for (let j = 0; j < block; j++) {
        ks[j] = key(order[at + j])
        vs[j] = value(cfg.seed, order[at + j], cfg.valueSize)
      }
    },
    fn: () => run(0, block),
    afterEach() {
      at += block
    },
  }
}

function fillBatch(db, a, cfg) {
  const count = Math.floor(a.fillLimit(cfg.workload, cfg.n) / BATCH) * BATCH
  let entries
  let at = 0
  return {
    inFlight: a.inFlight.batch,
    opsPerIteration: BATCH,
    iterations: count / BATCH,
    entries: count,
    inserted: (p) => p,
    beforeEach() {
      entries = []
      for (let i = at; i < at + BATCH; i++) entries.push([key(i), value(cfg.seed, i, cfg.valueSize)])
    },
    fn: () => db.batch(entries),
    afterEach() {
      at += BATCH
    },
  }
}

function pointReads(db, a, cfg, offset, expect) {
  const r = sampledReads(db, a, pool(cfg.seed + 2, cfg.n, offset, POOL), cfg, expect)
  const run = blockRunner(r.op, a.inFlight.get)
  let at = 0
  return {
    inFlight: a.inFlight.get,
    opsPerIteration: a.block,
    fn: () => run(at, a.block),
    afterEach() {
      at += a.block
      r.check()
    },
  }
}

function readMany(db, a, cfg) {
  const indices = pool(cfg.seed + 2, cfg.n, 0, POOL)
  const groups = []
  for (let g = 0; g + 100 <= indices.length; g += 100) groups.push(keysOf(indices.subarray(g, g + 100)))
  const calls = Math.max(1, a.block / 100)
  let last, lastGroup = -1, at = 0
  const op = recording((j) => db.getMany(groups[j % groups.length]), a.inFlight.getMany, (j, v) => {
    last = v
    lastGroup = j % groups.length
  })
  const run = blockRunner(op, a.inFlight.getMany)
  return {
    inFlight: a.inFlight.getMany,
    opsPerIteration: calls,
    fn: () => run(at, calls),
    afterEach() {
      at += calls
      if (lastGroup < 0) return
      expectCount(last.length, 100, `${cfg.contender} read-many`)
      expectValue(last[99], indices[lastGroup * 100 + 99], cfg, `${cfg.contender} read-many`)
    },
  }
}

function scanFull(db, a, cfg) {
  let last
  return {
    inFlight: a.inFlight.scan,
    opsPerIteration: cfg.n,
    minIterations: 3,
    fn: a.inFlight.scan === undefined ? () => void (last = db.scan()) : async () => void (last = await db.scan()),
    afterEach() {
      expectCount(last.count, cfg.n, `${cfg.contender} scan-full`)
      expectEntry(last.last, cfg.n - 1, cfg, `${cfg.contender} scan-full`)
    },
  }
}

function scanRange(db, a, cfg) {
  const starts = pool(cfg.seed + 2, cfg.n, 0, POOL)
  const keys = keysOf(starts)
  const calls = Math.max(1, a.block / 100)
  let last, lastAt = -1, at = 0
  const op = recording((j) => db.scanRange(keys[j % keys.length], 100), a.inFlight.scanRange, (j, v) => {
    last = v
    lastAt = j % keys.length
  })
  const run = blockRunner(op, a.inFlight.scanRange)
  return {
    inFlight: a.inFlight.scanRange,
    opsPerIteration: calls,
    fn: () => run(at, calls),
    afterEach() {
      at += calls
      if (lastAt < 0) return
      const i = starts[lastAt]
      expectCount(last.count, Math.min(100, cfg.n - i), `${cfg.contender} scan-range`)
      expectEntry(last.first, i, cfg, `${cfg.contender} scan-range`)
    },
  }
}

function mixed(db, a, cfg) {
  const stream = mixedStream(cfg.seed)
  const block = a.block
  let index, write
  const keys = new Array(block)
  const values = new Array(block)
  const inFlight = a.inFlight.put ?? a.inFlight.get
  const getIsAsync = a.inFlight.get !== undefined
  let last, lastAt = -1
  const op =
    inFlight === undefined
      ? (s) => {
          if (write[s]) db.put(keys[s], values[s])
          else (last = db.get(keys[s])), (lastAt = s)
        }
      : async (s) => {
          if (write[s]) await db.put(keys[s], values[s])
          else (last = getIsAsync ? await db.get(keys[s]) : db.get(keys[s])), (lastAt = s)
        }
  const run = blockRunner(op, inFlight)
  return {
    inFlight,
    opsPerIteration: block,
    // the next block of the stream, drawn before it is timed (tinybench does not time beforeEach)
    beforeEach() {
      ;({ index, write } = mixedBlock(stream, cfg.n, block))
      for (let s = 0; s < block; s++) {
        keys[s] = key(index[s])
        values[s] = write[s] ? value(cfg.seed, index[s], cfg.valueSize) : undefined
      }
    },
    fn: () => run(0, block),
    afterEach() {
      if (lastAt >= 0) expectValue(last, index[lastAt], cfg, `${cfg.contender} mixed`)
      lastAt = -1
    },
  }
}

/** The task of `cfg.workload` (read-workers is built by workers.mjs). */
export function buildTask(db, a, cfg) {
  switch (cfg.workload) {
    case 'fill-seq':
      return fill(db, a, cfg, Array.from({ length: cfg.n }, (_, i) => i))
    case 'fill-rand':
      return fill(db, a, cfg, shuffled(cfg.seed, cfg.n))
    case 'fill-batch':
      return fillBatch(db, a, cfg)
    case 'read-rand':
      return pointReads(db, a, cfg, 0, (v, i, w) => expectValue(v, i, cfg, w))
    case 'read-miss':
      return pointReads(db, a, cfg, cfg.n, (v, i, w) => expectMissing(v, i, w))
    case 'read-many':
      return readMany(db, a, cfg)
    case 'scan-full':
      return scanFull(db, a, cfg)
    case 'scan-range':
      return scanRange(db, a, cfg)
    case 'mixed':
      return mixed(db, a, cfg)
    default:
      throw new Error(`unknown workload ${cfg.workload}`)
  }
}

export { sampledReads }
