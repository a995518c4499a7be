// sled-node/level: SledLevel, an abstract-level (v3) database over one sled database.
//
// Data lives in the database's default tree. Sublevels are abstract-level's own
// prefix sublevels (`!name!key` in that same tree), not sled trees, because:
// - a level batch may write to the root and to several sublevels at once and must be
//   atomic; one sled Batch applies atomically only within one tree, while sublevels on
//   trees would need a sled transaction (a process-wide lock) for every such batch;
// - level users expect a sublevel's entries to be visible (prefixed) from its parent,
//   and a parent's clear() to clear its sublevels; separate trees would hide both;
// - prefixes keep sublevels ordered and nested exactly as in every other level store.
//
// What sled cannot do is declared false in the manifest: sled has no snapshots, and
// its iterators see writes made after they were created.

import { Buffer } from 'node:buffer'
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { join } from 'node:path'
import { AbstractChainedBatch, AbstractIterator, AbstractLevel, type AbstractDatabaseOptions } from 'abstract-level'
import {
  Batch,
  type Db,
  type Entry,
  type EntryIterator,
  openAsync,
  type RangeOptions,
  SledError,
  SledIoError,
  type SledOptions,
  type Tree,
} from '../../index.js'
import { PendingCalls } from './pending-calls.js'

/** The forms abstract-level hands to and expects from this store (see the manifest). */
type Format = 'buffer' | 'utf8'
type Data = Buffer | string
/** Ranges over the Buffer-keyed default tree (bounds may still be UTF-8 strings). */
type Bounds = RangeOptions<Buffer>

interface Range {
  gt?: Data
  gte?: Data
  lt?: Data
  lte?: Data
  reverse: boolean
  /** level spells "no limit" as -1 */
  limit: number
}

interface IteratorOptions extends Range {
  keyEncoding: Format
  valueEncoding: Format
  signal?: AbortSignal
}

interface OpenOptions extends Record<string, unknown> {
  createIfMissing: boolean
  errorIfExists: boolean
}

interface WriteOp {
  type: 'put' | 'del'
  key: Data
  value?: Data
}

export interface SledLevelOptions<K = string, V = string>
  extends AbstractDatabaseOptions<K, V>,
    Omit<SledOptions, 'createNew'> {}

// the sled settings among the open options; level ignores options it does not know, so do we
const SLED_KEYS = ['cacheCapacity', 'mode', 'flushEveryMs', 'temporary', 'compression', 'segmentSize', 'idgenPersistInterval', 'printProfileOnDrop'] as const

function sledOptionsOf(options: Record<string, unknown>): SledOptions {
  const out: Record<string, unknown> = {}
  for (const key of SLED_KEYS) if (options[key] !== undefined) out[key] = options[key]
  return out as SledOptions
}

/** An error carrying one of abstract-level's documented codes, for level users to switch on. */
class LevelError extends Error {
  readonly code: string
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/** A SledIoError for a state of the directory, as sled reports its own I/O failures. */
function fsError(message: string, kind: string, errno: 'ENOENT' | 'EEXIST'): SledIoError {
  const err = new SledIoError(message)
  err.kind = kind
  err.errno = constants.errno[errno]
  return err
}

/** sled's open errors in the codes level users check (err.cause.code), keeping sled's error as cause. */
function levelOpenError(err: unknown): unknown {
  if (!(err instanceof SledError)) return err
  const code = { SLED_LOCKED: 'LEVEL_LOCKED', SLED_IO: 'LEVEL_IO_ERROR', SLED_CORRUPTION: 'LEVEL_CORRUPTION' }[err.code]
  return code === undefined ? err : new LevelError(err.message, code, { cause: err })
}

function decode(bytes: Buffer, format: Format): Data {
  return format === 'utf8' ? bytes.toString('utf8') : bytes
}

function bytesOf(data: Data): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data
}

/** level's range in the facade's terms: gte/lte win over gt/lt, as abstract-level documents. */
function rangeOf(range: Range): Bounds {
  const out: Bounds = { reverse: range.reverse }
  if (range.gte !== undefined) out.gte = range.gte
  else if (range.gt !== undefined) out.gt = range.gt
  if (range.lte !== undefined) out.lte = range.lte
  else if (range.lt !== undefined) out.lt = range.lt
  if (range.limit >= 0) out.limit = range.limit
  return out
}

