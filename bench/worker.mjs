// read-workers, worker-thread side: opens the shared database through the contender's
// adapter (option `shared`: attach to what the main thread filled) and reads blocks of
// random keys from its own pool (seed + 3 + index), timing each block itself.

import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { loadAdapter } from './adapter.mjs'
import { pool, POOL } from './data.mjs'
import { sampledReads } from './workloads.mjs'
import { expectValue } from './checks.mjs'
import { blockRunner } from './ops.mjs'

const cfg = workerData
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
    const start = performance.now()
    const pending = run(at, m.count)
    if (pending) await pending
    const ms = performance.now() - start
    at += m.count
    reads.check()
    parentPort.postMessage({ ms })
  } catch (e) {
    parentPort.postMessage({ error: `${e.message}` })
  }
})
