// Batch: a list of inserts and removes applied atomically by tree.apply(). Operations
// are packed as they are added (copying the caller's bytes, as sled's Batch does), into
// the one-buffer format crates/sled-core/src/batch.rs reads.

import { Buffer } from 'node:buffer'
import { type Bytes, invalidType } from './args.js'
import { type Coders, codersFor } from './encodings.js'
import { argError } from './errors.js'

const INSERT = 1
const REMOVE = 0

export class Batch<K = Bytes, V = Bytes> {
  // a plain `new Batch()` takes raw bytes; tree.batch() encodes with the tree's encodings
  #coders: Coders = codersFor(undefined)
  #parts: Uint8Array[] = []
  #size = 0
  #length = 0

  /** ERR_INVALID_THIS unless `self` is a Batch. */
  static #check(self: unknown): void {
    if (typeof self !== 'object' || self === null || !(#parts in self)) {
      throw argError('ERR_INVALID_THIS', 'Value of "this" must be of type Batch')
    }
  }

  /** Adds an insert; later operations on the same key win. */
  insert(key: K | Bytes, value: V | Bytes): this {
    Batch.#check(this)
    const k = this.#coders.key.encode(key, 'key')
    const v = this.#coders.value.encode(value, 'value')
    const head = Buffer.allocUnsafe(5)
    head[0] = INSERT
    head.writeUInt32LE(k.byteLength, 1)
    const mid = Buffer.allocUnsafe(4)
    mid.writeUInt32LE(v.byteLength, 0)
    this.#push(head, Buffer.from(k), mid, Buffer.from(v))
    return this
  }

  /** Adds a remove. */
  remove(key: K | Bytes): this {
    Batch.#check(this)
    const k = this.#coders.key.encode(key, 'key')
    const head = Buffer.allocUnsafe(5)
    head[0] = REMOVE
    head.writeUInt32LE(k.byteLength, 1)
    this.#push(head, Buffer.from(k))
    return this
  }

  /** Number of operations added. */
  get length(): number {
    Batch.#check(this)
    return this.#length
  }

  #push(...parts: Uint8Array[]): void {
    for (const part of parts) {
      this.#parts.push(part)
      this.#size += part.byteLength
    }
    this.#length++
  }

  /** @internal a Batch encoding with `coders` (tree.batch()) */
  static withCoders<K, V>(coders: Coders): Batch<K, V> {
    const batch = new Batch<K, V>()
    batch.#coders = coders
    return batch
  }

  /** @internal the packed operations */
  static pack(batch: unknown): Buffer {
    if (!(batch instanceof Batch)) throw invalidType('batch', 'an instance of Batch', batch)
    const packed = Buffer.concat(batch.#parts, batch.#size)
    batch.#parts = [packed]
    return packed
  }
}
