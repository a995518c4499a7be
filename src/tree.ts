// Tree: the key/value operations shared by a Db (its default tree) and the trees
// it opens. Every method validates its arguments here and calls one native method;
// native errors arrive already translated (src/native.ts).

import { Buffer } from 'node:buffer'
import { type Bytes, requireArgs, requireArray, requireFunction } from './args.js'
import { Batch } from './batch.js'
import { boundBytes, type Coders, prefixBytes } from './encodings.js'
import { argError, SledClosedError, SledUnsupportedError } from './errors.js'
import { Batcher } from './batcher.js'
import { TaskLine } from './task-line.js'
import { type Entry, EntryIterator, type IterSource, type Life } from './iterator.js'
import { FAST_SLOW, type NativeIter, fastCall, fastContainsKey, fastGet, fastInsert, fastRemove, fastValue, type NativeTree, unpackValues } from './native.js'
import { type RangeOptions, rangeSpec, type ScanOptions, scanOptions, watchOptions } from './range-options.js'
import { rejectOnThrow } from './reject.js'
import { Subscriber, type WatchOptions } from './subscriber.js'
import { enlist, refuseInTransaction, runOn, type TransactionalTree } from './transactional-tree.js'
import { CONSTRUCT } from './token.js'

/** The result of `compareAndSwap`. */
export type CompareAndSwapResult<V> = { ok: true } | { ok: false; current: V | undefined; proposed: V | undefined }

/** Maps a stored value to its replacement; `undefined` in means absent, out means delete. */
export type UpdateFn<V> = (old: V | undefined) => V | Bytes | undefined

/** Combines the stored value with a merged one; `undefined` out deletes the key. */
export type MergeOperator<K, V> = (key: K, old: V | undefined, value: V) => V | Bytes | undefined

export class Tree<K = Buffer, V = Buffer> {
  readonly #native: NativeTree
  // keeps the Db alive while one of its trees is reachable: the Db's finalizer
  // closes every tree it created
  readonly #owner: object | undefined
  readonly #life: Life
  readonly #coders: Coders
  #mergeOperator: MergeOperator<K, V> | undefined
  #calls: Batcher<V | undefined> | undefined
  #fastId: number[] | undefined
  /** The tree's name, as UTF-8 text (`__sled__default` for a Db's default tree). */
  readonly name: string

  /** @internal use `open()` or `db.openTree()` */
  constructor(token: symbol, native: NativeTree, owner: object | undefined, life: Life, coders: Coders) {
    if (token !== CONSTRUCT) throw argError('ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: use open() or db.openTree()')
    this.#native = native
    this.#owner = owner
    this.#life = life
    this.#coders = coders
    this.name = native.name().toString('utf8')
    enlist(this, { native, coders })
  }

