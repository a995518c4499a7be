// The write tasks of one batcher (src/batcher.ts) on a native serial queue, run in the order
// sent on the shared writer threads (crates/sled-node/src/writer.rs; crates/sled-core/src/
// serial.rs says why not on the libuv pool): `run` returns a promise per task, settled once
// it has run.

import type { Buffer } from 'node:buffer'
import type { Results } from './batcher.js'
import { newNativeWriter, type NativeTree, type NativeWriter } from './native.js'

type Pending = { resolve: (results: Results) => void; reject: (error: unknown) => void }

/**
 * Lines with tasks pending. The native writer wakes a line through a weak reference (so
 * that a forgotten Tree object can be collected with its line); while a task is pending,
 * its line must not be collected, though the caller may hold only the promise.
 */
const busy = new Set<WriteLine>()

export class WriteLine {
  readonly #native: NativeWriter
  readonly #pending = new Map<number, Pending>()
  #last = 0

  constructor() {
    const line = new WeakRef(this)
    this.#native = newNativeWriter(() => {
      const self = line.deref()
      if (self !== undefined) self.#deliver()
    })
  }

  /** Queues the packed `ops` of `tree` after the tasks sent before (throws, queueing nothing, when `tree` is closed or the list malformed). */
  run(tree: NativeTree, ops: Buffer): Promise<Results> {
    const id = (this.#last = (this.#last + 1) >>> 0)
    this.#native.send(tree, ops, id)
    // set before any outcome can be delivered: that happens on this thread, later
    return new Promise<Results>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      if (this.#pending.size === 1) {
        busy.add(this)
        this.#native.keepAlive(true)
      }
    })
  }

  #deliver(): void {
    const taken = this.#native.take()
    for (let i = 0; i < taken.length; i += 3) {
      const id = taken[i] as number
      const pending = this.#pending.get(id)
      if (pending === undefined) continue
      this.#pending.delete(id)
      if (taken[i + 1] === true) pending.reject(taken[i + 2])
      else pending.resolve(taken[i + 2] as Results)
    }
    if (this.#pending.size === 0) {
      busy.delete(this)
      this.#native.keepAlive(false)
    }
  }
}
