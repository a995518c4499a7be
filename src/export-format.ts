// The file form of sled's export (Db.exportTo / Db.importFrom): the same collections
// as Db.export(), streamed to disk, never the whole database in memory.
//
// Format v2, written by exportTo (u32 little-endian throughout):
//
//   magic "sled-node export v2\n"                                      (20 bytes)
//   per collection: 0x01 [u32 type len][type] [u32 name len][name] [u32 crc]
//                   then per entry: 0x02 [u32 key len][key] [u32 value len][value] [u32 crc]
//   end: 0x00 [u32 crc]                                and not one byte after it
//
//   crc: CRC32C (Castagnoli, as in iSCSI/ext4; @node-rs/crc32) of every byte of the file
//   before it, leaving out the earlier crc fields. Each record's checksum so covers the
//   record itself and everything before it: a changed byte anywhere (tag, length, type,
//   name, key, value, checksum), a record lost, repeated or moved, a cut, or bytes after
//   the end marker all fail the check. (The earlier crc fields are left out because a CRC
//   run over data followed by its own CRC ends in a constant: chaining through them would
//   forget everything before each record.)
//
// Format v1 (still read, no longer written): the same without the crc fields, magic
// "sled-node export v1\n". v1 has no checksum: its structure is checked (tags, lengths
// against the file size, keys in ascending order without repeats, distinct tree names,
// the end marker and nothing after it), but a changed byte inside a type, name, key or
// value, or a length changed to another value that still parses, imports changed data.
//
// importFrom reads the file twice: a first pass checks all of it (checksums, structure,
// end marker, nothing after it) and writes nothing; only then does a second pass, which
// checks everything again, yield collections to write. Input that cannot be read twice
// (a FIFO, a pipe through /dev/stdin, a character device) is copied to a temporary file
// during the first pass and the second pass reads that copy (removed when the import
// settles, or by a process 'exit' listener if the process exits first). Memory stays
// bounded by one 1 MiB read buffer plus the largest key (first pass) or entry (second
// pass), plus the tree names (kept to refuse a repeated tree): no length read from the
// file is used to allocate before it is checked against the bytes the file still has,
// and read sizes are never larger than the buffer. A file with more than `maxTrees`
// collections is refused in the first pass: sled's cost per new tree grows with the
// number of trees (see DEFAULT_MAX_TREES).
//
// exportTo writes every byte (a short write, as Linux gives on a nearly full disk, is
// continued; a write of 0 bytes is an error), in calls of at most MAX_WRITE bytes (fs
// refuses more than 2^31-1 per call), fsyncs only a regular file (pipes, FIFOs and
// devices cannot be fsynced), never writes inside the database's own directory, and
// removes a partly written regular file when it fails.