  /** `#of`, plus SledClosedError for methods that would not otherwise reach native code. */
  static #open(self: unknown, op: string): NativeTree {
    const native = Tree.#of(self)
    if (native.closed) throw new SledClosedError(`${op} on tree ${JSON.stringify((self as Tree<unknown, unknown>).name)}: the handle is closed`)
    return native
  }

  /** The native tree behind `self`, or ERR_INVALID_THIS when called on something else. */
  static #of(self: unknown): NativeTree {
    if (typeof self !== 'object' || self === null || !(#native in self)) {
      throw argError('ERR_INVALID_THIS', 'Value of "this" must be of type Tree')
    }
    return (self as Tree<unknown, unknown>).#native
  }

  #key(key: unknown, name = 'key'): Uint8Array {
    return this.#coders.key.encode(key, name)
  }

  /**
   * Each item of the array `keys` encoded (a hole or a bad item throws, naming `keys[i]`),
   * as bytes of its own: a codec may hand back the same buffer each time.
   */
  #keys(keys: unknown): Uint8Array[] {
    const list = requireArray(keys, 'keys')
    const coder = this.#coders.key
    const out = new Array<Uint8Array>(list.length)
    for (let i = 0; i < list.length; i++) {
      const key = coder.encode(list[i], `keys[${i}]`)
      out[i] = coder.raw ? key : new Uint8Array(key)
    }
    return out
  }

  #value(value: unknown, name = 'value'): Uint8Array {
    return this.#coders.value.encode(value, name)
  }

  /** `undefined` means absent (CAS expected) or delete (CAS proposed, update results); so does `null` unless the encoding can store it. */
  #optionalValue(value: unknown, name: string): Uint8Array | undefined {
    const coder = this.#coders.value
    return value === undefined || (value === null && !coder.nullIsValue) ? undefined : coder.encode(value, name)
  }

  #decodeValue(bytes: Buffer | undefined): V | undefined {
    if (bytes === undefined) return undefined
    const coder = this.#coders.value
    return (coder.raw ? bytes : coder.decode(bytes)) as V
  }

  #decodeEntry(entry: [Buffer, Buffer] | undefined): Entry<K, V> | undefined {
    if (entry === undefined) return undefined
    const { key, value } = this.#coders
    return [(key.raw ? entry[0] : key.decode(entry[0])) as K, (value.raw ? entry[1] : value.decode(entry[1])) as V]
  }

  /** Whether this tree's handle is closed (its Db closed, or the tree dropped). */
  get closed(): boolean {
    return Tree.#of(this).closed
  }

  get(key: K | Bytes): V | undefined {
    const native = Tree.#of(this)
    const k = this.#key(key)
    const outcome = fastCall(fastGet, this.#fast(native), k)
    return this.#decodeValue(outcome === FAST_SLOW ? native.get(k) : fastValue(outcome))
  }

  getMany(keys: (K | Bytes)[]): (V | undefined)[] {
    const native = Tree.#of(this)
    const list = this.#keys(keys)
    return unpackValues(native.getMany(list), list.length).map((value) => this.#decodeValue(value))
  }

  /** Stores `value` under `key`; returns the previous value. */
  insert(key: K | Bytes, value: V | Bytes): V | undefined {
    const native = Tree.#of(this)
    const k = this.#key(key)
    const v = this.#value(value)
    const outcome = fastCall(fastInsert, this.#fast(native), k, v)
    return this.#decodeValue(outcome === FAST_SLOW ? native.insert(k, v) : fastValue(outcome))
  }

  /** Deletes `key`; returns the removed value. */
  remove(key: K | Bytes): V | undefined {
    const native = Tree.#of(this)
    const k = this.#key(key)
    const outcome = fastCall(fastRemove, this.#fast(native), k)
    return this.#decodeValue(outcome === FAST_SLOW ? native.remove(k) : fastValue(outcome))
  }

  containsKey(key: K | Bytes): boolean {
    const native = Tree.#of(this)
    const k = this.#key(key)
    const outcome = fastCall(fastContainsKey, this.#fast(native), k)
    return outcome === FAST_SLOW ? native.containsKey(k) : outcome === 1
  }

  /** The native handle's number for the fast calls (asked for once). */
  #fast(native: NativeTree): number[] {
    return (this.#fastId ??= native.fastHandle())
  }

  /**
   * Atomically sets `key` to `proposed` if it currently holds `expected`.
   * `undefined` means absent (as `expected`) or delete (as `proposed`); all three
   * arguments are required so a forgotten one never deletes a key.
   */
  compareAndSwap(key: K | Bytes, expected: V | Bytes | undefined, proposed: V | Bytes | undefined): CompareAndSwapResult<V> {
    const native = Tree.#of(this)
    requireArgs(arguments.length, 3, ['key', 'expected', 'proposed'])
    const result = native.compareAndSwap(
      this.#key(key),
      this.#optionalValue(expected, 'expected'),
      this.#optionalValue(proposed, 'proposed'),
    )
    if (result.ok) return { ok: true }
    return { ok: false, current: this.#decodeValue(result.current), proposed: this.#decodeValue(result.proposed) }
  }

  /**
   * Replaces the value with `fn(old)` atomically (a get / compare-and-swap loop, as
   * sled's own update_and_fetch) and returns the new value. `fn` may run more than
   * once and must be pure; if it throws, nothing changes.
   */
  updateAndFetch(key: K | Bytes, fn: UpdateFn<V>): V | undefined {
    const native = Tree.#of(this)
    return this.#update(native, this.#key(key), requireFunction<UpdateFn<V>>(fn, 'fn'))[1]
  }

  /** Like `updateAndFetch`, but returns the value before the update. */
  fetchAndUpdate(key: K | Bytes, fn: UpdateFn<V>): V | undefined {
    const native = Tree.#of(this)
    return this.#update(native, this.#key(key), requireFunction<UpdateFn<V>>(fn, 'fn'))[0]
  }

  #update(native: NativeTree, key: Uint8Array, update: UpdateFn<V>): [V | undefined, V | undefined] {
    let current = native.get(key)
    for (;;) {
      // fn gets a copy: if it mutated the buffer we compare against, the swap could never succeed
      const next = this.#optionalValue(update(this.#decodeValue(current && Buffer.from(current))), 'the value returned by fn')
      const result = native.compareAndSwap(key, current, next)
      if (result.ok) return [this.#decodeValue(current), this.#decodeValue(next && Buffer.from(next))]
      current = result.current
    }
  }

  /** Number of entries; sled counts by scanning the whole tree. */
  len(): number {
    return Tree.#of(this).len()
  }

  isEmpty(): boolean {
    return Tree.#of(this).isEmpty()
  }

  /** Removes every entry. Not atomic: a concurrent writer may see it half done. */
  clear(): void {
    Tree.#of(this).clear()
  }

  /** CRC32 over this tree's keys and values. */
  checksum(): number {
    return Tree.#of(this).checksum()
  }

  /** Writes everything buffered to disk; returns the number of bytes flushed. */
  flush(): number {
    return Tree.#of(this).flush()
  }

  /** `flush` on the libuv pool. */
  flushAsync(): Promise<number> {
    return rejectOnThrow(() => Tree.#of(this).flushAsync())
  }

  /**
   * The batcher of this Tree object's getAsync / insertAsync / removeAsync calls, after the
   * checks they share: the calls of one tick share tasks on the shared task threads (see
   * Batcher, src/task-line.ts), so many calls in flight cost far less than one task each.
   * It copies keys and values at the call, which the caller (or a codec that reuses its
   * output buffer) could change before the task is made at the end of the tick.
   */
  static #batcher<K, V>(self: Tree<K, V>, op: string): Batcher<V | undefined> {
    const native = Tree.#of(self)
    refuseInTransaction(op)
    if (self.#calls !== undefined) return self.#calls
    const line = new TaskLine()
    return (self.#calls = new Batcher(
      (ops, writes, batch) => line.run(native, ops, writes, batch),
      (v) => self.#decodeValue(v),
    ))
  }

  /** `get` on a task thread (see Batcher), after this object's earlier …Async writes (see docs/api.md). */
  getAsync(key: K | Bytes): Promise<V | undefined> {
    return rejectOnThrow(() => Tree.#batcher(this, 'getAsync').get(this.#key(key)))
  }

  /** `getMany` on the task threads (two tasks from 16 keys on), in call order with this object's other …Async calls. */
  getManyAsync(keys: (K | Bytes)[]): Promise<(V | undefined)[]> {
    return rejectOnThrow(() => {
      const batcher = Tree.#batcher(this, 'getManyAsync')
      const list = this.#keys(keys)
      // a closed or dropped tree is refused here under this method's name (the task would
      // name its first call), and so is one when `keys` is empty, which sends no task
      Tree.#of(this).usable('getManyAsync')
      return list.length > 0 ? batcher.getMany(list) : Promise.resolve([])
    })
  }

  /** `insert` on this object's queue of write tasks, in call order with its other …Async calls. */
  insertAsync(key: K | Bytes, value: V | Bytes): Promise<V | undefined> {
    return rejectOnThrow(() => Tree.#batcher(this, 'insertAsync').insert(this.#key(key), this.#value(value)))
  }

  /** `remove` on this object's queue of write tasks, in call order with its other …Async calls. */
  removeAsync(key: K | Bytes): Promise<V | undefined> {
    return rejectOnThrow(() => Tree.#batcher(this, 'removeAsync').remove(this.#key(key)))
  }

  /**
   * Iterates the entries within the bounds, in key order (or reversed). Not a
   * snapshot: see docs on iteration during writes.
   */
  range(opts?: RangeOptions<K>): EntryIterator<K, V> {
    const native = Tree.#of(this)
    // bounds copied now: the iteration starts on the first step, after the caller may
    // have changed its Buffers
    const spec = rangeSpec(opts, (bound, name) => new Uint8Array(boundBytes(bound, this.#coders.key, name)))
    native.usable('range')
    return this.#entries({ first: () => native.range(spec, true), open: () => native.range(spec, false) as NativeIter })
  }

  /** An iterator over this tree's entries that starts from `source` on its first step. */
  #entries(source: IterSource): EntryIterator<K, V> {
    return new EntryIterator<K, V>(CONSTRUCT, source, this, this.#life, this.#coders)
  }

  /**
   * Iterates the entries whose key starts with `prefix`; the empty prefix means all.
   * Bytes and text are used as they are; any other prefix is encoded as a key.
   */
  scanPrefix(prefix: K | Bytes, opts?: ScanOptions): EntryIterator<K, V> {
    const native = Tree.#of(this)
    const bytes = new Uint8Array(prefixBytes(prefix, this.#coders.key))
    const { reverse, limit } = scanOptions(opts)
    native.usable('scanPrefix')
    return this.#entries({
      first: () => native.scanPrefix(bytes, reverse, limit, true),
      open: () => native.scanPrefix(bytes, reverse, limit, false) as NativeIter,
    })
  }

  /** Every entry in key order; the same as `range()`. */
  iter(): EntryIterator<K, V> {
    Tree.#of(this)
    return this.range()
  }

  /**
   * Watches inserts and removes of keys starting with `prefix` (all keys for ''),
   * as an async iterator of events. Events wait in a queue of at most
   * `highWaterMark` (default 100,000); past that the subscriber ends with
   * SLED_SUBSCRIBER_OVERFLOW. Never blocks writers or the event loop.
   */
  watchPrefix(prefix: K | Bytes, opts?: WatchOptions): Subscriber<K, V> {
    const native = Tree.#of(this)
    const bytes = prefixBytes(prefix, this.#coders.key)
    const { signal, highWaterMark } = watchOptions(opts)
    return new Subscriber<K, V>(CONSTRUCT, (wake) => native.watchPrefix(bytes, highWaterMark, wake), this, this.#life, signal, this.#coders)
  }

  /**
   * The entry `read` returns, decoded. A static helper: the handle is checked (a wrong
   * `this` is ERR_INVALID_THIS) before any private member of `self` is touched.
   */
  static #entry<K, V>(
    self: Tree<K, V>,
    read: (native: NativeTree, self: Tree<K, V>) => [Buffer, Buffer] | undefined,
  ): Entry<K, V> | undefined {
    const native = Tree.#of(self)
    return self.#decodeEntry(read(native, self))
  }

  first(): Entry<K, V> | undefined {
    return Tree.#entry(this, (native) => native.first())
  }

  last(): Entry<K, V> | undefined {
    return Tree.#entry(this, (native) => native.last())
  }

  /** The entry with the greatest key strictly below `key`. */
  getLt(key: K | Bytes): Entry<K, V> | undefined {
    return Tree.#entry(this, (native, self) => native.getLt(self.#key(key)))
  }

  /** The entry with the smallest key strictly above `key`. */
  getGt(key: K | Bytes): Entry<K, V> | undefined {
    return Tree.#entry(this, (native, self) => native.getGt(self.#key(key)))
  }

  /** Removes and returns the entry with the smallest key (atomically). */
  popMin(): Entry<K, V> | undefined {
    return Tree.#entry(this, (native) => native.popMin())
  }

  /** Removes and returns the entry with the greatest key (atomically). */
  popMax(): Entry<K, V> | undefined {
    return Tree.#entry(this, (native) => native.popMax())
  }

  /** A Batch that encodes keys and values with this tree's encodings. */
  batch(): Batch<K, V> {
    Tree.#open(this, 'batch')
    return Batch.withCoders<K, V>(this.#coders)
  }

  /** Applies every operation of `batch` atomically. */
  apply(batch: Batch<K, V>): void {
    Tree.#of(this).apply(Batch.pack(batch))
  }

  /** `apply` on the task threads, in call order with this object's other …Async calls (see Batcher). */
  applyAsync(batch: Batch<K, V>): Promise<void> {
    // resolves with the decoding of no value: undefined
    return rejectOnThrow(() => Tree.#batcher(this, 'applyAsync').apply(Batch.pack(batch))) as Promise<unknown> as Promise<void>
  }

  /** Runs `fn` as a transaction on this tree; see `transaction()`. */
  transaction<T>(fn: (tx: TransactionalTree<K, V>) => T): T {
    const native = Tree.#of(this)
    const body = requireFunction<(tx: TransactionalTree<K, V>) => T>(fn, 'fn')
    return runOn([{ native, coders: this.#coders }], ([tx]) => body(tx as TransactionalTree<K, V>))
  }

  /**
   * Sets the function `merge()` uses on this handle. Not persisted and per handle:
   * set it again after each open, and in each worker thread.
   */
  setMergeOperator(fn: MergeOperator<K, V>): void {
    Tree.#open(this, 'setMergeOperator')
    this.#mergeOperator = requireFunction<MergeOperator<K, V>>(fn, 'fn')
  }

  /**
   * Stores `operator(key, old, value)` atomically (a get / operator / compare-and-swap
   * loop, so the operator may run more than once and must be pure) and returns the
   * new value. If the operator throws, that error is rethrown and nothing changes.
   */
  merge(key: K | Bytes, value: V | Bytes): V | undefined {
    const native = Tree.#open(this, 'merge')
    const operator = this.#mergeOperator
    if (operator === undefined) {
      throw new SledUnsupportedError('merge: no merge operator is set on this handle; call setMergeOperator() first (operators are not persisted)')
    }
    const k = this.#key(key)
    const v = this.#value(value)
    const { key: keyCoder } = this.#coders
    return this.#update(native, k, (old) => {
      const decodedKey = (keyCoder.raw ? Buffer.from(k) : keyCoder.decode(Buffer.from(k))) as K
      return operator(decodedKey, old, this.#decodeValue(Buffer.from(v)) as V)
    })[1]
  }
}
