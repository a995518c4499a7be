// EntryIterator: a sync and async iterator over [key, value] pairs, fed by chunks of
// entries from the native iterator (one native call per chunk, not per entry).

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

/**
 * Unpacks a native chunk: `[count u32] ([klen u32][vlen u32][key][value])*`, little-endian;
 * whether it is the last one.
 */
function unpack(chunk: Buffer, out: Entry<Buffer, Buffer>[]): boolean {
  const word = u32(chunk, 0)
  const count = word >= LAST ? word - LAST : word
  const ab = chunk.buffer
  let at = 4
  for (let i = 0; i < count; i++) {
    const klen = u32(chunk, at)
    const vlen = u32(chunk, at + 4)
    at += 8
    // views into the chunk, not copies (a kept key keeps its chunk alive);
    // Buffer.from(arrayBuffer, …) is cheaper than subarray()
    const key = Buffer.from(ab, chunk.byteOffset + at, klen)
    at += klen
    out.push([key, Buffer.from(ab, chunk.byteOffset + at, vlen)])
    at += vlen
  }
  return word >= LAST
}

export class EntryIterator<K = Buffer, V = Buffer> implements IterableIterator<Entry<K, V>>, AsyncIterable<Entry<K, V>> {
  #native: NativeIter | undefined
  // keeps the tree (and so its Db) alive while the iterator is reachable
  readonly #owner: object
  readonly #life: Life
  readonly #coders: Coders
  #buffer: Entry<Buffer, Buffer>[] = []
  #at = 0
  // async next() calls run one after another, so chunks are consumed in order
  #pending: Promise<unknown> = Promise.resolve()
  // async next() calls not yet settled: a sync step meanwhile is refused, since it
  // would race the chunk being fetched for them (one position, one consumer at a time)
  #inFlight = 0

  /** @internal created by range(), scanPrefix() and iter() */
  constructor(token: symbol, native: NativeIter, owner: object, life: Life, coders: Coders) {
    if (token !== CONSTRUCT) throw argError('ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: use range(), scanPrefix() or iter()')
    this.#native = native
    this.#owner = owner
    this.#life = life
    this.#coders = coders
  }

  /** ERR_INVALID_THIS unless `self` is an EntryIterator (a brand check: cheap on the hot path). */
  static #check(self: unknown): void {
    if (typeof self !== 'object' || self === null || !(#buffer in self)) {
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
    if (this.#at < this.#buffer.length) {
      const entry = this.#buffer[this.#at++] as unknown as Entry<K, V>
      return { done: false, value: entry }
    }
    if (this.#native === undefined) return { done: true, value: undefined }
    return undefined
  }

  #refill(chunk: Buffer | null): void {
    this.#buffer = []
    this.#at = 0
    if (chunk === null) {
      this.#finish()
      return
    }
    // after the last chunk the native iterator is already spent: no fetch, no close
    if (unpack(chunk, this.#buffer)) this.#native = undefined
    const { key, value } = this.#coders
    // decoded a chunk at a time; with the default 'buffer' encoding nothing to do
    if (!key.raw || !value.raw) {
      for (const entry of this.#buffer as unknown[][]) {
        if (!key.raw) entry[0] = key.decode(entry[0] as Buffer)
        if (!value.raw) entry[1] = value.decode(entry[1] as Buffer)
      }
    }
  }

  #finish(): void {
    this.#native?.close()
    this.#native = undefined
  }

  next(): IteratorResult<Entry<K, V>> {
    EntryIterator.#check(this)
    // fast path: an entry is buffered, the handle is open and no async step is running
    if (this.#at < this.#buffer.length && !this.#life.closed && this.#inFlight === 0) {
      return { done: false, value: this.#buffer[this.#at++] as unknown as Entry<K, V> }
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
      // #take returned undefined, so #native is set
      this.#refill((this.#native as NativeIter).nextChunk())
    }
  }

  /** Frees the native iterator at once (also what `break` in a for…of does). */
  close(): void {
    EntryIterator.#check(this)
    this.#buffer = []
    this.#at = 0
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
        const step = async (): Promise<IteratorResult<Entry<K, V>>> => {
          for (;;) {
            const ready = self.#take()
            if (ready) return ready
            self.#refill(await (self.#native as NativeIter).nextChunkAsync())
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
