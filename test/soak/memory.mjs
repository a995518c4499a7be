// Memory soak (not a vitest test; CI does not run it): inserts and overwrites over a
// bounded key space for a while, with sled's cache small, sampling RSS and
// process.memoryUsage().external every second. Prints a table and a verdict: after the
// warm-up, RSS and external memory may grow by at most the bound (see BOUND below).
//
//   node --expose-gc test/soak/memory.mjs [--duration 60] [--cache-mb 16] [--keys 100000]
//                                         [--warmup S] [--bound-mb 48] [--path DIR]
//                                         [--workload mixed|reads]
//
// `mixed` (default) is the overwrite-heavy workload; `reads` fills the key space once
// and then only reads (get, getMany, getAsync, ranges), which keeps sled's own state
// fixed and so isolates what the binding's read path does to memory.
//
// Exit code 0 when within the bound, 1 otherwise. With --expose-gc each sample is taken
// after a full GC, so what is measured is what is still referenced or leaked, not garbage
// that has not been collected yet.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Batch, open } from 'sled-node'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    'cache-mb': { type: 'string', default: '16' },
    keys: { type: 'string', default: '100000' },
    warmup: { type: 'string' },
    'bound-mb': { type: 'string', default: '48' },
    path: { type: 'string' },
    workload: { type: 'string', default: 'mixed' },
  },
})
const DURATION_S = Number(args.duration)
const CACHE = Number(args['cache-mb']) * 2 ** 20
const KEYS = Number(args.keys)
// sled's caches, page table and segments fill up first: the first quarter (at least 15 s) is warm-up
const WARMUP_S = Number(args.warmup ?? Math.max(15, Math.round(DURATION_S / 4)))
// BOUND: growth allowed after warm-up, for RSS and for external memory each.
// Why 48 MiB: with the key space and value sizes fixed, sled's working set is bounded once
// warmed up (cache 16 MiB, page table and segment buffers sized by the data, which stops
// growing when every key has been written). What remains is allocator noise across sled's
// threads (the addon's mimalloc keeps per-thread heaps and freed pages a while) and V8's
// heap sizing, a few MiB to tens of MiB. A real leak
// scales with the operation count: one small Buffer or IVec (about 100 bytes with
// bookkeeping) lost per operation at the ~20,000+ ops/s this loop runs is 2 MB/s, i.e.
// about 90 MiB over the 45 s measured window of the default 60 s run, and
// proportionally more in longer runs, so the bound catches it while the noise stays below it.
const BOUND = Number(args['bound-mb']) * 2 ** 20

if (!Number.isFinite(DURATION_S) || DURATION_S <= WARMUP_S) {
  console.error(`--duration (${DURATION_S} s) must be longer than the warm-up (${WARMUP_S} s)`)
  process.exit(2)
}

const ownDir = args.path === undefined
const dir = args.path ?? mkdtempSync(join(tmpdir(), 'sled-node-soak-'))
const db = open(join(dir, 'db'), { cacheCapacity: CACHE, flushEveryMs: 500 })
const tree = db.openTree('second')

// xorshift32: a fixed workload from run to run
let state = 0x9e3779b9
const rand = () => {
  state ^= state << 13
  state ^= state >>> 17
  state ^= state << 5
  return (state >>> 0) / 4294967296
}
const int = (n) => Math.floor(rand() * n)
const key = (n) => `key-${String(n).padStart(8, '0')}`
const payload = Buffer.alloc(64 * 1024, 'v')
// mostly small values, a few larger ones (4-16 KiB)
const valueOf = () => payload.subarray(0, rand() < 0.02 ? 4096 + int(12288) : 32 + int(480))

let ops = 0
/** One step of the read-only workload. */
async function readStep() {
  const r = int(100)
  const t = r & 1 ? db : tree
  if (r < 70) t.get(key(int(KEYS)))
  else if (r < 80) t.getMany([key(int(KEYS)), key(int(KEYS)), key(int(KEYS))])
  else if (r < 90) await t.getAsync(key(int(KEYS)))
  else {
    let n = 0
    for (const _ of t.range({ gte: key(int(KEYS)), limit: 100 })) n++
    ops += n
  }
  ops++
}

