// Db: a handle on an open database (its default tree plus database-wide methods),
// and open()/openAsync(). Each Db owns one native handle; several Db objects of one
// path share one sled database through the native registry.

import { Buffer } from 'node:buffer'
import { type Bytes, invalidValue, nativeOptions, requireObject, requirePath, type SledOptions, toBytes } from './args.js'
import { type Coders, codersFor, type Decoded, type DecodedOr, type Encoding, type EncodingOptions, type EncodingsOf } from './encodings.js'
import { backup, type BackupOptions, type BackupResult } from './backup.js'
import { argError, SledClosedError, SledUnsupportedError } from './errors.js'
import { type CheckedExport, type ExportedCollection, maxTreesOf, readExport, writeExport } from './export-format.js'
import type { Life } from './iterator.js'
import { type NativeDb, openNative, openNativeAsync } from './native.js'
import { rejectOnThrow } from './reject.js'
import { CONSTRUCT } from './token.js'
import { Tree } from './tree.js'

export interface OpenOptions<K = unknown, V = unknown> extends SledOptions, EncodingOptions<K, V> {}

const ENCODING_KEYS = ['keyEncoding', 'valueEncoding'] as const

const OPEN_TREE_KEYS = new Set<string>(ENCODING_KEYS)

/** Db's import loop over checked collections, for importChecked (set in Db's static block). */
let importCollections: <K, V>(db: Db<K, V>, collections: AsyncIterable<ExportedCollection & { entries: AsyncIterable<Buffer[]> }>) => Promise<void>

export class Db<K = Buffer, V = Buffer> extends Tree<K, V> {
  readonly #db: NativeDb
  readonly #life: Life
  readonly #coders: Coders

  /** @internal use `open()` or `openAsync()` */
  constructor(token: symbol, native: NativeDb, coders: Coders, life: Life = { closed: false }) {
    if (token !== CONSTRUCT) throw argError('ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: use open() or openAsync()')
    super(token, native.defaultTree(), undefined, life, coders)
    this.#db = native
    this.#life = life
    this.#coders = coders
  }