import { Buffer, constants as bufferConstants } from 'node:buffer'
import { rmSync, type Stats } from 'node:fs'
import { type FileHandle, lstat, mkdtemp, open as openFile, readdir, readlink, realpath, rm, stat as statPath, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { invalidType, outOfRange } from './args.js'
import { SledError, SledIoError, SledUnsupportedError } from './errors.js'

const MAGIC_STEM = 'sled-node export v'
const MAGIC_LENGTH = 20
const MAGIC_V1 = Buffer.from('sled-node export v1\n')
const MAGIC_V2 = Buffer.from('sled-node export v2\n')
const COLLECTION = 1
const ENTRY = 2
const END = 0
/** Reads and writes go in pieces of this size; never a length taken from the file. */
const PIECE = 1 << 20
/** The largest key, value, type or name a file can carry: its length is a u32. */
export const MAX_FIELD = 0xffff_ffff
/** The most bytes one write call is given: fs refuses more than 2^31-1 per call. */
export const MAX_WRITE = 1 << 30
/**
 * The most collections (trees, the default tree included) importFrom accepts unless told
 * otherwise: sled rewrites its list of trees on every tree it creates, so creating n trees
 * costs time and disk space growing with n² (measured: 1,000 trees 0.08 s and 3 MB on disk,
 * 4,000 trees 1.2 s and 63 MB, 8,000 trees 5.5 s and 272 MB).
 */
export const DEFAULT_MAX_TREES = 1000

/** What Db.export() yields, and Db.import() takes. */
export interface ExportedCollection {
  type: Buffer
  name: Buffer
  entries: Iterable<Buffer[]> | AsyncIterable<Buffer[]>
}

type Crc32c = (input: Uint8Array, initialState?: number) => number
let crc32cImpl: Crc32c | undefined

/** CRC32C from @node-rs/crc32, loaded at the first export or import (not at require time). */
function crc32c(input: Uint8Array, state: number): number {
  if (crc32cImpl === undefined) {
    try {
      crc32cImpl = (require('@node-rs/crc32') as typeof import('@node-rs/crc32')).crc32c
    } catch (error) {
      throw new SledError(
        `export files need the package @node-rs/crc32 (a dependency of sled-node) and its native binary for this platform, which could not be loaded: ${(error as Error)?.message ?? String(error)}`,
        'SLED_NO_BINARY',
      )
    }
  }
  return crc32cImpl(input, state)
}

/** Rust's `io::ErrorKind` names for Node's errno codes, so SledIoError.kind reads the same for both. */
const KINDS: Record<string, string> = {
  ENOENT: 'NotFound',
  EACCES: 'PermissionDenied',
  EPERM: 'PermissionDenied',
  EEXIST: 'AlreadyExists',
  EISDIR: 'IsADirectory',
  ENOTDIR: 'NotADirectory',
  ENOSPC: 'StorageFull',
  EROFS: 'ReadOnlyFilesystem',
  ENAMETOOLONG: 'InvalidFilename',
  EINVAL: 'InvalidInput',
}

/**
 * Node's own fs errors (ENOENT, EACCES, EISDIR…) become SledIoError, as docs/api.md promises
 * for unusable paths; every other error passes through unchanged.
 */
function asIoError(op: string, file: string, error: unknown): unknown {
  const e = error as NodeJS.ErrnoException
  if (!(error instanceof Error) || typeof e.syscall !== 'string') return error
  const err = new SledIoError(`${op} ${file}: ${e.message}`)
  if (typeof e.errno === 'number') err.errno = Math.abs(e.errno)
  err.kind = KINDS[e.code ?? ''] ?? 'Other'
  err.cause = error
  return err
}

/** A file that is not a valid export: SledIoError with kind InvalidData. */
function damaged(file: string, at: number, what: string): SledIoError {
  const err = new SledIoError(`importFrom ${file}: damaged export file at byte ${at}: ${what}`)
  err.kind = 'InvalidData'
  return err
}

function truncated(file: string, at: number): SledIoError {
  const err = new SledIoError(`importFrom ${file}: the file ends early at byte ${at} (truncated export)`)
  err.kind = 'UnexpectedEof'
  return err
}

function u32(n: number): Buffer {
  if (n > MAX_FIELD) throw new SledUnsupportedError(`exportTo: a key, value or name of ${n} bytes is larger than an export file can hold (${MAX_FIELD})`)
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32LE(n, 0)
  return b
}

/** What the write loop needs of a FileHandle (a seam for tests: short writes, piece sizes). */
export interface WriteTarget {
  write(buffer: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }>
}

/**
 * Writes all of `buffer`: in calls of at most `maxWrite` bytes, continuing after a short
 * write; a write of 0 bytes is a SledIoError (kind WriteZero), an error from fs passes on.
 */
export async function writeFully(target: WriteTarget, buffer: Buffer, file: string, maxWrite = MAX_WRITE): Promise<void> {
  for (let done = 0; done < buffer.length; ) {
    const { bytesWritten } = await target.write(buffer, done, Math.min(maxWrite, buffer.length - done))
    if (!(bytesWritten > 0)) {
      const err = new SledIoError(`exportTo ${file}: a write stored no bytes (${buffer.length - done} bytes left to write; is the disk full?)`)
      err.kind = 'WriteZero'
      throw err
    }
    done += bytesWritten
  }
}

/** Where `file` really is: its real path, or its directory's real path and its name when it does not exist yet. */
async function realTarget(file: string, depth = 0): Promise<string> {
  try {
    return await realpath(file)
  } catch {
    // not there (or a dangling symlink, whose target open() would create)
    const link = await lstat(file).catch(() => undefined)
    if (link?.isSymbolicLink() && depth < 40) return realTarget(resolve(dirname(file), await readlink(file)), depth + 1)
    const dir = await realpath(dirname(resolve(file))).catch(() => dirname(resolve(file)))
    return join(dir, basename(file))
  }
}

/** Every file under `dir` (lstat), for the hard-link check; errors skip a file. */
async function filesUnder(dir: string, out: Stats[] = []): Promise<Stats[]> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await filesUnder(path, out)
    else {
      const s = await lstat(path).catch(() => undefined)
      if (s !== undefined) out.push(s)
    }
  }
  return out
}