/** Narrows `range` so it starts at `target` (or ends there, when reversed), never widening it. */
function seekRange(range: Bounds, target: Data): Bounds {
  const at = bytesOf(target)
  const out = { ...range }
  if (range.reverse) {
    const upper = range.lte ?? range.lt
    if (upper === undefined || Buffer.compare(at, bytesOf(upper as Data)) < 0) {
      delete out.lt
      out.lte = at
    }
  } else {
    const lower = range.gte ?? range.gt
    if (lower === undefined || Buffer.compare(at, bytesOf(lower as Data)) > 0) {
      delete out.gt
      out.gte = at
    }
  }
  return out
}

function abortError(): LevelError {
  const err = new LevelError('Iterator has been aborted', 'LEVEL_ABORTED')
  Object.defineProperty(err, 'name', { value: 'AbortError' })
  return err
}

class SledIterator extends AbstractIterator<SledLevel<unknown, unknown>, Data, Data> {
  readonly #tree: Tree
  readonly #range: Bounds
  readonly #keyFormat: Format
  readonly #valueFormat: Format
  readonly #signal: AbortSignal | null
  #source: EntryIterator<Buffer, Buffer>
  #entries: AsyncIterator<Entry<Buffer, Buffer>>

  constructor(db: SledLevel<unknown, unknown>, tree: Tree, options: IteratorOptions) {
    super(db, options)
    this.#tree = tree
    this.#range = rangeOf(options)
    this.#keyFormat = options.keyEncoding
    this.#valueFormat = options.valueEncoding
    this.#signal = options.signal ?? null
    this.#source = tree.range(this.#range)
    // chunks are fetched on the libuv pool: a long scan never blocks the event loop
    this.#entries = this.#source[Symbol.asyncIterator]()
  }

  /** The next raw entry; an abort during the wait for a chunk rejects the call. */
  async #pull(): Promise<Entry<Buffer, Buffer> | undefined> {
    const result = await this.#entries.next()
    if (this.#signal?.aborted) throw abortError()
    return result.done ? undefined : result.value
  }