  /** `#of`, plus SledClosedError for methods that would not otherwise reach native code first. */
  static #open(self: unknown, op: string): NativeDb {
    const native = Db.#of(self)
    if (native.closed) throw new SledClosedError(`${op} on ${native.path}: the handle is closed`)
    return native
  }

  static #of(self: unknown): NativeDb {
    if (typeof self !== 'object' || self === null || !(#db in self)) {
      throw argError('ERR_INVALID_THIS', 'Value of "this" must be of type Db')
    }
    return (self as Db<unknown, unknown>).#db
  }

  /** The canonical (absolute, symlink-free) path of the database directory. */
  get path(): string {
    return Db.#of(this).path
  }

  override get closed(): boolean {
    return Db.#of(this).closed
  }

  /** Whether sled recovered existing data when this process first opened the path. */
  get wasRecovered(): boolean {
    return Db.#of(this).wasRecovered
  }

  /**
   * Opens (creating if needed) the tree `name`; it lives as long as this handle. Its
   * encodings default to this Db's.
   */
  openTree<KE extends Encoding = never, VE extends Encoding = never>(
    name: string | Uint8Array,
    opts?: EncodingsOf<KE, VE>,
  ): Tree<DecodedOr<KE, K>, DecodedOr<VE, V>>
  openTree<K2 = K, V2 = V>(name: string | Uint8Array, opts?: EncodingOptions<K2, V2>): Tree<K2, V2>
  openTree<K2 = K, V2 = V>(name: string | Uint8Array, opts?: EncodingOptions<K2, V2>): Tree<K2, V2> {
    const native = Db.#of(this)
    const nameBytes = toBytes(name, 'name')
    const raw = requireObject(opts, 'opts')
    for (const key of Object.keys(raw ?? {})) {
      if (!OPEN_TREE_KEYS.has(key)) throw invalidValue('opts', `has an unknown property '${key}'`, raw)
    }
    const coders = codersFor(raw, this.#coders)
    return new Tree<K2, V2>(CONSTRUCT, native.openTree(nameBytes), this, this.#life, coders)
  }

  /**
   * Deletes the tree `name` and its data; every live handle of it, in every thread,
   * then throws SledCollectionNotFoundError. Returns false if there was no such tree.
   */
  dropTree(name: string | Uint8Array): boolean {
    return Db.#of(this).dropTree(toBytes(name, 'name'))
  }

  /** The names of every tree, including sled's default tree `__sled__default`. */
  treeNames(): Buffer[] {
    return Db.#of(this).treeNames()
  }

  /** A monotonic id, unique across restarts. */
  generateId(): bigint {
    return Db.#of(this).generateId()
  }

  /** Bytes used on disk by the database's files. */
  sizeOnDisk(): number {
    return Db.#of(this).sizeOnDisk()
  }

  /** CRC32 over every tree of the database (sled's Db::checksum). */
  override checksum(): number {
    return Db.#of(this).checksum()
  }

  /**
   * sled's export: one collection per tree (type `tree`, its name, its `[key, value]`
   * entries), streamed lazily in chunks, never the whole database in memory.
   */
  export(): IterableIterator<ExportedCollection> {
    // checked now, not at the first next(): a closed handle fails where export() is called
    const native = Db.#open(this, 'export')
    const names = native.treeNames()
    const open = (name: Buffer) => this.openTree<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    return (function* () {
      for (const name of names) {
        const tree = open(name)
        yield {
          type: Buffer.from('tree'),
          name,
          entries: (function* () {
            for (const [key, value] of tree.iter()) yield [key, value]
          })(),
        }
      }
    })()
  }

  /**
   * Loads collections produced by `export()` (from this or another database). Like
   * sled, refuses to overwrite: an existing key throws SledUnsupportedError, with
   * the entries before it imported.
   */
  import(collections: Iterable<ExportedCollection>): void {
    Db.#open(this, 'import')
    if (collections === null || typeof (collections as Partial<Iterable<unknown>>)?.[Symbol.iterator] !== 'function') {
      throw argError('ERR_INVALID_ARG_TYPE', 'The "collections" argument must be an iterable of exported collections')
    }
    for (const collection of collections) {
      // checked before the tree is opened (which would create it)
      const entries = (collection as Partial<ExportedCollection> | null)?.entries as Partial<Iterable<Buffer[]>> | null | undefined
      if (entries != null && typeof entries[Symbol.iterator] !== 'function') {
        throw argError('ERR_INVALID_ARG_VALUE', 'import: the entries of a collection must be iterable (for async iterables, use importFrom or your own loop)')
      }
      const tree = this.#importTarget(collection)
      for (const entry of entries as Iterable<Buffer[]>) this.#importEntry(tree, entry)
    }
  }

  /**
   * An online backup: a new database at `destination` (which must not exist, or be an
   * empty directory) holding every tree exactly as it was at one instant, verified
   * before the promise resolves. Writes of this process pause while the instant is
   * taken (`pauseMs`); readers never wait. See docs/api.md.
   */
  backup(destination: string, options?: BackupOptions): Promise<BackupResult> {
    return rejectOnThrow(() => backup(Db.#open(this, 'backup'), destination, options))
  }

  /**
   * `export()` written to `file` (created or replaced), read lazily, off the event loop's
   * way; a file inside this database's directory is refused.
   */
  async exportTo(file: string): Promise<void> {
    const native = Db.#open(this, 'exportTo')
    await writeExport(requirePath(file, 'file'), this.export(), { databaseDir: native.path })
  }

  /** `import()` of a file written by `exportTo`; at most `options.maxTrees` (default 1000) trees. */
  async importFrom(file: string, options?: { maxTrees?: number }): Promise<void> {
    Db.#open(this, 'importFrom')
    const path = requirePath(file, 'file')
    const raw = requireObject(options, 'options')
    for (const key of Object.keys(raw ?? {})) {
      if (key !== 'maxTrees') throw invalidValue('options', `has an unknown property '${key}'`, raw)
    }
    await this.#importAll(readExport(path, { maxTrees: maxTreesOf(raw) }))
  }

  static {
    importCollections = async (db, collections) => {
      Db.#open(db, 'importFrom')
      await db.#importAll(collections)
    }
  }

  async #importAll(collections: AsyncIterable<ExportedCollection & { entries: AsyncIterable<Buffer[]> }>): Promise<void> {
    for await (const collection of collections) {
      const tree = this.#importTarget(collection)
      for await (const entry of collection.entries) this.#importEntry(tree, entry)
    }
  }

  #importTarget(collection: ExportedCollection): Tree<Buffer, Buffer> {
    const { type, name } = (collection ?? {}) as Partial<ExportedCollection>
    if (!(type instanceof Uint8Array) || !(name instanceof Uint8Array) || collection.entries == null) {
      throw argError('ERR_INVALID_ARG_VALUE', 'import: each collection must be { type, name, entries }')
    }
    if (Buffer.from(type).toString() !== 'tree') {
      throw new SledUnsupportedError(`import: unknown collection type ${JSON.stringify(Buffer.from(type).toString())}`)
    }
    return this.openTree<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  }

  #importEntry(tree: Tree<Buffer, Buffer>, entry: unknown): void {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw argError('ERR_INVALID_ARG_VALUE', 'import: each entry must be [key, value]')
    }
    const [key, value] = entry as [Bytes, Bytes]
    if (!tree.compareAndSwap(key, undefined, value).ok) {
      throw new SledUnsupportedError(`import into ${tree.name}: key ${Buffer.from(toBytes(key, 'key')).toString('hex')} already exists (import never overwrites)`)
    }
  }

  /**
   * Flushes, closes every tree, iterator and subscriber made from this
   * handle, and releases its share of the database: when it was the last handle of
   * the path, sled's lock is released (and a temporary database deleted) before
   * this returns. Idempotent.
   */
  close(): void {
    const native = Db.#of(this)
    try {
      native.close()
    } finally {
      // not when close() was refused (inside a transaction): the handle stays usable
      if (native.closed) this.#life.closed = true
    }
  }

  /** `close` with the flush and release on the libuv pool; the handle is closed at once. */
  closeAsync(): Promise<void> {
    return rejectOnThrow(() => {
      const native = Db.#of(this)
      const closing = native.closeAsync()
      // closeAsync detaches synchronously; the flush and release finish on the pool
      if (native.closed) this.#life.closed = true
      return closing
    })
  }

  [Symbol.dispose](): void {
    Db.#of(this)
    this.close()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return rejectOnThrow(() => {
      Db.#of(this)
      return this.closeAsync()
    })
  }
}

