// Inline worker threads for tests: a CommonJS snippet with the package loaded, and
// the one way to wait for what a worker reports.
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { entry } from './child.js'

/** An inline CommonJS worker with `sled`, `parentPort` and `workerData` in scope. */
export function worker(code: string, workerData: unknown): Worker {
  const script = `const { parentPort, workerData } = require('node:worker_threads')
const sled = require(${JSON.stringify(entry)})
${code}`
  return new Worker(script, { eval: true, workerData })
}

/** The next message from `w`; rejects if the worker fails or exits first. */
export function nextMessage<T = unknown>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: T) => {
      cleanup()
      resolve(m)
    }
    const onError = (e: unknown) => {
      cleanup()
      reject(e)
    }
    const onExit = (code: number) => {
      cleanup()
      reject(new Error(`worker exited with ${code} before sending a message`))
    }
    const cleanup = () => {
      w.off('message', onMessage)
      w.off('error', onError)
      w.off('exit', onExit)
    }
    w.on('message', onMessage)
    w.on('error', onError)
    w.on('exit', onExit)
  })
}

/**
 * Runs `code` in two workers at once and resolves with the one message each sends, after
 * both exited. In `code`, `startTogether()` waits until both workers reach it, so their
 * loops overlap as much as possible.
 */
export async function inTwoWorkers<T>(code: string, workerData: Record<string, unknown>): Promise<T[]> {
  const gate = new Int32Array(new SharedArrayBuffer(4))
  const script = `function startTogether() {
  const { gate } = workerData
  if (Atomics.add(gate, 0, 1) + 1 === 2) Atomics.notify(gate, 0)
  else while (Atomics.load(gate, 0) < 2) Atomics.wait(gate, 0, 1, 100)
}
${code}`
  const workers = [0, 1].map(() => worker(script, { ...workerData, gate }))
  const exited = workers.map((w) => once(w, 'exit'))
  const results = await Promise.all(workers.map((w) => nextMessage<T>(w)))
  await Promise.all(exited)
  return results
}
