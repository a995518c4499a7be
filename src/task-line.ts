// The tasks of one batcher (src/batcher.ts) on the shared native task threads
// (crates/sled-node/src/task_line.rs; crates/sled-core/src/serial.rs says why not on the
// libuv pool): tasks with a write run in the order sent, one at a time; tasks of reads
// alone run at once, in parallel. `run` returns a promise per task, settled once it has run.

import type { Buffer } from 'node:buffer'
import type { Results } from './batcher.js'
import { newNativeTaskLine, type NativeTaskLine, type NativeTree } from './native.js'

type Pending = { resolve: (results: Results) => void; reject: (error: unknown) => void }

/**
 * Lines with tasks pending. The native line wakes a line through a weak reference (so
 * that a forgotten Tree object can be collected with its line); while a task is pending,
 * its line must not be collected, though the caller may hold only the promise.
 */
const busy = new Set<TaskLine>()

export class TaskLine {
  readonly #native: NativeTaskLine
  readonly #pending = new Map<number, Pending>()
  #last = 0

  /** `makeNative`: the native line's constructor (a stand-in in the tests). */
  constructor(makeNative: (notify: () => void) => NativeTaskLine = newNativeTaskLine) {
    const line = new WeakRef(this)
    this.#native = makeNative(() => {
      const self = line.deref()
      if (self !== undefined) self.#deliver()
    })
  }

  /** Queues the packed `ops` of `tree` (with `batch`, one applyAsync's packed batch, ordered): when `ordered`, after the ordered tasks sent before, otherwise to run at once (throws, queueing nothing, when `tree` is closed or the list malformed, or the process cannot be kept alive for it). */
  run(tree: NativeTree, ops: Buffer, ordered: boolean, batch = false): Promise<Results> {
    const id = (this.#last = (this.#last + 1) >>> 0)
    const first = this.#pending.size === 0
    // before the send: once a task is queued, nothing here may throw, or its caller
    // would see an error for a write that lands
    if (first) this.#native.keepAlive(true)
    try {
      this.#native.send(tree, ops, id, ordered, batch)
    } catch (error) {
      if (first) this.#native.keepAlive(false)
      throw error
    }
    if (first) busy.add(this)
    // set before any outcome can be delivered: that happens on this thread, later
    return new Promise<Results>((resolve, reject) => this.#pending.set(id, { resolve, reject }))
  }

  #deliver(): void {
    let taken: ReturnType<NativeTaskLine['take']>
    try {
      taken = this.#native.take()
    } catch (error) {
      // the outcomes it had taken are lost (it throws only when a JS value cannot be
      // made): every pending task fails with that error rather than never settle, as
      // a failed write task does whose ops may have run
      const pending = [...this.#pending.values()]
      this.#pending.clear()
      this.#idle()
      for (const p of pending) p.reject(error)
      return
    }
    for (let i = 0; i < taken.length; i += 3) {
      const id = taken[i] as number
      const pending = this.#pending.get(id)
      if (pending === undefined) continue
      this.#pending.delete(id)
      if (taken[i + 1] === true) pending.reject(taken[i + 2])
      else pending.resolve(taken[i + 2] as Results)
    }
    if (this.#pending.size === 0) this.#idle()
  }

  /** No task is pending: the line may be collected, and the process may end. */
  #idle(): void {
    busy.delete(this)
    this.#native.keepAlive(false)
  }
}
