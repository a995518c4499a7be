// read-workers, main-thread side: two worker threads (worker.mjs) open the same database
// directory through the same adapter and read random keys. One tinybench iteration asks
// both for a block at once; its duration is wall-clock time from the first worker's start
// to the last worker's end (each reports both instants on the process's monotonic clock,
// process.hrtime, which all threads share), reported to tinybench as
// overriddenDuration: message passing is not timed, and two workers can never be credited
// with more than the time they actually took together.

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
    // what the tables show: each worker issues its reads as read-rand does
    inFlightShown: `${WORKERS} × ${a.inFlight.get ?? 'sync'}`,
    opsPerIteration: WORKERS * a.block,
    fn: async () => {
      const answers = await Promise.all(workers.map((w) => ask(w, { count: a.block })))
      return { overriddenDuration: Math.max(...answers.map((x) => x.end)) - Math.min(...answers.map((x) => x.start)) }
    },
    async close() {
      await Promise.all(workers.map(async (w) => {
        await ask(w, { stop: true })
        await once(w, 'exit')
      }))
    },
  }
}
