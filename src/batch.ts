// Batch: a list of inserts and removes applied atomically by tree.apply(). Operations
// are packed as they are added (copying the caller's bytes, as sled's Batch does), into
// the one-buffer format crates/sled-core/src/batch.rs reads (src/packed-ops.ts).

import type { Buffer } from 'node:buffer'
import { type Bytes, invalidType } from './args.js'
import { type Coders, codersFor } from './encodings.js'
import { argError } from './errors.js'
import { INSERT, PackedOps, REMOVE } from './packed-ops.js'

export class Batch<K = Bytes, V = Bytes> {
  // a plain `new Batch()` takes raw bytes; tree.batch() encodes with the tree's encodings
  #coders: Coders = codersFor(undefined)
  #ops = new PackedOps(256)
  #length = 0

  /** ERR_INVALID_THIS unless `self` is a Batch. */
  static #check(self: unknown): void {
    if (typeof self !== 'object' || self === null || !(#ops in self)) {
      throw argError('ERR_INVALID_THIS', 'Value of "this" must be of type Batch')
    }
  }

  /** Adds an insert; later operations on the same key win. */
  insert(key: K | Bytes, value: V | Bytes): this {
    Batch.#check(this)
    const k = this.#coders.key.encode(key, 'key')
    const v = this.#coders.value.encode(value, 'value')
    this.#ops.push(INSERT, k, v)
    this.#length++
    return this
  }

  /** Adds a remove. */
  remove(key: K | Bytes): this {
    Batch.#check(this)
    this.#ops.push(REMOVE, this.#coders.key.encode(key, 'key'))
    this.#length++
    return this
  }

  /** Number of operations added. */
  get length(): number {
    Batch.#check(this)
    return this.#length
  }

  /** @internal a Batch encoding with `coders` (tree.batch()) */
  static withCoders<K, V>(coders: Coders): Batch<K, V> {
    const batch = new Batch<K, V>()
    batch.#coders = coders
    return batch
  }

  /** @internal the packed operations: a view, for a native call that copies them at once */
  static pack(batch: unknown): Buffer {
    if (!(batch instanceof Batch)) throw invalidType('batch', 'an instance of Batch', batch)
    return batch.#ops.bytes()
  }
}
