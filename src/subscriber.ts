// Subscriber: watchPrefix's async iterator of insert/remove events. The native pump
// queues events off the JS thread and wakes `#wake` when some are waiting; `next()`
// takes them in one packed chunk.

import type { Buffer } from 'node:buffer'
import type { Coders } from './encodings.js'
import { SledClosedError } from './errors.js'
import type { Life } from './iterator.js'
import type { NativeSubscriber } from './native.js'

export type Event<K = Buffer, V = Buffer> = { type: 'insert'; key: K; value: V } | { type: 'remove'; key: K }

export interface WatchOptions {
  /** Ends the subscription when aborted. */
  signal?: AbortSignal
  /** Most events kept unread before the subscriber fails with SLED_SUBSCRIBER_OVERFLOW (default 100,000). */
  highWaterMark?: number
}

interface Waiter<K, V> {
  resolve: (result: IteratorResult<Event<K, V>>) => void
  reject: (error: unknown) => void
}

/** `[count u32] ([kind u8][klen u32][vlen u32][key][value])*`, little-endian. */
function unpack<K, V>(chunk: Buffer, out: Event<K, V>[], coders: Coders): void {
  const count = chunk.readUInt32LE(0)
  let at = 4
  for (let i = 0; i < count; i++) {
    const kind = chunk[at]
    const klen = chunk.readUInt32LE(at + 1)
    const vlen = chunk.readUInt32LE(at + 5)
    at += 9
    const key = coders.key.decode(chunk.subarray(at, at + klen)) as K
    at += klen
    if (kind === 1) out.push({ type: 'insert', key, value: coders.value.decode(chunk.subarray(at, at + vlen)) as V })
    else out.push({ type: 'remove', key })
    at += vlen
  }
}

export class Subscriber<K = Buffer, V = Buffer> implements AsyncIterableIterator<Event<K, V>> {
  #native: NativeSubscriber | undefined
  // keeps the tree (and its Db) alive while the subscriber is reachable
  readonly #owner: object
  readonly #life: Life
  readonly #coders: Coders
  #events: Event<K, V>[] = []
  #waiter: Waiter<K, V> | undefined
  #error: unknown
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => this.close()

  /** @internal created by watchPrefix() */
  constructor(start: (wake: () => void) => NativeSubscriber, owner: object, life: Life, signal: AbortSignal | undefined, coders: Coders) {
    this.#owner = owner
    this.#life = life
    this.#coders = coders
    this.#native = start(() => this.#wake())
    this.#signal = signal
    if (signal?.aborted) this.close()
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Moves every waiting native event into `#events`; false if the subscriber is over. */
  #pull(): boolean {
    const native = this.#native
    if (native === undefined) return false
    try {
      const chunk = native.take()
      if (chunk !== null) unpack(chunk, this.#events, this.#coders)
      return true
    } catch (error) {
      // closed with its Db, or overflowed: end with that error
      this.#error = error
      this.#release()
      return false
    }
  }

  #wake(): void {
    const waiter = this.#waiter
    if (waiter === undefined) return
    this.#pull()
    const outcome = this.#settle()
    if (outcome === undefined) return
    this.#waiter = undefined
    this.#native?.keepAlive(false)
    if ('error' in outcome) waiter.reject(outcome.error)
    else waiter.resolve(outcome.result)
  }

  /** What the next `next()` gets if it is ready: an event, the end, or the error that ended it. */
  #settle(): { result: IteratorResult<Event<K, V>> } | { error: unknown } | undefined {
    const event = this.#events.shift()
    if (event !== undefined) return { result: { done: false, value: event } }
    if (this.#error !== undefined) {
      const error = this.#error
      this.#error = undefined
      return { error }
    }
    if (this.#native === undefined) return { result: { done: true, value: undefined } }
    return undefined
  }

  next(): Promise<IteratorResult<Event<K, V>>> {
    if (this.#waiter !== undefined) {
      return Promise.reject(new TypeError('Subscriber.next() called again before the previous call settled'))
    }
    if (this.#life.closed && this.#native !== undefined) {
      this.#release()
      return Promise.reject(new SledClosedError('subscriber next: the database handle is closed'))
    }
    if (this.#events.length === 0) this.#pull()
    const outcome = this.#settle()
    if (outcome !== undefined) return 'error' in outcome ? Promise.reject(outcome.error) : Promise.resolve(outcome.result)
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject }
      this.#native?.keepAlive(true)
    })
  }

  #release(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort)
    const native = this.#native
    this.#native = undefined
    native?.close()
  }

  /** Ends the subscription: a pending `next()` resolves as done; queued events are dropped. */
  close(): void {
    this.#events = []
    this.#release()
    const waiter = this.#waiter
    this.#waiter = undefined
    waiter?.resolve({ done: true, value: undefined })
  }

  return(): Promise<IteratorResult<Event<K, V>>> {
    this.close()
    return Promise.resolve({ done: true, value: undefined })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}
