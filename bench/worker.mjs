// read-workers, worker-thread side: opens the shared database through the contender's
// adapter (option `shared`: attach to what the main thread opened) and reads blocks of
// random keys from its own pool (seed + 3 + index), reporting when each block started and
// ended on the clock all threads share (workers.mjs turns that into wall-clock time).

import { parentPort, workerData } from 'node:worker_threads'
import { loadAdapter } from './adapter.mjs'
import { pool, POOL } from './data.mjs'
import { sampledReads } from './workloads.mjs'
import { expectValue } from './checks.mjs'
import { blockRunner } from './ops.mjs'

const cfg = workerData
// ms on the monotonic clock every thread of the process shares (performance.now() is per thread)
const nowMs = () => Number(process.hrtime.bigint()) / 1e6
const a = await loadAdapter(cfg.contender)
const db = await a.open(cfg.dir, { valueSize: cfg.valueSize, shared: true })
const reads = sampledReads(db, a, pool(cfg.seed + 3 + cfg.index, cfg.n, 0, POOL), cfg, (v, i, w) =>
  expectValue(v, i, cfg, `${w} worker ${cfg.index}`),
)
const run = blockRunner(reads.op, a.inFlight.get)
let at = 0

parentPort.on('message', async (m) => {
  try {
    if (m.stop) {
      await db.close()
      parentPort.postMessage({ stopped: true })
      parentPort.close()
      return
    }
    if (m.hello) return parentPort.postMessage({ ready: true })
    const start = nowMs()
    const pending = run(at, m.count)
    if (pending) await pending
    const end = nowMs()
    at += m.count
    reads.check()
    parentPort.postMessage({ start, end })
  } catch (e) {
    parentPort.postMessage({ error: `${e.message}` })
  }
})