/**
 * Refuses (SledIoError, kind InvalidInput) a destination inside the database directory
 * `dbDir`, or a hard link to one of its files: opening it for writing would truncate
 * the database's own data before it is read.
 */
async function refuseInsideDatabase(file: string, dbDir: string): Promise<void> {
  const refuse = (why: string): never => {
    const err = new SledIoError(`exportTo ${file}: ${why} (${dbDir}); writing the export there would destroy the database`)
    err.kind = 'InvalidInput'
    throw err
  }
  const target = await realTarget(file)
  const dir = await realpath(dbDir).catch(() => dbDir)
  const rel = relative(dir, target)
  if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) refuse('the file is inside the database directory')
  const existing = await statPath(target).catch(() => undefined)
  if (existing?.isFile() && existing.nlink > 1) {
    const same = (await filesUnder(dir)).some((s) => s.dev === existing.dev && s.ino === existing.ino)
    if (same) refuse("the file is a hard link to one of the database's files")
  }
}

export interface WriteOptions {
  /** The database's directory: a destination inside it is refused before it is opened. */
  databaseDir?: string
}

/** Writes collections to `file` (created or truncated) in format v2, flushing in 1 MiB pieces. */
export async function writeExport(file: string, collections: Iterable<ExportedCollection>, options: WriteOptions = {}): Promise<void> {
  try {
    if (options.databaseDir !== undefined) await refuseInsideDatabase(file, options.databaseDir)
    await writeFile(file, collections)
  } catch (error) {
    throw asIoError('exportTo', file, error)
  }
}

async function writeFile(file: string, collections: Iterable<ExportedCollection>): Promise<void> {
  const handle = await openFile(file, 'w')
  let regular: string | undefined
  try {
    // a regular file is fsynced at the end, and removed if the export fails part-way
    if ((await handle.stat()).isFile()) regular = await realpath(file).catch(() => file)
    let pending: Buffer[] = [MAGIC_V2]
    let size = MAGIC_V2.length
    let crc = crc32c(MAGIC_V2, 0)
    /** Small parts go out together in about 1 MiB; a large key or value by itself, never copied. */
    const flush = async (): Promise<void> => {
      let batch: Buffer[] = []
      let batchSize = 0
      const out = async (): Promise<void> => {
        if (batchSize > 0) await writeFully(handle, batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, batchSize), file)
        batch = []
        batchSize = 0
      }
      for (const p of pending) {
        if (p.length >= PIECE) {
          await out()
          await writeFully(handle, p, file)
        } else {
          batch.push(p)
          batchSize += p.length
          if (batchSize >= PIECE) await out()
        }
      }
      await out()
      pending = []
      size = 0
    }
    /** One record: its parts (covered by the running CRC) and then the CRC so far. */
    const record = async (...parts: Buffer[]): Promise<void> => {
      for (const p of parts) {
        crc = crc32c(p, crc)
        pending.push(p)
        size += p.length
      }
      pending.push(u32(crc))
      size += 4
      if (size >= PIECE) await flush()
    }
    for (const c of collections) {
      await record(Buffer.from([COLLECTION]), u32(c.type.length), c.type, u32(c.name.length), c.name)
      for await (const [key, value] of c.entries) {
        if (key === undefined || value === undefined) throw new SledUnsupportedError('exportTo: an entry is not [key, value]')
        await record(Buffer.from([ENTRY]), u32(key.length), key, u32(value.length), value)
      }
    }
    await record(Buffer.from([END]))
    await flush()
    // a pipe, FIFO or device cannot be fsynced (EINVAL): only a regular file is
    if (regular !== undefined) await handle.sync()
  } catch (error) {
    await handle.close().catch(() => {})
    // no partial export left behind
    if (regular !== undefined) await unlink(regular).catch(() => {})
    throw error
  }
  await handle.close()
}

