// EntryIterator: a sync and async iterator over [key, value] pairs, fed by chunks of
// entries from the native iterator (one native call per chunk, not per entry). A chunk
// is `[count u32] ([klen u32][vlen u32][key][value])*`, little-endian, with LAST set in
// the count word of the last one; each entry is cut out of it when next() reaches it,
// so a scan keeps one entry alive at a time, not a whole chunk of them (entries that
// die young cost the GC nothing; thousands held across a scavenge were all copied).

import { Buffer } from 'node:buffer'
import type { Coders } from './encodings.js'
import { argError, SledClosedError } from './errors.js'
import type { NativeIter } from './native.js'
import { CONSTRUCT } from './token.js'

export type Entry<K, V> = [key: K, value: V]

/** Shared by a Db, its trees and their iterators: set when the Db handle closes. */
export interface Life {
  closed: boolean
}

/** Little-endian u32 at `at` (inlined arithmetic; faster than readUInt32LE here). */
function u32(b: Buffer, at: number): number {
  return ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) + (b[at + 3] as number) * 0x1000000
}

/** Set in a chunk's count word when no chunk follows it (crates/sled-node/src/iter.rs). */
const LAST = 0x80000000

/** An empty chunk: the state before the first fetch and after the last entry. */
const NO_ENTRIES = Buffer.alloc(0)

/**
 * How an EntryIterator starts, on its first step: `first()` for a sync one (one native
 * call that also reads the first chunk: the whole of a short range, with no native
 * iterator made at all), `open()` for an async one (the chunks are then read on the pool).
 */
export interface IterSource {
  first(): Buffer | NativeIter
  open(): NativeIter
}

export class EntryIterator<K = Buffer, V = Buffer> implements IterableIterator<Entry<K, V>>, AsyncIterable<Entry<K, V>> {
  // until the first step; then the native iterator, until its last chunk
  #source: IterSource | undefined
  #native: NativeIter | undefined
  // keeps the tree (and so its Db) alive while the iterator is reachable
  readonly #owner: object
  readonly #life: Life
  readonly #coders: Coders
  // the chunk being read: its bytes (and, read once, its ArrayBuffer and offset in it),
  // where the next entry starts, how many are left
  #chunk: Buffer = NO_ENTRIES
  #bytes: ArrayBufferLike = NO_ENTRIES.buffer
  #base = 0
  #at = 0
  #left = 0
  // async next() calls run one after another, so chunks are consumed in order
  #pending: Promise<unknown> = Promise.resolve()
  // async next() calls not yet settled: a sync step meanwhile is refused, since it
  // would race the chunk being fetched for them (one position, one consumer at a time)
  #inFlight = 0

  /** @internal created by range(), scanPrefix() and iter() */
  constructor(token: symbol, source: IterSource, owner: object, life: Life, coders: Coders) {
    if (token !== CONSTRUCT) throw argError('ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: use range(), scanPrefix() or iter()')
    this.#source = source
    this.#owner = owner
    this.#life = life
    this.#coders = coders
  }

  /** ERR_INVALID_THIS unless `self` is an EntryIterator (a brand check: cheap on the hot path). */
  static #check(self: unknown): void {
    if (typeof self !== 'object' || self === null || !(#chunk in self)) {
      throw argError('ERR_INVALID_THIS', 'Value of "this" must be of type EntryIterator')
    }
  }

  /** The next buffered entry, or undefined when a chunk must be fetched (or it is over). */
  #take(): IteratorResult<Entry<K, V>> | undefined {
    // once the Db handle is closed, every next() throws: also after an earlier one threw,
    // and with entries still buffered (a scan cut short must not look finished)
    if (this.#life.closed) {
      this.close()
      throw new SledClosedError('iterator next on an iterator of a closed Db: the handle is closed')
    }
    if (this.#left > 0) return { done: false, value: this.#entry() }
    if (this.#native === undefined && this.#source === undefined) return { done: true, value: undefined }
    return undefined
  }

  /** A sync step needs entries: the first chunk (see IterSource), or the next one. */
  #fetch(): void {
    const source = this.#source
    if (source === undefined) {
      // #take returned undefined and there is no source, so #native is set
      this.#refill((this.#native as NativeIter).nextChunk())
      return
    }
    this.#source = undefined
    const first = source.first()
    if (first instanceof Uint8Array) this.#refill(first)
    else this.#native = first
  }

