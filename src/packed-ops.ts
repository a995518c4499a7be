// The one-buffer list of operations that crates/sled-core/src/batch.rs decodes: per op
// `[op u8][key len u32][key]` and, for an insert, `[value len u32][value]`, little-endian.
// A Batch (tree.apply) and the …Async calls of one tick (src/batcher.ts) are both written
// with this one writer.

import { Buffer, constants } from 'node:buffer'
import { byteLength } from './typed-array.js'

/** The ops of the packed list; GET and APPLY (whose key is a packed batch) only in the list of the …Async calls. */
export const REMOVE = 0
export const INSERT = 1
export const GET = 2
export const APPLY = 3

export class PackedOps {
  #pack: Buffer
  #at = 0
  readonly #initial: number

  /** `initial`: the buffer's first size in bytes (it doubles as needed). */
  constructor(initial: number) {
    this.#initial = initial
    this.#pack = Buffer.allocUnsafe(initial)
  }

  /** Appends an op, copying `key` (and `value`); returns the byte where it starts. */
  push(op: number, key: Uint8Array, value?: Uint8Array): number {
    const at = this.#at
    const keyLength = byteLength(key)
    const valueLength = value === undefined ? 0 : byteLength(value)
    const size = 5 + keyLength + (value === undefined ? 0 : 4 + valueLength)
    if (at + size > this.#pack.length) this.#grow(at + size)
    const pack = this.#pack
    pack[at] = op
    pack.writeUInt32LE(keyLength, at + 1)
    pack.set(key, at + 5)
    if (value !== undefined) {
      pack.writeUInt32LE(valueLength, at + 5 + keyLength)
      pack.set(value, at + 9 + keyLength)
    }
    this.#at = at + size
    return at
  }

  /** The list's size in bytes: where the next op starts. */
  get length(): number {
    return this.#at
  }

  /** Drops the ops from byte `at` on (what a call that failed part-way had pushed). */
  truncate(at: number): void {
    this.#at = Math.min(at, this.#at)
  }

  /** Bytes `start` to `end` of the list (by default all of it): a view, which later pushes never write into. */
  bytes(start = 0, end = this.#at): Buffer {
    return this.#pack.subarray(start, end)
  }

  /** Empties the list; a buffer grown past `keepBytes` is let go of. */
  clear(keepBytes: number): void {
    this.#at = 0
    if (this.#pack.length > keepBytes) this.#pack = Buffer.allocUnsafe(this.#initial)
  }

  #grow(needed: number): void {
    // doubling stops at the largest Buffer, so a list that fits in one still can
    const pack = Buffer.allocUnsafe(Math.max(needed, Math.min(this.#pack.length * 2, constants.MAX_LENGTH)))
    this.#pack.copy(pack, 0, 0, this.#at)
    this.#pack = pack
  }
}