/**
 * Reads an export piece by piece through one fixed buffer. On a regular file (`size`
 * known) reads are positional and every length is checked against the bytes left
 * before anything is allocated for it; on a stream the bytes of a kept field are
 * gathered as they arrive, and every byte read is also copied to `tee` (the spool).
 */
class Reader {
  readonly file: string
  readonly #handle: FileHandle
  readonly #size: number | undefined
  readonly #tee: FileHandle | undefined
  readonly #buf = Buffer.allocUnsafe(PIECE)
  #start = 0
  #end = 0
  /** File offset of #buf[#start]: the bytes consumed so far. */
  #offset = 0
  /** File offset of the next positional read. */
  #readAt = 0
  /** Running CRC32C of the bytes consumed, checksum fields left out (v2 only). */
  crc = 0
  checksums = false

  constructor(file: string, handle: FileHandle, size: number | undefined, tee?: FileHandle) {
    this.file = file
    this.#handle = handle
    this.#size = size
    this.#tee = tee
  }

  get offset(): number {
    return this.#offset
  }

  /** Bytes the file still holds after the consumed ones; undefined for a stream. */
  get remaining(): number | undefined {
    return this.#size === undefined ? undefined : Math.max(0, this.#size - this.#offset)
  }

  async #read(target: Buffer, at: number, length: number): Promise<number> {
    let bytesRead: number
    try {
      ;({ bytesRead } = await this.#handle.read(target, at, length, this.#size === undefined ? null : this.#readAt))
    } catch (error) {
      // read errors surface in the consumer's loop over entries, outside readExport's own wrapping
      throw asIoError('importFrom', this.file, error)
    }
    this.#readAt += bytesRead
    if (this.#tee !== undefined) {
      for (let done = 0; done < bytesRead; ) done += (await this.#tee.write(target, at + done, bytesRead - done)).bytesWritten
    }
    return bytesRead
  }

  /** Reads more into the buffer (moving the few unread bytes to its start first); 0 at EOF. */
  async #more(): Promise<number> {
    if (this.#start === this.#end) {
      this.#start = this.#end = 0
    } else if (this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end)
      this.#end -= this.#start
      this.#start = 0
    }
    const n = await this.#read(this.#buf, this.#end, this.#buf.length - this.#end)
    this.#end += n
    return n
  }

  #consume(n: number, crc: boolean): Buffer {
    const out = this.#buf.subarray(this.#start, this.#start + n)
    if (crc && this.checksums) this.crc = crc32c(out, this.crc)
    this.#start += n
    this.#offset += n
    return out
  }

  /** `n` (at most a few) bytes, valid until the next call; EOF before them is a truncation. */
  async fixed(n: number, crc = true): Promise<Buffer> {
    while (this.#end - this.#start < n) {
      if ((await this.#more()) === 0) throw truncated(this.file, this.#offset + (this.#end - this.#start))
    }
    return this.#consume(n, crc)
  }

  /** Up to `n` bytes (fewer only at EOF), as a copy. */
  async prefix(n: number): Promise<Buffer> {
    while (this.#end - this.#start < n && (await this.#more()) > 0);
    return Buffer.from(this.#consume(Math.min(n, this.#end - this.#start), false))
  }

  async u32(): Promise<number> {
    return (await this.fixed(4)).readUInt32LE(0)
  }

  /** Whether the input ends here. */
  async atEnd(): Promise<boolean> {
    return this.#end === this.#start && (await this.#more()) === 0
  }

  /** A length field just read (at `at`), checked against what the file can still hold and Buffer's limit. */
  checkLength(n: number, at: number, what: string): number {
    const left = this.remaining
    if (left !== undefined && n > left) {
      throw damaged(this.file, at, `a ${what} length of ${n} bytes, but only ${left} bytes follow`)
    }
    if (n > bufferConstants.MAX_LENGTH) {
      throw new SledUnsupportedError(`importFrom ${this.file}: a ${what} of ${n} bytes at byte ${at} is larger than a Buffer can be here (${bufferConstants.MAX_LENGTH})`)
    }
    return n
  }

  /** The next `n` bytes (a checked length): a new Buffer when `keep`, else only run through the CRC. */
  async payload(n: number, keep: boolean): Promise<Buffer | undefined> {
    const sized = keep && this.#size !== undefined
    // on a stream the length is unchecked: gather pieces as they arrive instead of allocating n
    const out = sized ? Buffer.allocUnsafe(n) : undefined
    const pieces: Buffer[] = []
    let done = 0
    while (done < n) {
      if (this.#end === this.#start) {
        if (out !== undefined && n - done >= PIECE) {
          // a large value straight into its Buffer, in bounded reads
          const got = await this.#read(out, done, Math.min(PIECE, n - done))
          if (got === 0) throw truncated(this.file, this.#offset)
          if (this.checksums) this.crc = crc32c(out.subarray(done, done + got), this.crc)
          done += got
          this.#offset += got
          continue
        }
        if ((await this.#more()) === 0) throw truncated(this.file, this.#offset)
      }
      const piece = this.#consume(Math.min(this.#end - this.#start, n - done), true)
      if (out !== undefined) piece.copy(out, done)
      else if (keep) pieces.push(Buffer.from(piece))
      done += piece.length
    }
    if (!keep) return undefined
    return out ?? Buffer.concat(pieces, n)
  }

  /** A u32 length and then that many bytes. */
  async sized(what: string, keep: boolean): Promise<Buffer | undefined> {
    const at = this.#offset
    return this.payload(this.checkLength(await this.u32(), at, what), keep)
  }

  /** A v2 crc field: the running CRC so far must match it. */
  async checksum(what: string): Promise<void> {
    if (!this.checksums) return
    const at = this.#offset
    const stored = (await this.fixed(4, false)).readUInt32LE(0)
    if (stored !== this.crc >>> 0) {
      throw damaged(this.file, at, `checksum mismatch ${what} (stored ${hex32(stored)}, computed ${hex32(this.crc)})`)
    }
  }
}

const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`

type Version = 1 | 2

/** Reads the magic; not an export (or an unknown version) is SledUnsupportedError. */
async function readMagic(reader: Reader): Promise<Version> {
  const magic = await reader.prefix(MAGIC_LENGTH)
  if (magic.equals(MAGIC_V2)) return 2
  if (magic.equals(MAGIC_V1)) return 1
  // a file cut inside the magic is a truncated export; anything else is not an export
  const cut = (m: Buffer) => m.subarray(0, magic.length).equals(magic)
  if (magic.length < MAGIC_LENGTH && (cut(MAGIC_V2) || cut(MAGIC_V1))) {
    throw truncated(reader.file, magic.length)
  }
  const text = magic.toString('latin1')
  if (text.startsWith(MAGIC_STEM) && /^\d+\n$/.test(text.slice(MAGIC_STEM.length))) {
    throw new SledUnsupportedError(`importFrom ${reader.file}: export format v${text.slice(MAGIC_STEM.length, -1)} is not supported by this sled-node (it reads v1 and v2)`)
  }
  throw new SledUnsupportedError(`importFrom ${reader.file}: not a sled-node export file`)
}

/** Reads the magic and sets up checksums for a v2 file. */
async function start(reader: Reader): Promise<Version> {
  const version = await readMagic(reader)
  if (version === 2) {
    reader.checksums = true
    reader.crc = crc32c(MAGIC_V2, 0)
  }
  return version
}

interface Collection {
  type: Buffer
  name: Buffer
}

export interface ReadOptions {
  /** The most collections the file may hold (default DEFAULT_MAX_TREES); more is refused in the first pass. */
  maxTrees?: number
}

/** `maxTrees` checked: an integer >= 1, or Infinity for no limit (TypeError / RangeError as Node's). */
export function maxTreesOf(options: ReadOptions | undefined): number {
  const n: unknown = options?.maxTrees ?? DEFAULT_MAX_TREES
  if (typeof n !== 'number') throw invalidType('options.maxTrees', 'of type number', n)
  if (n !== Infinity && !(Number.isSafeInteger(n) && n >= 1)) throw outOfRange('options.maxTrees', 'an integer >= 1, or Infinity', n)
  return n
}

/**
 * Every record of the file after the magic, each checked (checksum, structure) before it
 * is yielded; ends after the end marker when nothing follows it. `values` false runs
 * values through the checksum without keeping them (the checking pass).
 */
async function* records(reader: Reader, values: boolean, maxTrees: number): AsyncGenerator<Collection | [Buffer, Buffer | undefined]> {
  // latin1: one character per byte, so the names kept cost about their own size
  const names = new Set<string>()
  let inCollection = false
  let previousKey: Buffer | undefined
  for (;;) {
    const at = reader.offset
    const tag = (await reader.fixed(1))[0]
    if (tag === END) {
      await reader.checksum('at the end marker')
      if (!(await reader.atEnd())) throw damaged(reader.file, reader.offset, 'bytes after the end marker')
      return
    }
    if (tag === COLLECTION) {
      if (names.size >= maxTrees) {
        throw new SledUnsupportedError(
          `importFrom ${reader.file}: the file has more than ${maxTrees} trees (collection at byte ${at}); sled's cost of creating trees grows with the square of their number: pass { maxTrees } (CLI: --max-trees) to allow more`,
        )
      }
      const type = (await reader.sized('collection type', true)) as Buffer
      const name = (await reader.sized('tree name', true)) as Buffer
      await reader.checksum(`in the collection record at byte ${at}`)
      if (type.toString('latin1') !== 'tree') {
        throw new SledUnsupportedError(`importFrom ${reader.file}: unknown collection type ${JSON.stringify(type.toString())} at byte ${at}`)
      }
      const id = name.toString('latin1')
      if (names.has(id)) throw damaged(reader.file, at, `a second collection for the tree ${JSON.stringify(name.toString())}`)
      names.add(id)
      inCollection = true
      previousKey = undefined
      yield { type, name }
    } else if (tag === ENTRY) {
      if (!inCollection) throw damaged(reader.file, at, 'an entry before any collection')
      const key = (await reader.sized('key', true)) as Buffer
      const value = await reader.sized('value', values)
      await reader.checksum(`in the entry record at byte ${at}`)
      if (previousKey !== undefined && Buffer.compare(previousKey, key) >= 0) {
        throw damaged(reader.file, at, 'keys out of order (an export lists each tree in ascending key order, without repeats)')
      }
      previousKey = key
      yield [key, value]
    } else {
      throw damaged(reader.file, at, `unexpected byte ${tag} where a record starts`)
    }
  }
}

/** The input to read: the file itself when it is a regular file, else its spooled copy. */
interface Source {
  handle: FileHandle
  size: number
  stat: Stats
  version: Version
  maxTrees: number
  close(): Promise<void>
}

/**
 * A temporary directory for a spool, removed by `remove()` or, if the process exits
 * first (process.exit, a signal handler that exits), by a synchronous 'exit' listener.
 */
async function spoolDirectory(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'sled-node-import-'))
  const onExit = (): void => {
    try {
      rmSync(path, { recursive: true, force: true })
    } catch {
      // nothing more can be done while exiting
    }
  }
  process.on('exit', onExit)
  return {
    path,
    remove: async () => {
      try {
        await rm(path, { recursive: true, force: true })
      } finally {
        process.off('exit', onExit)
      }
    },
  }
}