  #decode(entry: Entry<Buffer, Buffer>): [Data, Data] {
    return [decode(entry[0], this.#keyFormat), decode(entry[1], this.#valueFormat)]
  }

  async _next(): Promise<[Data, Data] | undefined> {
    const entry = await this.#pull()
    return entry && this.#decode(entry)
  }

  async _nextv(size: number): Promise<[Data, Data][]> {
    const out: [Data, Data][] = []
    while (out.length < size) {
      const entry = await this.#pull()
      if (entry === undefined) break
      out.push(this.#decode(entry))
    }
    return out
  }

  async _all(): Promise<[Data, Data][]> {
    return this._nextv(Infinity)
  }

  /** A fresh sled range from `target`, within the original range and the entries still allowed by `limit`. */
  _seek(target: Data): void {
    this.#source.close()
    const range = seekRange(this.#range, target)
    if (this.limit !== Infinity) range.limit = Math.max(0, this.limit - this.count)
    this.#source = this.#tree.range(range)
    this.#entries = this.#source[Symbol.asyncIterator]()
  }

  async _close(): Promise<void> {
    this.#source.close()
  }
}

/** Builds one sled Batch, so write() applies every operation atomically. */
class SledChainedBatch extends AbstractChainedBatch<SledLevel<unknown, unknown>, unknown, unknown> {
  readonly #tree: Tree
  readonly #pending: PendingCalls
  #batch = new Batch()

  constructor(db: SledLevel<unknown, unknown>, tree: Tree, pending: PendingCalls) {
    super(db)
    this.#tree = tree
    this.#pending = pending
  }

  _put(key: Data, value: Data): void {
    this.#batch.insert(key, value)
  }

  _del(key: Data): void {
    this.#batch.remove(key)
  }

  _clear(): void {
    this.#batch = new Batch()
  }

  async _write(): Promise<void> {
    await this.#pending.track(this.#tree.applyAsync(this.#batch))
  }

  async _close(): Promise<void> {
    this.#batch = new Batch()
  }
}

// What this store supports, for abstract-level and its test suite. sled reads see the
// latest data: no snapshots, implicit or explicit. (getSync is not in level-supports'
// types yet, hence a plain object rather than a typed literal.)
const MANIFEST = {
  encodings: { buffer: true, utf8: true },
  implicitSnapshots: false,
  explicitSnapshots: false,
  permanence: true,
  seek: true,
  createIfMissing: true,
  errorIfExists: true,
  has: true,
  getSync: true,
  signals: { iterators: true },
}

// deletes in batches of this many keys, so a large clear() never holds every key in memory
const CLEAR_CHUNK = 1024

export class SledLevel<KDefault = string, VDefault = string> extends AbstractLevel<Data, KDefault, VDefault> {
  /** The directory of the sled database. */
  readonly location: string
  #db: Db | undefined
  /** The calls not yet settled: close() lets them land before it closes the database. */
  readonly #pending = new PendingCalls()

  constructor(location: string, options?: SledLevelOptions<KDefault, VDefault>) {
    // checked before super(): abstract-level's constructor already schedules the open
    if (typeof location !== 'string' || location === '') {
      throw Object.assign(new TypeError("The first argument 'location' must be a non-empty string"), { code: 'ERR_INVALID_ARG_TYPE' })
    }
    // sled's createNew would quietly differ from level's own option for it
    if ((options as Record<string, unknown> | undefined)?.createNew !== undefined) {
      throw Object.assign(new TypeError("SledLevel does not take sled's createNew option: use level's errorIfExists"), { code: 'ERR_INVALID_ARG_VALUE' })
    }
    // abstract-level hands every option but the encodings on to _open(), as level stores expect
    super(MANIFEST, options)
    this.location = location
  }

  /** The open sled database; abstract-level only calls the private methods below while open. */
  get #tree(): Tree {
    if (this.#db === undefined) throw new LevelError('Database is not open', 'LEVEL_DATABASE_NOT_OPEN')
    return this.#db
  }

  async _open(options: OpenOptions): Promise<void> {
    // sled writes `conf` when it creates a database
    const exists = existsSync(join(this.location, 'conf'))
    try {
      if (!exists && !options.createIfMissing) {
        throw fsError(`Database ${this.location} does not exist (createIfMissing is false)`, 'NotFound', 'ENOENT')
      }
      if (exists && options.errorIfExists) {
        throw fsError(`Database ${this.location} exists (errorIfExists is true)`, 'AlreadyExists', 'EEXIST')
      }
      this.#db = await openAsync(this.location, sledOptionsOf(options))
    } catch (err) {
      throw levelOpenError(err)
    }
  }

  async _close(): Promise<void> {
    // abstract-level takes no new calls while closing; the ones made before land first
    await this.#pending.settled()
    const db = this.#db
    this.#db = undefined
    await db?.closeAsync()
  }

  async _get(key: Data, options: { valueEncoding: Format }): Promise<Data | undefined> {
    const value = await this.#pending.track(this.#tree.getAsync(key))
    return value && decode(value, options.valueEncoding)
  }

  _getSync(key: Data, options: { valueEncoding: Format }): Data | undefined {
    const value = this.#tree.get(key)
    return value && decode(value, options.valueEncoding)
  }

  async _getMany(keys: Data[], options: { valueEncoding: Format }): Promise<(Data | undefined)[]> {
    const values = await this.#pending.track(this.#tree.getManyAsync(keys))
    return values.map((value) => value && decode(value, options.valueEncoding))
  }

  // has and hasMany read as get and getMany do, so they see the put() and del() calls before them
  async _has(key: Data): Promise<boolean> {
    return (await this.#pending.track(this.#tree.getAsync(key))) !== undefined
  }

  async _hasMany(keys: Data[]): Promise<boolean[]> {
    const values = await this.#pending.track(this.#tree.getManyAsync(keys))
    return values.map((value) => value !== undefined)
  }

  async _put(key: Data, value: Data): Promise<void> {
    await this.#pending.track(this.#tree.insertAsync(key, value))
  }

  async _del(key: Data): Promise<void> {
    await this.#pending.track(this.#tree.removeAsync(key))
  }

  async _batch(operations: WriteOp[]): Promise<void> {
    const batch = new Batch()
    for (const op of operations) {
      if (op.type === 'put') batch.insert(op.key, op.value as Data)
      else batch.remove(op.key)
    }
    await this.#pending.track(this.#tree.applyAsync(batch))
  }

  _chainedBatch(): SledChainedBatch {
    return new SledChainedBatch(this as SledLevel<unknown, unknown>, this.#tree, this.#pending)
  }

  _iterator(options: IteratorOptions): SledIterator {
    return new SledIterator(this as SledLevel<unknown, unknown>, this.#tree, options)
  }

  /** Not atomic (level does not require it): deletes the range a chunk of keys at a time. */
  async _clear(options: Range): Promise<void> {
    return this.#pending.track(this.#clearRange(this.#tree, options))
  }

  async #clearRange(tree: Tree, options: Range): Promise<void> {
    let batch = new Batch()
    // an empty applyAsync waits for the put(), del() and batch() calls made before this
    // one (applyAsync runs in call order with them), so the range read below holds them
    await tree.applyAsync(batch)
    for await (const [key] of tree.range(rangeOf(options))) {
      batch.remove(key)
      if (batch.length >= CLEAR_CHUNK) {
        await tree.applyAsync(batch)
        batch = new Batch()
      }
    }
    if (batch.length > 0) await tree.applyAsync(batch)
  }
}
