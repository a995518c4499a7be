// One (contender × workload) run, in its own process and fresh directory (run.mjs forks
// this file per cell so no run inherits another's heap, caches or threads). Workload
// `load` fills the store that the read cells copy; a fill starts from an empty store; any
// other workload opens a copy of the loaded store (cfg.loaded) and warms it with one
// untimed full scan. Then tinybench times the workload, and the child sends one message
// { type: 'result' | 'skip', … } to the parent.
// Usage (by run.mjs): node bench/child.mjs '<json config>'

import { Bench } from 'tinybench'
import { loadAdapter } from './adapter.mjs'
import { key, value } from './data.mjs'
import { buildTask } from './workloads.mjs'
import { workersTask } from './workers.mjs'
import { expectValue, expectCount } from './checks.mjs'
import { cpuWindow, peakRssBytes } from './usage.mjs'

const cfg = JSON.parse(process.argv[2])
// if the harness dies, do not run on as an orphan (and so release servers we started)
process.on('disconnect', () => process.exit(1))
const send = (m) => new Promise((resolve) => (process.send ? process.send(m, resolve) : resolve(console.log(JSON.stringify(m)))))
const maybeAwait = async (x) => (x && typeof x.then === 'function' ? await x : x)

async function prefill(db) {
  const entryAt = (i) => [key(i), value(cfg.seed, i, cfg.valueSize)]
  if (db.load) return db.load(cfg.n, entryAt)
  const step = Math.max(1000, Math.ceil(cfg.n / 20 / 1000) * 1000)
  for (let start = 0; start < cfg.n; start += 1000) {
    const entries = []
    for (let i = start; i < Math.min(start + 1000, cfg.n); i++) entries.push(entryAt(i))
    await maybeAwait(db.batch(entries))
    if ((start + 1000) % step === 0) send({ type: 'phase', phase: `load ${Math.round(((start + 1000) / cfg.n) * 100)}%` })
  }
}

/** A store opened from a copy has its data in the OS page cache but not in its own: one
 *  untimed full scan (checked) brings it to where a store that was just filled is. */
async function warm(db) {
  if (!db.scan) return // sled-cli: every operation opens the store afresh anyway
  send({ type: 'phase', phase: 'warm' })
  expectCount((await maybeAwait(db.scan())).count, cfg.n, `${cfg.contender} warm-up scan of the copied store`)
}

/** After a fill: the first, middle and last inserted entries must read back. */
async function checkFill(db, task) {
  for (const p of [0, Math.floor(task.entries / 2), task.entries - 1]) {
    const i = task.inserted(p)
    expectValue(await maybeAwait(db.get(key(i))), i, cfg, `${cfg.contender} ${cfg.workload} read-back`)
  }
}

/** The loaded store the read cells copy: N entries in batches of 1,000, nothing timed. */
async function load(db) {
  send({ type: 'phase', phase: 'load' })
  await prefill(db)
  expectValue(await maybeAwait(db.get(key(cfg.n - 1))), cfg.n - 1, cfg, `${cfg.contender} load read-back`)
  return { opsPerSec: 0, rme: null, samples: 0, opsTimed: 0 }
}

async function timed(db, a) {
  const task = cfg.workload === 'read-workers' ? await workersTask(a, cfg) : buildTask(db, a, cfg)
  const fill = task.iterations !== undefined
  const minIterations = task.minIterations ?? 10
  const bench = new Bench({
    time: fill ? 0 : cfg.time,
    iterations: fill ? task.iterations : minIterations,
    warmup: !fill,
    warmupTime: Math.min(250, cfg.time / 4),
    warmupIterations: task.minIterations ? 1 : 5,
    throws: true,
  })
  bench.add(cfg.workload, task.fn, {
    async: task.inFlight !== undefined,
    beforeEach: task.beforeEach,
    afterEach: task.afterEach,
  })
  send({ type: 'phase', phase: 'timing' })
  const cpu = cpuWindow()
  await bench.run()
  const usage = cpu.end()
  const r = bench.tasks[0].result
  if (r.state !== 'completed') throw r.error ?? new Error(`tinybench task ${r.state}`)
  if (fill) await checkFill(db, task)
  await task.close?.()
  const note = [fill && task.entries !== cfg.n ? `inserted ${task.entries.toLocaleString('en-US')} of N entries` : '', task.note?.()]
  return {
    opsPerSec: (task.opsPerIteration * 1000) / r.latency.p50,
    rme: r.latency.rme,
    samples: r.latency.samplesCount,
    opsTimed: task.opsPerIteration * r.latency.samplesCount,
    inFlight: task.inFlightShown ?? task.inFlight ?? 'sync',
    ...usage,
    ...(note.some(Boolean) ? { note: note.filter(Boolean).join('; ') } : {}),
  }
}

async function main() {
  const a = await loadAdapter(cfg.contender)
  const reason = a.unsupported(cfg.workload)
  if (reason) return send({ type: 'skip', reason })
  const db = await a.open(cfg.dir, { valueSize: cfg.valueSize })
  if (cfg.loaded) await warm(db)
  const result = cfg.workload === 'load' ? await load(db) : await timed(db, a)
  const serverRss = db.serverPeakRssBytes?.() ?? 0
  await maybeAwait(db.close())
  await send({ type: 'result', result: { ...result, peakRssBytes: peakRssBytes() + serverRss } })
}

main().then(
  () => process.exit(0),
  async (e) => {
    await send({ type: 'error', reason: `${e.stack ?? e}` })
    process.exit(1)
  },
)