/**
 * Opens `file` and checks all of it, writing nothing. A regular file is read in place; any
 * other input (a FIFO, a character device) is copied to a temporary file while it is checked,
 * and that copy is the source of the second pass.
 */
async function checkedSource(file: string, maxTrees: number): Promise<Source> {
  const handle = await openFile(file, 'r')
  let spoolDir: Awaited<ReturnType<typeof spoolDirectory>> | undefined
  let spool: FileHandle | undefined
  try {
    const stat = await handle.stat()
    // a directory: Node's own EISDIR from a read (SledIoError, kind IsADirectory, with cause)
    if (stat.isDirectory()) await handle.read(Buffer.alloc(1), 0, 1, 0)
    if (stat.isFile()) {
      const version = await checkAll(new Reader(file, handle, stat.size), maxTrees)
      return { handle, size: stat.size, stat, version, maxTrees, close: () => handle.close() }
    }
    spoolDir = await spoolDirectory()
    spool = await openFile(join(spoolDir.path, 'export'), 'w+')
    const version = await checkAll(new Reader(file, handle, undefined, spool), maxTrees)
    await handle.close()
    const spoolStat = await spool.stat()
    const dir = spoolDir
    const spooled = spool
    return {
      handle: spooled,
      size: spoolStat.size,
      stat: spoolStat,
      version,
      maxTrees,
      close: async () => {
        try {
          await spooled.close()
        } finally {
          await dir.remove()
        }
      },
    }
  } catch (error) {
    await handle.close().catch(() => {})
    await spool?.close().catch(() => {})
    await spoolDir?.remove().catch(() => {})
    throw error
  }
}

