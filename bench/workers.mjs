// read-workers, main-thread side: two worker threads (worker.mjs) open the same database
// directory through the same adapter and read random keys. One tinybench iteration asks
// both for a block at once; its duration is the slower worker's own timing of its block
// (reported to tinybench as overriddenDuration), so message passing is not timed.

import { Worker } from 'node:worker_threads'
import { once } from 'node:events'

export const WORKERS = 2

function ask(worker, message) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      worker.off('error', onError)
      if (m.error) reject(new Error(m.error))
      else resolve(m)
    }
    const onError = (e) => {
      worker.off('message', onMessage)
      reject(e)
    }
    worker.once('message', onMessage)
    worker.once('error', onError)
    worker.postMessage(message)
  })
}

export async function workersTask(a, cfg) {
  const url = new URL('./worker.mjs', import.meta.url)
  const workers = Array.from({ length: WORKERS }, (_, index) => new Worker(url, { workerData: { ...cfg, index } }))
  await Promise.all(workers.map((w) => ask(w, { hello: true })))
  return {
    inFlight: 1,
    opsPerIteration: WORKERS * a.block,
    fn: async () => {
      const answers = await Promise.all(workers.map((w) => ask(w, { count: a.block })))
      return { overriddenDuration: Math.max(...answers.map((x) => x.ms)) }
    },
    async close() {
      await Promise.all(workers.map(async (w) => {
        await ask(w, { stop: true })
        await once(w, 'exit')
      }))
    },
  }
}
