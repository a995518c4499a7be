// Coalesces the getAsync calls of one tick into one pool task: a pool round trip costs
// several microseconds, far more than a sled read, so many reads in flight share it.

import type { Buffer } from 'node:buffer'
import { rejectOnThrow } from './reject.js'

type Waiter = { resolve: (value: Buffer | undefined) => void; reject: (error: unknown) => void }

/**
 * Enough keys per task to spread the pool round trip thin, few enough that a burst of
 * reads still becomes several tasks, which the pool's threads run in parallel.
 */
const MAX_KEYS = 128

export class GetBatcher {
  #keys: Uint8Array[] = []
  #waiters: Waiter[] = []
  readonly #one: (key: Uint8Array) => Promise<Buffer | undefined>
  readonly #many: (keys: Uint8Array[]) => Promise<(Buffer | undefined)[]>

  /** `one` reads a key on the pool, `many` several in one task; both may throw synchronously. */
  constructor(one: (key: Uint8Array) => Promise<Buffer | undefined>, many: (keys: Uint8Array[]) => Promise<(Buffer | undefined)[]>) {
    this.#one = one
    this.#many = many
  }

  /** The value of `key`, read with the other keys asked for in this tick. `key` must not change afterwards. */
  get(key: Uint8Array): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      if (this.#keys.length === 0) process.nextTick(() => this.#flush())
      this.#keys.push(key)
      this.#waiters.push({ resolve, reject })
      if (this.#keys.length === MAX_KEYS) this.#flush()
    })
  }

  #flush(): void {
    const keys = this.#keys
    const waiters = this.#waiters
    // the nextTick of a batch already flushed at MAX_KEYS finds this empty
    if (keys.length === 0) return
    this.#keys = []
    this.#waiters = []
    if (keys.length === 1) {
      const waiter = waiters[0] as Waiter
      rejectOnThrow(() => this.#one(keys[0] as Uint8Array)).then(waiter.resolve, waiter.reject)
      return
    }
    rejectOnThrow(() => this.#many(keys)).then(
      (values) => {
        for (let i = 0; i < waiters.length; i++) (waiters[i] as Waiter).resolve(values[i])
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error)
      },
    )
  }
}