/** The checking pass: every record, nothing kept but keys and names. */
async function checkAll(reader: Reader, maxTrees: number): Promise<Version> {
  const version = await start(reader)
  for await (const _ of records(reader, false, maxTrees));
  return version
}

type ImportCollection = { type: Buffer; name: Buffer; entries: AsyncGenerator<Buffer[]> }

/** An export file checked in full, ready for its second pass. */
export interface CheckedExport {
  /** The second pass (once): the collections, each record checked again as it is read. */
  collections(): AsyncGenerator<ImportCollection>
  /** Closes the file and removes a spool copy; idempotent. */
  close(): Promise<void>
}

/**
 * Checks all of `file` (see checkedSource) without writing anything, for a caller that
 * opens its database only once the file is known to be valid (the CLI's import: no
 * database is created for an invalid file) and then imports `collections()`.
 */
export async function checkExport(file: string, options?: ReadOptions): Promise<CheckedExport> {
  const maxTrees = maxTreesOf(options)
  let source: Source
  try {
    source = await checkedSource(file, maxTrees)
  } catch (error) {
    throw asIoError('importFrom', file, error)
  }
  let closed: Promise<void> | undefined
  const close = (): Promise<void> => (closed ??= source.close())
  return {
    close,
    collections: async function* () {
      try {
        const now = await source.handle.stat()
        if (now.size !== source.stat.size || now.mtimeMs !== source.stat.mtimeMs) {
          throw new SledIoError(`importFrom ${file}: the file changed while it was being checked`)
        }
        yield* readChecked(file, source)
      } catch (error) {
        throw asIoError('importFrom', file, error)
      } finally {
        await close()
      }
    },
  }
}

