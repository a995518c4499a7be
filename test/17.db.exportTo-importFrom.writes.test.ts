// exportTo's writing and importFrom's limits under hostile conditions: short writes (a nearly
// full disk) are continued and a write of 0 bytes is an error, never a silently cut file;
// writes go in calls of at most 1 GiB (fs refuses more than 2^31-1 bytes per call), tested
// through the write loop's seam; /dev/full is a SledIoError; a destination inside the
// database directory (directly, through a symlink or as a hard link) is refused before it
// is opened; pipes, FIFOs and /dev/null are written without fsync; a failed export leaves no
// partial file; importFrom refuses a file with more trees than options.maxTrees in the check
// pass, creating nothing; a spool copy is removed by an 'exit' listener that lives only while
// the spool exists (and runs at process.exit).
import { Buffer } from 'node:buffer'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { open as openFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { type Db, type ExportedCollection, open, SledCollectionNotFoundError, SledIoError, SledUnsupportedError } from 'sled-node'
import { describe, expect, it } from 'vitest'
import { dbPath, tempDir } from './helpers/tmp.js'

const require = createRequire(import.meta.url)
const pkgDir = dirname(require.resolve('sled-node/package.json'))

/** The built export-format module: its write loop is the seam for short and huge writes. */
interface ExportFormat {
  MAX_WRITE: number
  DEFAULT_MAX_TREES: number
  writeFully(target: { write(b: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }> }, buffer: Buffer, file: string, maxWrite?: number): Promise<void>
  writeExport(file: string, collections: Iterable<ExportedCollection>): Promise<void>
}
const format = require(join(pkgDir, 'dist/src/export-format.js')) as ExportFormat

/** A FileHandle-like target recording every call, giving at most `per` bytes each (0: a write that stores nothing). */
function target(per: (call: number, length: number) => number) {
  const calls: number[] = []
  const chunks: Buffer[] = []
  return {
    calls,
    written: () => Buffer.concat(chunks),
    async write(b: Buffer, offset: number, length: number) {
      const n = Math.min(length, per(calls.length, length))
      calls.push(length)
      chunks.push(Buffer.from(b.subarray(offset, offset + n)))
      return { bytesWritten: n }
    },
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e,
  )
}

function seeded(): { db: Db; path: string } {
  const path = dbPath()
  const db = open(path)
  db.insert('k', 'v')
  db.openTree('t').insert('a', 'b')
  return { db, path }
}

describe('the write loop', () => {
  it('continues after short writes until every byte is written', async () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251))
    const t = target((call) => (call % 3) + 1) // 1, 2, 3 bytes per call, as a nearly full disk gives
    await format.writeFully(t, bytes, 'f')
    expect(t.written().equals(bytes)).toBe(true)
    expect(t.calls.length).toBeGreaterThan(400)
  })

  it('a write that stores 0 bytes is a SledIoError (kind WriteZero), after the bytes that did go', async () => {
    const t = target((call) => (call === 0 ? 10 : 0))
    const err = await rejection(format.writeFully(t, Buffer.alloc(100), 'out.exp'))
    expect(err).toBeInstanceOf(SledIoError)
    expect(err).toMatchObject({ code: 'SLED_IO', kind: 'WriteZero' })
    expect((err as Error).message).toMatch(/^exportTo out\.exp: a write stored no bytes \(90 bytes left/)
  })

  it('never gives one call more than maxWrite bytes; the default is 1 GiB, under fs’s 2^31-1 per call', async () => {
    expect(format.MAX_WRITE).toBe(2 ** 30)
    expect(format.MAX_WRITE).toBeLessThan(2 ** 31 - 1)
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256))
    const t = target(() => Number.MAX_SAFE_INTEGER)
    await format.writeFully(t, bytes, 'f', 64)
    expect(Math.max(...t.calls)).toBe(64)
    expect(t.calls.length).toBe(Math.ceil(1000 / 64))
    expect(t.written().equals(bytes)).toBe(true)
    // short writes inside pieces too
    const short = target((call) => (call % 2 === 0 ? 40 : 64))
    await format.writeFully(short, bytes, 'f', 64)
    expect(Math.max(...short.calls)).toBeLessThanOrEqual(64)
    expect(short.written().equals(bytes)).toBe(true)
  })

  it('exportTo /dev/full rejects with SledIoError ENOSPC (StorageFull)', async () => {
    const { db } = seeded()
    try {
      const err = await rejection(db.exportTo('/dev/full'))
      expect(err).toBeInstanceOf(SledIoError)
      expect(err).toMatchObject({ kind: 'StorageFull', errno: 28 })
    } finally {
      db.close()
    }
  })
})

