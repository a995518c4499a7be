// Subscriber: watchPrefix's async iterator of insert/remove events. The native pump
// queues events off the JS thread and wakes `#wake` when some are waiting; `next()`
// takes them in one packed chunk.

import type { Buffer } from 'node:buffer'
import type { Coders } from './encodings.js'
import { argError, SledClosedError } from './errors.js'
import type { Life } from './iterator.js'
import type { NativeSubscriber } from './native.js'
import { CONSTRUCT } from './token.js'

export type Event<K = Buffer, V = Buffer> = { type: 'insert'; key: K; value: V } | { type: 'remove'; key: K }

export interface WatchOptions {
  /** Ends the subscription when aborted. */
  signal?: AbortSignal
  /** Most events kept unread before the subscriber fails with SLED_SUBSCRIBER_OVERFLOW (default 100,000). */
  highWaterMark?: number
}

/**
 * Subscribers with a pending `next()`. The native wake-up holds only a WeakRef, so an
 * unreachable subscriber is collected (its finalizer stops the pump and frees the
 * tree); one that is waiting for events is rooted here, so a `for await` loop that
 * nothing else references is never collected while it waits.
 */
const waiting = new Set<object>()

interface Waiter<K, V> {
  resolve: (result: IteratorResult<Event<K, V>>) => void
  reject: (error: unknown) => void
}

const closedError = (): SledClosedError => new SledClosedError('subscriber next on a subscriber of a closed Db: the handle is closed')

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
  // pending next() calls, settled in order
  #waiters: Waiter<K, V>[] = []
  #error: unknown
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => this.close()

  /** @internal created by watchPrefix() */
  constructor(
    token: symbol,
    start: (wake: () => void) => NativeSubscriber,
    owner: object,
    life: Life,
    signal: AbortSignal | undefined,
    coders: Coders,
  ) {
    if (token !== CONSTRUCT) throw argError('ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: use watchPrefix()')
    this.#owner = owner
    this.#life = life
    this.#coders = coders
    const self = new WeakRef(this)
    this.#native = start(() => {
      const subscriber = self.deref()
      if (subscriber !== undefined) subscriber.#wake()
    })
    this.#signal = signal
    if (signal?.aborted) this.close()
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** ERR_INVALID_THIS unless `self` is a Subscriber. */
  static #check(self: unknown): void {
    if (typeof self !== 'object' || self === null || !(#events in self)) {
      throw argError('ERR_INVALID_THIS', 'Value of "this" must be of type Subscriber')
    }
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
      // refused inside a transaction callback: that call fails, the subscriber goes on
      if ((error as { code?: unknown }).code === 'SLED_TRANSACTION_MISUSE') throw error
      // closed with its Db, or overflowed: end with that error
      this.#error = error
      this.#release()
      return false
    }
  }

  #wake(): void {
    if (this.#waiters.length === 0) return
    if (this.#life.closed) {
      // the Db handle closed while next() calls waited: each rejects, as later ones will
      this.#end((waiter) => waiter.reject(closedError()))
      return
    }
    this.#pull()
    while (this.#waiters.length > 0) {
      const outcome = this.#settle()
      if (outcome === undefined) break
      const waiter = this.#waiters.shift() as Waiter<K, V>
      if ('error' in outcome) waiter.reject(outcome.error)
      else waiter.resolve(outcome.result)
    }
    if (this.#waiters.length === 0) {
      waiting.delete(this)
      this.#native?.keepAlive(false)
    }
  }

  #wait(): Promise<IteratorResult<Event<K, V>>> {
    return new Promise((resolve, reject) => {
      if (this.#waiters.length === 0) {
        waiting.add(this)
        this.#native?.keepAlive(true)
      }
      this.#waiters.push({ resolve, reject })
    })
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
    try {
      Subscriber.#check(this)
    } catch (error) {
      return Promise.reject(error)
    }
    // calls made while others wait queue behind them (async iterator protocol)
    if (this.#waiters.length > 0) return this.#wait()
    // once the Db handle is closed, every next() rejects (also after an earlier one did)
    if (this.#life.closed) {
      this.#end(() => undefined) // no waiters here: they would have been queued above
      return Promise.reject(closedError())
    }
    if (this.#events.length === 0) {
      try {
        this.#pull()
      } catch (error) {
        return Promise.reject(error)
      }
    }
    const outcome = this.#settle()
    if (outcome !== undefined) return 'error' in outcome ? Promise.reject(outcome.error) : Promise.resolve(outcome.result)
    return this.#wait()
  }

  #release(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort)
    const native = this.#native
    this.#native = undefined
    native?.close()
  }

  /** Ends the subscription: a pending `next()` resolves as done; queued events are dropped. */
  close(): void {
    Subscriber.#check(this)
    this.#end((waiter) => waiter.resolve({ done: true, value: undefined }))
  }

  /** Stops the subscription: drops queued events, frees the pump, settles every waiter. */
  #end(settle: (waiter: Waiter<K, V>) => void): void {
    this.#events = []
    this.#release()
    const waiters = this.#waiters
    this.#waiters = []
    waiting.delete(this)
    for (const waiter of waiters) settle(waiter)
  }

  return(): Promise<IteratorResult<Event<K, V>>> {
    try {
      Subscriber.#check(this)
      this.close()
    } catch (error) {
      return Promise.reject(error)
    }
    return Promise.resolve({ done: true, value: undefined })
  }

  [Symbol.asyncIterator](): this {
    Subscriber.#check(this)
    return this
  }
}