/**
 * The collections of an export file, each with a lazy entry iterator. The whole file is
 * checked first (nothing is yielded from a damaged file), then read again in order.
 */
export async function* readExport(file: string, options?: ReadOptions): AsyncGenerator<ImportCollection> {
  const checked = await checkExport(file, options)
  try {
    yield* checked.collections()
  } finally {
    await checked.close()
  }
}

/** The second pass over a checked source: checks everything again as it goes. */
async function* readChecked(file: string, source: Source): AsyncGenerator<ImportCollection> {
  const reader = new Reader(file, source.handle, source.size)
  if ((await start(reader)) !== source.version) throw new SledIoError(`importFrom ${file}: the file changed while it was being imported`)
  const all = records(reader, true, source.maxTrees)
  let next = await all.next()
  while (!next.done) {
    const record = next.value
    if (Array.isArray(record)) throw damaged(file, reader.offset, 'an entry before any collection') // records() refuses it first
    let following: IteratorResult<Collection | [Buffer, Buffer | undefined]> | undefined
    const entries = (async function* (): AsyncGenerator<Buffer[]> {
      try {
        for (;;) {
          const r = await all.next()
          if (r.done || !Array.isArray(r.value)) {
            following = r
            return
          }
          yield [r.value[0], r.value[1] as Buffer]
        }
      } catch (error) {
        // errors here reach the consumer's loop over entries, outside readExport's own wrapping
        throw asIoError('importFrom', file, error)
      }
    })()
    yield { type: record.type, name: record.name, entries }
    // skip whatever the consumer left unread, to reach the next collection
    for await (const _ of entries);
    next = following ?? (await all.next())
    while (!next.done && Array.isArray(next.value)) next = await all.next()
  }
}
