// The file form of sled's export (Db.exportTo / Db.importFrom): the same collections
// as Db.export(), streamed to disk, never the whole database in memory.
//
//   magic "sled-node export v1\n"
//   per collection: 0x01 [u32 type len][type] [u32 name len][name]
//                   then per entry: 0x02 [u32 key len][key] [u32 value len][value]
//   end: 0x00                                  (u32 little-endian throughout)

import { Buffer } from 'node:buffer'
import { type FileHandle, open as openFile } from 'node:fs/promises'
import { SledIoError, SledUnsupportedError } from './errors.js'

const MAGIC = Buffer.from('sled-node export v1\n')
const COLLECTION = 1
const ENTRY = 2
const END = 0

/** What Db.export() yields, and Db.import() takes. */
export interface ExportedCollection {
  type: Buffer
  name: Buffer
  entries: Iterable<Buffer[]> | AsyncIterable<Buffer[]>
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

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32LE(n, 0)
  return b
}

/** Writes collections to `file` (created or truncated), flushing in 1 MiB pieces. */
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
    let pending: Buffer[] = [MAGIC]
    let size = MAGIC.length
    const put = async (...parts: Buffer[]): Promise<void> => {
      for (const p of parts) {
        pending.push(p)
        size += p.length
      }
      if (size >= 1 << 20) {
        await handle.write(Buffer.concat(pending, size))
        pending = []
        size = 0
      }
    }
    for (const c of collections) {
      await put(Buffer.from([COLLECTION]), u32(c.type.length), c.type, u32(c.name.length), c.name)
      for await (const [key, value] of c.entries) {
        if (key === undefined || value === undefined) throw new SledUnsupportedError('exportTo: an entry is not [key, value]')
        await put(Buffer.from([ENTRY]), u32(key.length), key, u32(value.length), value)
      }
    }
    await put(Buffer.from([END]))
    if (size > 0) await handle.write(Buffer.concat(pending, size))
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Reads a file written by writeExport, piece by piece. */
class Reader {
  #buffer = Buffer.alloc(0)
  #at = 0
  readonly #handle: FileHandle
  readonly #file: string

  constructor(handle: FileHandle, file: string) {
    this.#handle = handle
    this.#file = file
  }

  async bytes(n: number): Promise<Buffer> {
    while (this.#buffer.length - this.#at < n) {
      const chunk = Buffer.allocUnsafe(Math.max(1 << 20, n))
      let bytesRead: number
      try {
        ;({ bytesRead } = await this.#handle.read(chunk, 0, chunk.length, null))
      } catch (error) {
        // read errors surface in the consumer's loop over entries, outside readExport's own wrapping
        throw asIoError('importFrom', this.#file, error)
      }
      if (bytesRead === 0) throw new SledIoError(`importFrom ${this.#file}: the file ends early (truncated export)`)
      this.#buffer = Buffer.concat([this.#buffer.subarray(this.#at), chunk.subarray(0, bytesRead)])
      this.#at = 0
    }
    const out = this.#buffer.subarray(this.#at, this.#at + n)
    this.#at += n
    return out
  }

  async sized(): Promise<Buffer> {
    return Buffer.from(await this.bytes((await this.bytes(4)).readUInt32LE(0)))
  }
}

/** The collections of an export file, each with a lazy entry iterator; the file is read once, in order. */
export async function* readExport(file: string): AsyncGenerator<{ type: Buffer; name: Buffer; entries: AsyncGenerator<Buffer[]> }> {
  try {
    yield* readFile(file)
  } catch (error) {
    throw asIoError('importFrom', file, error)
  }
}

async function* readFile(file: string): AsyncGenerator<{ type: Buffer; name: Buffer; entries: AsyncGenerator<Buffer[]> }> {
  const handle = await openFile(file, 'r')
  try {
    const reader = new Reader(handle, file)
    if (!(await reader.bytes(MAGIC.length)).equals(MAGIC)) {
      throw new SledUnsupportedError(`importFrom ${file}: not a sled-node export file`)
    }
    let tag = (await reader.bytes(1))[0]
    while (tag !== END) {
      if (tag !== COLLECTION) throw new SledIoError(`importFrom ${file}: corrupt export file (unexpected byte ${tag})`)
      const type = await reader.sized()
      const name = await reader.sized()
      let next = tag
      const entries = (async function* (): AsyncGenerator<Buffer[]> {
        for (;;) {
          next = (await reader.bytes(1))[0] as number
          if (next !== ENTRY) return
          const key = await reader.sized()
          yield [key, await reader.sized()]
        }
      })()
      yield { type, name, entries }
      // skip whatever the consumer left unread, to reach the next collection
      for await (const _ of entries);
      tag = next
    }
  } finally {
    await handle.close()
  }
}
