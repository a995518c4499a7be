// db.backup(): the copy holds every tree and entry, is a new persistent database and is
// verified; progress is reported; an abort, a close() or a failure leaves no destination;
// an existing destination is refused before any work; errors have their classes. The
// consistency under concurrent writers is in concurrency-scenarios.test.ts
// (test/scenarios/backup-under-writers.cjs).
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { type Db, open, SledClosedError, SledIoError, SledUnsupportedError } from 'sled-node'
import { describe, expect, it } from 'vitest'
import { dbPath, tempDir } from './helpers/tmp.js'

function filled(entries: number, path = dbPath()): Db<string, string> {
  const db = open(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  const t = db.openTree('t')
  for (let from = 0; from < entries; from += 10_000) {
    const batch = t.batch()
    for (let i = from; i < Math.min(entries, from + 10_000); i++) batch.insert(`k${String(i).padStart(7, '0')}`, `value ${i}`)
    t.apply(batch)
  }
  db.insert('root', 'r')
  db.openTree('empty')
  return db
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

describe('db.backup()', () => {
  it('copies every tree and entry into a new database and reports the totals', async () => {
    const db = filled(1000)
    const dest = join(tempDir(), 'copy')
    const result = await db.backup(dest)
    expect(result).toMatchObject({ trees: 3, entries: 1001 })
    expect(result.bytes).toBeGreaterThan(1001 * 8)
    expect(result.durationMs).toBeGreaterThanOrEqual(result.pauseMs)
    expect(result.pauseMs).toBeGreaterThanOrEqual(0)
    const copy = open(dest, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    try {
      expect(copy.treeNames().map(String).sort()).toEqual(['__sled__default', 'empty', 't'])
      expect(copy.openTree('t').iter().toArray()).toEqual(db.openTree('t').iter().toArray())
      expect(copy.get('root')).toBe('r')
      expect(copy.checksum()).toBe(db.checksum())
    } finally {
      copy.close()
      db.close()
    }
  })

  it('copies a temporary database into a persistent one, into an existing empty directory', async () => {
    const db = open(dbPath(), { temporary: true })
    db.insert('k', 'v')
    const dest = tempDir()
    await db.backup(dest)
    db.close()
    const copy = open(dest)
    expect(copy.get('k')?.toString()).toBe('v')
    copy.close()
    // reopened after the copy was closed: it is on disk
    const again = open(dest)
    expect(again.get('k')?.toString()).toBe('v')
    again.close()
  })

  it('the source stays usable while a backup runs, and writes made after the point are not in the copy', async () => {
    const db = filled(50_000)
    const dest = join(tempDir(), 'copy')
    const running = db.backup(dest)
    let written = 0
    // the point is taken on the pool; writes keep going while it copies
    while (written < 2000) {
      db.insert(`late${written}`, 'x')
      written++
      if (written % 100 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    const result = await running
    const copy = open(dest, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    const late = copy.scanPrefix('late').toArray().length
    // a prefix of the late writes (those before the point), no gap
    for (let i = 0; i < late; i++) expect(copy.get(`late${i}`)).toBe('x')
    expect(result.entries).toBe(50_001 + late)
    expect(db.scanPrefix('late').toArray().length).toBe(2000)
    copy.close()
    db.close()
  })

  it('reports progress on a timer while it copies', async () => {
    const db = filled(100_000)
    const seen: { entries: number; bytes: number; trees: number }[] = []
    const result = await db.backup(join(tempDir(), 'copy'), { onProgress: (p) => seen.push(p), progressInterval: 1 })
    db.close()
    expect(seen.length).toBeGreaterThan(0)
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.entries).toBeGreaterThanOrEqual(seen[i - 1]!.entries)
    expect(seen.at(-1)!.entries).toBeLessThanOrEqual(result.entries)
  })

  it('an abort mid-way rejects with an AbortError whose cause is the reason, and leaves no destination', async () => {
    const db = filled(200_000)
    const dest = join(tempDir(), 'copy')
    const controller = new AbortController()
    const reason = new Error('stop now')
    let atAbort = 0
    const err = await rejection(
      db.backup(dest, {
        signal: controller.signal,
        progressInterval: 1,
        onProgress: (p) => {
          if (p.entries > 0 && !controller.signal.aborted) {
            atAbort = p.entries
            controller.abort(reason)
          }
        },
      }),
    )
    expect(atAbort).toBeGreaterThan(0)
    expect(atAbort).toBeLessThan(200_001)
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason })
    expect(existsSync(dest)).toBe(false)
    // the capture was released: another backup runs
    await db.backup(dest)
    db.close()
  })

  it('an already aborted signal rejects before any work', async () => {
    const db = filled(10)
    const dest = join(tempDir(), 'copy')
    const err = await rejection(db.backup(dest, { signal: AbortSignal.abort('why') }))
    expect(err).toMatchObject({ name: 'AbortError', cause: 'why' })
    expect(existsSync(dest)).toBe(false)
    db.close()
  })

  it('an existing destination is refused before any work: SledIoError EEXIST', async () => {
    const db = filled(10)
    const full = tempDir()
    writeFileSync(join(full, 'keep'), 'mine')
    const file = join(tempDir(), 'a-file')
    writeFileSync(file, 'mine')
    for (const dest of [full, file, db.path]) {
      const err = await rejection(db.backup(dest))
      expect(err).toBeInstanceOf(SledIoError)
      expect(err).toMatchObject({ code: 'SLED_IO', errno: 17, kind: 'AlreadyExists' })
    }
    expect(readdirSync(full)).toEqual(['keep'])
    db.close()
  })

  it('a destination that cannot be written: SledIoError with its errno, nothing left', async () => {
    const db = filled(10)
    const file = join(tempDir(), 'a-file')
    writeFileSync(file, 'mine')
    const err = await rejection(db.backup(join(file, 'copy')))
    expect(err).toBeInstanceOf(SledIoError)
    expect(err).toMatchObject({ errno: 20, kind: 'NotADirectory' })
    db.close()
  })

  it('a closed handle: SledClosedError', async () => {
    const db = filled(10)
    db.close()
    const err = await rejection(db.backup(join(tempDir(), 'copy')))
    expect(err).toBeInstanceOf(SledClosedError)
  })

  it('close() during a backup ends it (SledClosedError, no destination) and frees the database', async () => {
    const path = dbPath()
    const db = filled(200_000, path)
    const dest = join(tempDir(), 'copy')
    let closed = false
    const err = await rejection(
      db.backup(dest, {
        progressInterval: 1,
        onProgress: (p) => {
          if (p.entries > 0 && !closed) {
            closed = true
            db.close()
          }
        },
      }),
    )
    expect(closed).toBe(true)
    expect(err).toBeInstanceOf(SledClosedError)
    expect(existsSync(dest)).toBe(false)
    const again = open(path)
    expect(again.openTree('t').len()).toBe(200_000)
    again.close()
  })

  it('one backup of a database at a time: a second one is refused with SledUnsupportedError', async () => {
    const db = filled(100_000)
    const first = db.backup(join(tempDir(), 'one'))
    // the first claims the database on the pool; wait until it copies
    const second = join(tempDir(), 'two')
    const err = await rejection(
      new Promise((resolve, reject) => {
        const tryAgain = (): void => {
          db.backup(second).then(resolve, (e: unknown) => (e instanceof SledUnsupportedError ? reject(e) : setTimeout(tryAgain, 1)))
        }
        tryAgain()
      }),
    )
    expect(err).toBeInstanceOf(SledUnsupportedError)
    expect(existsSync(second)).toBe(false)
    await first
    db.close()
  })

  it('a throwing onProgress ends the backup with its error and removes the copy', async () => {
    const db = filled(200_000)
    const dest = join(tempDir(), 'copy')
    const boom = new Error('boom')
    const err = await rejection(
      db.backup(dest, {
        progressInterval: 1,
        onProgress: () => {
          throw boom
        },
      }),
    )
    expect(err).toBe(boom)
    expect(existsSync(dest)).toBe(false)
    db.close()
  })

  it('a throwing onProgress removes the copy also when the copy finishes first (small databases, 20 runs)', async () => {
    // the callback's first call often comes after the task's last look at the cancel flag:
    // the facade then removes the finished copy itself
    const db = filled(100)
    const boom = new Error('boom')
    let rejected = 0
    for (let run = 0; run < 20; run++) {
      const dest = join(tempDir(), 'copy')
      const outcome = await db
        .backup(dest, {
          progressInterval: 1,
          onProgress: () => {
            throw boom
          },
        })
        .then(
          () => 'resolved',
          (e: unknown) => e,
        )
      if (outcome === 'resolved') {
        // the copy ended before the first progress call: it is kept, and whole
        const copy = open(dest)
        expect(copy.len(), `run ${run}`).toBe(100)
        copy.close()
      } else {
        expect(outcome, `run ${run}`).toBe(boom)
        expect(existsSync(dest), `run ${run}: the copy is left behind`).toBe(false)
        rejected++
      }
    }
    expect(rejected).toBeGreaterThan(0)
    db.close()
  })

  it('bad arguments are TypeErrors', async () => {
    const db = filled(1)
    const dest = join(tempDir(), 'copy')
    for (const [args, code] of [
      [[], 'ERR_INVALID_ARG_TYPE'],
      [[''], 'ERR_INVALID_ARG_VALUE'],
      [[dest, { signal: {} }], 'ERR_INVALID_ARG_TYPE'],
      [[dest, { onProgress: 1 }], 'ERR_INVALID_ARG_TYPE'],
      [[dest, { progressInterval: 0 }], 'ERR_INVALID_ARG_VALUE'],
      [[dest, { other: 1 }], 'ERR_INVALID_ARG_VALUE'],
      [[dest, 'x'], 'ERR_INVALID_ARG_TYPE'],
    ] as const) {
      const err = await rejection((db.backup as (...a: unknown[]) => Promise<unknown>)(...args))
      expect(err, JSON.stringify(args)).toBeInstanceOf(TypeError)
      expect(err, JSON.stringify(args)).toMatchObject({ code })
    }
    expect(existsSync(dest)).toBe(false)
    mkdirSync(dest)
    db.close()
  })
})

describe('NativeBackup.discard() (the native layer under db.backup())', () => {
  const require = createRequire(import.meta.url)
  const native = require(join(dirname(require.resolve('sled-node/package.json')), 'dist/src/native.js')) as {
    openNative(path: string, options: object): { backup(destination: string, job: unknown): Promise<unknown>; close(): void }
    newNativeBackup(): { cancel(): void; discard(): void }
  }

  it('after a backup that failed removes nothing, though the directory now holds another copy', async () => {
    const db = native.openNative(dbPath(), {})
    const dest = join(tempDir(), 'copy')
    mkdirSync(dest)
    const job = native.newNativeBackup()
    const running = db.backup(dest, job)
    job.cancel()
    expect(await rejection(running)).toMatchObject({ code: 'ABORT_ERR' })
    expect(readdirSync(dest)).toEqual([])
    // what lands in the directory afterwards is not the failed backup's to remove
    writeFileSync(join(dest, 'other'), 'kept')
    job.discard()
    expect(readdirSync(dest)).toEqual(['other'])
    db.close()
  })
})