/**
 * @internal The second pass of an export checked with checkExport, imported into `db` as
 * by importFrom (the CLI checks the file before it opens, and so creates, the database).
 */
export async function importChecked<K, V>(db: Db<K, V>, checked: CheckedExport): Promise<void> {
  try {
    await importCollections(db, checked.collections())
  } finally {
    await checked.close()
  }
}

/**
 * Opens the database at `path`, creating it if needed. Opening a path this process
 * already has open (in any thread) returns a new handle on the same database.
 */
export function open<KE extends Encoding = 'buffer', VE extends Encoding = 'buffer'>(
  path: string,
  options?: SledOptions & EncodingsOf<KE, VE>,
): Db<Decoded<KE>, Decoded<VE>>
export function open<K = Buffer, V = Buffer>(path: string, options?: OpenOptions<K, V>): Db<K, V>
export function open<K = Buffer, V = Buffer>(path: string, options?: OpenOptions<K, V>): Db<K, V> {
  const target = requirePath(path)
  const opts = requireObject(options, 'options')
  const coders = codersFor(opts)
  return new Db<K, V>(CONSTRUCT, openNative(target, nativeOptions(opts, ENCODING_KEYS)), coders)
}

/** `open` with sled's recovery on the libuv pool. Argument errors reject. */
export function openAsync<KE extends Encoding = 'buffer', VE extends Encoding = 'buffer'>(
  path: string,
  options?: SledOptions & EncodingsOf<KE, VE>,
): Promise<Db<Decoded<KE>, Decoded<VE>>>
export function openAsync<K = Buffer, V = Buffer>(path: string, options?: OpenOptions<K, V>): Promise<Db<K, V>>
export function openAsync<K = Buffer, V = Buffer>(path: string, options?: OpenOptions<K, V>): Promise<Db<K, V>> {
  return rejectOnThrow(async () => {
    const target = requirePath(path)
    const opts = requireObject(options, 'options')
    const coders = codersFor(opts)
    return new Db<K, V>(CONSTRUCT, await openNativeAsync(target, nativeOptions(opts, ENCODING_KEYS)), coders)
  })
}

export type { Bytes }