  /**
   * Reads the next chunk on the pool (an iterator not started yet opens natively first),
   * and has the one after it read ahead.
   * If the iterator is closed while the chunk is read, the chunk, or the error of a read
   * the close overtook, is dropped: after close() every step is done.
   */
  async #fetchAsync(): Promise<void> {
    if (this.#source !== undefined) {
      this.#native = this.#source.open()
      this.#source = undefined
    }
    const native = this.#native as NativeIter
    let chunk: Buffer | null
    try {
      chunk = await native.nextChunkAsync()
    } catch (err) {
      if (this.#native === native) throw err
      return
    }
    if (this.#native !== native) return
    this.#refill(chunk)
    // more to come: the pool reads the next chunk while this one is taken (the next
    // fetch hands it out); it never rejects, and a failed read is the next fetch's error
    if (this.#native === native) void native.readAhead()
  }

  /** Cuts the next entry out of the chunk: views of its bytes, decoded if need be. */
  #entry(): Entry<K, V> {
    const chunk = this.#chunk
    const at = this.#at
    const klen = u32(chunk, at)
    const vlen = u32(chunk, at + 4)
    const start = this.#base + at + 8
    // views into the chunk, not copies (a kept key keeps its chunk alive);
    // Buffer.from(arrayBuffer, …) is cheaper than subarray()
    const key = Buffer.from(this.#bytes, start, klen)
    const value = Buffer.from(this.#bytes, start + klen, vlen)
    this.#at = at + 8 + klen + vlen
    this.#left--
    const coders = this.#coders
    return [(coders.key.raw ? key : coders.key.decode(key)) as K, (coders.value.raw ? value : coders.value.decode(value)) as V]
  }

  #refill(chunk: Buffer | null): void {
    this.#chunk = NO_ENTRIES
    this.#left = 0
    if (chunk === null) {
      this.#finish()
      return
    }
    const word = u32(chunk, 0)
    this.#chunk = chunk
    this.#bytes = chunk.buffer
    this.#base = chunk.byteOffset
    this.#at = 4
    this.#left = word >= LAST ? word - LAST : word
    // after the last chunk the native iterator is already spent: no fetch, no close
    if (word >= LAST) this.#native = undefined
  }

  #finish(): void {
    this.#source = undefined
    this.#native?.close()
    this.#native = undefined
  }

  next(): IteratorResult<Entry<K, V>> {
    EntryIterator.#check(this)
    // fast path: an entry is buffered, the handle is open and no async step is running
    if (this.#left > 0 && !this.#life.closed && this.#inFlight === 0) {
      return { done: false, value: this.#entry() }
    }
    if (this.#inFlight > 0) {
      throw argError(
        'ERR_INVALID_STATE',
        'iterator next: an async next() of this iterator has not settled yet; await it before stepping synchronously (both share one position)',
      )
    }
    for (;;) {
      const ready = this.#take()
      if (ready) return ready
      this.#fetch()
    }
  }

  /** Frees the native iterator at once (also what `break` in a for…of does). */
  close(): void {
    EntryIterator.#check(this)
    this.#chunk = NO_ENTRIES
    this.#left = 0
    this.#finish()
  }

  return(): IteratorResult<Entry<K, V>> {
    EntryIterator.#check(this)
    this.close()
    return { done: true, value: undefined }
  }

  [Symbol.iterator](): this {
    EntryIterator.#check(this)
    return this
  }

  /** Iterates with each chunk fetched on the libuv pool, so the event loop keeps turning. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Entry<K, V>> {
    EntryIterator.#check(this)
    const self = this
    return {
      next(): Promise<IteratorResult<Entry<K, V>>> {
        // fast path: an entry is buffered, the handle is open and no earlier step is
        // pending, so there is nothing to wait for or to order after (chaining each
        // step through #pending costs several promises and microtasks per entry)
        if (self.#left > 0 && !self.#life.closed && self.#inFlight === 0) {
          try {
            return Promise.resolve({ done: false, value: self.#entry() })
          } catch (err) {
            return Promise.reject(err)
          }
        }
        const step = async (): Promise<IteratorResult<Entry<K, V>>> => {
          for (;;) {
            const ready = self.#take()
            if (ready) return ready
            await self.#fetchAsync()
          }
        }
        self.#inFlight++
        const settled = (): void => {
          self.#inFlight--
        }
        const result = self.#pending.then(step, step)
        result.then(settled, settled)
        self.#pending = result
        return result
      },
      async return(): Promise<IteratorResult<Entry<K, V>>> {
        return self.return()
      },
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }

  keys(): IterableIterator<K> {
    EntryIterator.#check(this)
    return (function* (entries: EntryIterator<K, V>) {
      for (const [key] of entries) yield key
    })(this)
  }

  values(): IterableIterator<V> {
    EntryIterator.#check(this)
    return (function* (entries: EntryIterator<K, V>) {
      for (const [, value] of entries) yield value
    })(this)
  }

  /** Every remaining entry. */
  toArray(): Entry<K, V>[] {
    EntryIterator.#check(this)
    return [...this]
  }
}