/** One step of the mixed workload; overwrites dominate, as the issue asks. */
async function mixedStep() {
  const r = int(100)
  const t = r & 1 ? db : tree
  if (r < 60) t.insert(key(int(KEYS)), valueOf())
  else if (r < 68) t.remove(key(int(KEYS)))
  else if (r < 80) t.get(key(int(KEYS)))
  else if (r < 84) {
    const batch = new Batch()
    for (let i = 0; i < 50; i++) batch.insert(key(int(KEYS)), valueOf())
    t.apply(batch)
    ops += 49
  } else if (r < 88) {
    let n = 0
    for (const _ of t.range({ gte: key(int(KEYS)), limit: 100 })) n++
    ops += n
  } else if (r < 92) t.compareAndSwap(key(int(KEYS)), undefined, valueOf())
  else if (r < 96) await t.insertAsync(key(int(KEYS)), valueOf())
  else if (r < 98) t.getMany([key(int(KEYS)), key(int(KEYS)), key(int(KEYS))])
  else t.updateAndFetch(key(int(KEYS)), (old) => (old ? old.subarray(0, 8) : valueOf()))
  ops++
}

const MB = (n) => (n / 2 ** 20).toFixed(1)
const samples = []
const started = Date.now()
let lastOps = 0
let lastT = 0
let stop = false

function sample() {
  global.gc?.()
  const m = process.memoryUsage()
  const now = (Date.now() - started) / 1000
  const s = {
    t: now,
    ops: ops - lastOps,
    // the sampling timer fires late while the loop is busy: a rate, not a count per tick
    opsPerS: Math.round((ops - lastOps) / (now - lastT)),
    rss: m.rss,
    heap: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    disk: db.sizeOnDisk(),
  }
  lastOps = ops
  lastT = now
  samples.push(s)
  console.log(
    [s.t.toFixed(1).padStart(6), String(s.opsPerS).padStart(8), MB(s.rss).padStart(8), MB(s.heap).padStart(7), MB(s.external).padStart(9), MB(s.arrayBuffers).padStart(7), MB(s.disk).padStart(8)].join(' '),
  )
  if (s.t >= DURATION_S) stop = true
}

if (args.workload !== 'mixed' && args.workload !== 'reads') {
  console.error(`--workload must be mixed or reads, not ${args.workload}`)
  process.exit(2)
}
if (args.workload === 'reads') {
  for (const t of [db, tree]) {
    for (let i = 0; i < KEYS; i += 1000) {
      const batch = new Batch()
      for (let j = i; j < Math.min(KEYS, i + 1000); j++) batch.insert(key(j), valueOf())
      t.apply(batch)
    }
  }
  db.flush()
}
const step = args.workload === 'reads' ? readStep : mixedStep

console.log(`memory soak (${args.workload}): ${DURATION_S} s (warm-up ${WARMUP_S} s), cacheCapacity ${MB(CACHE)} MiB, ${KEYS} keys x 2 trees, bound ${MB(BOUND)} MiB, gc ${global.gc ? 'forced before each sample' : 'not exposed (run with --expose-gc)'}`)
console.log('     t    ops/s   rss MB heap MB external MB  abuf MB  disk MB')
const timer = setInterval(sample, 1000)
while (!stop) {
  for (let i = 0; i < 200; i++) await step()
  await new Promise((resolve) => setImmediate(resolve))
}
clearInterval(timer)
db.close()
if (ownDir) rmSync(dir, { recursive: true, force: true })

// verdict: median of the first 5 samples after warm-up against the median of the last 5
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const after = samples.filter((s) => s.t > WARMUP_S)
const first = after.slice(0, 5)
const last = after.slice(-5)
const growth = (field) => median(last.map((s) => s[field])) - median(first.map((s) => s[field]))
const peak = Math.max(...samples.map((s) => s.rss))
const rssGrowth = growth('rss')
const externalGrowth = growth('external')
const totalOps = samples.reduce((n, s) => n + s.ops, 0)
const measuredOps = after.reduce((n, s) => n + s.ops, 0)
const end = samples.at(-1).t
const ok = rssGrowth <= BOUND && externalGrowth <= BOUND
console.log(
  `\n${totalOps} operations in ${end.toFixed(0)} s (${Math.round(totalOps / end)} ops/s); ` +
    `RSS after warm-up ${MB(median(first.map((s) => s.rss)))} MiB -> at the end ${MB(median(last.map((s) => s.rss)))} MiB ` +
    `(growth ${MB(rssGrowth)} MiB, at most ${(Math.max(0, rssGrowth) / measuredOps).toFixed(1)} bytes per operation after warm-up even if all of it were a leak), ` +
    `peak ${MB(peak)} MiB; external growth ${MB(externalGrowth)} MiB; sled's files ${MB(samples.at(-1).disk)} MiB on disk; bound ${MB(BOUND)} MiB`,
)
console.log(ok ? 'VERDICT: PASS (growth after warm-up is within the bound)' : 'VERDICT: FAIL (memory grew past the bound after warm-up)')
process.exitCode = ok ? 0 : 1