describe('exportTo: where it writes', () => {
  it('refuses a file inside the database directory, directly, through a symlink, or as a hard link, and the database survives', async () => {
    const { db, path } = seeded()
    const outside = tempDir()
    symlinkSync(path, join(outside, 'link-to-db'))
    linkSync(join(path, 'conf'), join(outside, 'hardlink-to-conf'))
    const before = db.checksum()
    const conf = readFileSync(join(path, 'conf'))
    try {
      for (const file of [join(path, 'db'), join(path, 'conf'), join(path, 'new.exp'), path, join(outside, 'link-to-db', 'db'), join(outside, 'hardlink-to-conf')]) {
        const err = await rejection(db.exportTo(file))
        expect(err, file).toBeInstanceOf(SledIoError)
        expect(err, file).toMatchObject({ kind: 'InvalidInput' })
        expect((err as Error).message).toMatch(/inside the database directory|hard link to one of the database's files/)
      }
      expect(existsSync(join(path, 'new.exp'))).toBe(false)
      expect(readFileSync(join(path, 'conf')).equals(conf)).toBe(true)
      expect(db.checksum()).toBe(before)
      // a sibling whose name starts like the directory is outside it
      await db.exportTo(`${path}-copy.exp`)
      expect(statSync(`${path}-copy.exp`).size).toBeGreaterThan(20)
    } finally {
      db.close()
    }
    const reopened = open(path)
    try {
      expect(reopened.get('k')?.toString()).toBe('v')
    } finally {
      reopened.close()
    }
  })

  it('writes to /dev/null and to a FIFO (no fsync there); what the FIFO carried imports', async () => {
    const { db } = seeded()
    try {
      await db.exportTo('/dev/null')
      const dir = tempDir()
      const fifo = join(dir, 'fifo')
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
      const copy = join(dir, 'copy.exp')
      const reader = spawn('sh', ['-c', 'cat "$0" > "$1"', fifo, copy], { stdio: 'ignore' })
      const done = new Promise((resolve) => reader.on('exit', resolve))
      await db.exportTo(fifo)
      expect(await done).toBe(0)
      const target = open(dbPath())
      try {
        await target.importFrom(copy)
        expect(target.openTree('t').get('a')?.toString()).toBe('b')
      } finally {
        target.close()
      }
    } finally {
      db.close()
    }
  })

  it('a tree dropped during exportTo rejects with SledCollectionNotFoundError and leaves no partial file', async () => {
    const path = dbPath()
    const db = open(path)
    try {
      const big = db.openTree('z')
      for (let i = 0; i < 400; i++) big.insert(`k${String(i).padStart(4, '0')}`, Buffer.alloc(32 * 1024, i))
      const file = join(tempDir(), 'partial.exp')
      const exporting = rejection(db.exportTo(file))
      // wait until the first pieces are on disk, inside tree z
      while (!(existsSync(file) && statSync(file).size > 0)) await new Promise((resolve) => setImmediate(resolve))
      expect(db.dropTree('z')).toBe(true)
      expect(await exporting).toBeInstanceOf(SledCollectionNotFoundError)
      expect(existsSync(file)).toBe(false)
    } finally {
      db.close()
    }
  })
})

describe('importFrom: the number of trees', () => {
  async function manyTrees(n: number): Promise<string> {
    const file = join(tempDir(), `trees-${n}.exp`)
    const collections = Array.from({ length: n }, (_, i) => ({ type: Buffer.from('tree'), name: Buffer.from(`t${i}`), entries: [] as Buffer[][] }))
    await format.writeExport(file, collections)
    return file
  }

  it(`more than ${1000} trees is refused in the check pass (SledUnsupportedError), nothing created; maxTrees allows more`, async () => {
    expect(format.DEFAULT_MAX_TREES).toBe(1000)
    const file = await manyTrees(1001)
    const db = open(dbPath())
    try {
      const err = await rejection(db.importFrom(file))
      expect(err).toBeInstanceOf(SledUnsupportedError)
      expect((err as Error).message).toMatch(/more than 1000 trees .*maxTrees/)
      expect(db.treeNames().map(String)).toEqual(['__sled__default'])
      expect(await rejection(db.importFrom(await manyTrees(3), { maxTrees: 2 }))).toBeInstanceOf(SledUnsupportedError)
      expect(db.treeNames().length).toBe(1)
      await db.importFrom(file, { maxTrees: 1001 })
      expect(db.treeNames().length).toBe(1002)
    } finally {
      db.close()
    }
  })

  it('a bad maxTrees is a TypeError / RangeError', async () => {
    const file = await manyTrees(1)
    const db = open(dbPath())
    try {
      expect(await rejection(db.importFrom(file, { maxTrees: 0 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' })
      expect(await rejection(db.importFrom(file, { maxTrees: 1.5 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' })
      expect(await rejection(db.importFrom(file, { maxTrees: '5' as unknown as number }))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
      expect(await rejection(db.importFrom(file, { maxTree: 5 } as never))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
      await db.importFrom(file, { maxTrees: Infinity })
    } finally {
      db.close()
    }
  })
})

describe('importFrom: the spool copy of a FIFO', () => {
  /** A seeded database exported to `dir/src.exp`, and an empty FIFO `dir/fifo`. */
  async function exportAndFifo(): Promise<{ dir: string; file: string; fifo: string }> {
    const { db } = seeded()
    const dir = tempDir()
    const file = join(dir, 'src.exp')
    await db.exportTo(file)
    db.close()
    const fifo = join(dir, 'fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    return { dir, file, fifo }
  }

  it("is guarded by a process 'exit' listener only while it exists", async () => {
    const { file, fifo } = await exportAndFifo()
    const before = process.listenerCount('exit')
    const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', file, fifo], { stdio: 'ignore' })
    const written = new Promise((resolve) => writer.on('exit', resolve))
    const target = open(dbPath())
    try {
      await target.importFrom(fifo)
      expect(target.get('k')?.toString()).toBe('v')
    } finally {
      target.close()
    }
    await written
    expect(process.listenerCount('exit')).toBe(before)
  })

  it('is removed when the process exits (process.exit) while a FIFO import waits for input', async () => {
    const { dir, file, fifo } = await exportAndFifo()
    const tmp = join(dir, 'tmp')
    mkdirSync(tmp)
    writeFileSync(
      join(dir, 'child.cjs'),
      `const { open } = require(${JSON.stringify(pkgDir)})
const fs = require('node:fs')
const db = open(process.argv[2])
db.importFrom(process.argv[3]).catch(() => {})
const poll = setInterval(() => {
  const spool = fs.readdirSync(process.argv[4]).find((n) => n.startsWith('sled-node-import-'))
  if (spool && fs.existsSync(process.argv[4] + '/' + spool + '/export') && fs.statSync(process.argv[4] + '/' + spool + '/export').size > 0) {
    clearInterval(poll)
    process.exit(7)
  }
}, 10)
`,
    )
    // 30 bytes of the export, the rest never (the FIFO stays open): the import waits in its check pass
    const child = spawn(process.execPath, [join(dir, 'child.cjs'), dbPath(), fifo, tmp], { env: { ...process.env, TMPDIR: tmp }, stdio: 'ignore' })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    const writer = await openFile(fifo, 'w')
    try {
      await writer.write(readFileSync(file).subarray(0, 30))
      // the listener removes the copy at process.exit; the exit itself then waits for libuv's
      // thread blocked reading the FIFO, which closing our end releases
      const deadline = Date.now() + 20_000
      while (readdirSync(tmp).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      while (readdirSync(tmp).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(readdirSync(tmp)).toEqual([])
    } finally {
      await writer.close()
    }
    expect(await exited).toBe(7)
  })
})
