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
// during the first pass and the second pass reads that copy. Memory stays bounded by one
// 1 MiB read buffer plus the largest key (first pass) or entry (second pass): no length
// read from the file is used to allocate before it is checked against the bytes the file
// still has, and read sizes are never larger than the buffer.

import { Buffer, constants as bufferConstants } from 'node:buffer'
import { type Stats } from 'node:fs'
import { type FileHandle, mkdtemp, open as openFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
}

/**
 * Node's own fs errors (ENOENT, EACCES, EISDIR…) become SledIoError, as API.md promises
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

/** Writes collections to `file` (created or truncated) in format v2, flushing in 1 MiB pieces. */
export async function writeExport(file: string, collections: Iterable<ExportedCollection>): Promise<void> {
  try {
    await writeFile(file, collections)
  } catch (error) {
    throw asIoError('exportTo', file, error)
  }
}

async function writeFile(file: string, collections: Iterable<ExportedCollection>): Promise<void> {
  const handle = await openFile(file, 'w')
  try {
    let pending: Buffer[] = [MAGIC_V2]
    let size = MAGIC_V2.length
    let crc = crc32c(MAGIC_V2, 0)
    const flush = async (): Promise<void> => {
      await handle.write(Buffer.concat(pending, size))
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
    await handle.sync()
  } finally {
    await handle.close()
  }
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

/**
 * Every record of the file after the magic, each checked (checksum, structure) before it
 * is yielded; ends after the end marker when nothing follows it. `values` false runs
 * values through the checksum without keeping them (the checking pass).
 */
async function* records(reader: Reader, values: boolean): AsyncGenerator<Collection | [Buffer, Buffer | undefined]> {
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
      const type = (await reader.sized('collection type', true)) as Buffer
      const name = (await reader.sized('tree name', true)) as Buffer
      await reader.checksum(`in the collection record at byte ${at}`)
      if (type.toString('latin1') !== 'tree') {
        throw new SledUnsupportedError(`importFrom ${reader.file}: unknown collection type ${JSON.stringify(type.toString())} at byte ${at}`)
      }
      const id = name.toString('hex')
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
  /** The temporary directory of a spool, removed by close(). */
  spoolDir?: string
  close(): Promise<void>
}

/**
 * Opens `file` and checks all of it, writing nothing. A regular file is read in place; any
 * other input (a FIFO, a character device) is copied to a temporary file while it is checked,
 * and that copy is the source of the second pass.
 */
async function checkedSource(file: string): Promise<Source> {
  const handle = await openFile(file, 'r')
  let spoolDir: string | undefined
  let spool: FileHandle | undefined
  try {
    const stat = await handle.stat()
    // a directory: Node's own EISDIR from a read (SledIoError, kind IsADirectory, with cause)
    if (stat.isDirectory()) await handle.read(Buffer.alloc(1), 0, 1, 0)
    if (stat.isFile()) {
      const version = await checkAll(new Reader(file, handle, stat.size))
      return { handle, size: stat.size, stat, version, close: () => handle.close() }
    }
    spoolDir = await mkdtemp(join(tmpdir(), 'sled-node-import-'))
    spool = await openFile(join(spoolDir, 'export'), 'w+')
    const version = await checkAll(new Reader(file, handle, undefined, spool))
    await handle.close()
    const spoolStat = await spool.stat()
    const dir = spoolDir
    const spooled = spool
    return {
      handle: spooled,
      size: spoolStat.size,
      stat: spoolStat,
      version,
      spoolDir: dir,
      close: async () => {
        try {
          await spooled.close()
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      },
    }
  } catch (error) {
    await handle.close().catch(() => {})
    await spool?.close().catch(() => {})
    if (spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true }).catch(() => {})
    throw error
  }
}

/** The checking pass: every record, nothing kept but keys and names. */
async function checkAll(reader: Reader): Promise<Version> {
  const version = await start(reader)
  for await (const _ of records(reader, false));
  return version
}

/**
 * Checks all of `file` (see checkedSource) without writing anything, for a caller that
 * then imports it with importFrom. `path` is the file itself, or for input that cannot be
 * read twice a checked temporary copy, removed by `close()`.
 */
export async function checkExport(file: string): Promise<{ path: string; close(): Promise<void> }> {
  let source: Source
  try {
    source = await checkedSource(file)
  } catch (error) {
    throw asIoError('importFrom', file, error)
  }
  if (source.spoolDir === undefined) {
    await source.close()
    return { path: file, close: async () => {} }
  }
  // keep the copy; only the handle is closed
  const dir = source.spoolDir
  await source.handle.close()
  return { path: join(dir, 'export'), close: () => rm(dir, { recursive: true, force: true }) }
}

/**
 * The collections of an export file, each with a lazy entry iterator. The whole file is
 * checked first (nothing is yielded from a damaged file), then read again in order.
 */
export async function* readExport(file: string): AsyncGenerator<{ type: Buffer; name: Buffer; entries: AsyncGenerator<Buffer[]> }> {
  let source: Source | undefined
  try {
    source = await checkedSource(file)
    const now = await source.handle.stat()
    if (now.size !== source.stat.size || now.mtimeMs !== source.stat.mtimeMs) {
      throw new SledIoError(`importFrom ${file}: the file changed while it was being checked`)
    }
    yield* readChecked(file, source)
  } catch (error) {
    throw asIoError('importFrom', file, error)
  } finally {
    await source?.close()
  }
}

/** The second pass over a checked source: checks everything again as it goes. */
async function* readChecked(file: string, source: Source): AsyncGenerator<{ type: Buffer; name: Buffer; entries: AsyncGenerator<Buffer[]> }> {
  const reader = new Reader(file, source.handle, source.size)
  if ((await start(reader)) !== source.version) throw new SledIoError(`importFrom ${file}: the file changed while it was being imported`)
  const all = records(reader, true)
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
