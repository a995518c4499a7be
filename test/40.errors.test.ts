// The error classes of docs/api.md: exported by name, one hierarchy rooted at SledError
// (an Error), each with its stable `code` and its class name as `name` — both when
// constructed and when raised by the library. One copy per process for import and require.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as sled from 'sled-node'
import {
  open,
  SledClosedError,
  SledCollectionNotFoundError,
  SledCorruptionError,
  SledError,
  SledIoError,
  SledLockedError,
  SledPanicError,
  SledReportableBugError,
  SledUnsupportedError,
} from 'sled-node'
import { entry, expectCleanExit, runChild } from './helpers/child.js'
import { caught } from './helpers/caught.js'
import { nextMessage, worker } from './helpers/workers.js'
import { dbPath, tempDir } from './helpers/tmp.js'

type AnyErrorClass = new (message: string) => SledError

// [exported name, class, code, direct parent]
const classes: [string, AnyErrorClass, string, Function][] = [
  ['SledIoError', SledIoError, 'SLED_IO', SledError],
  ['SledLockedError', SledLockedError, 'SLED_LOCKED', SledIoError],
  ['SledCorruptionError', SledCorruptionError, 'SLED_CORRUPTION', SledError],
  ['SledCollectionNotFoundError', SledCollectionNotFoundError, 'SLED_COLLECTION_NOT_FOUND', SledError],
  ['SledUnsupportedError', SledUnsupportedError, 'SLED_UNSUPPORTED', SledError],
  ['SledReportableBugError', SledReportableBugError, 'SLED_REPORTABLE_BUG', SledError],
  ['SledClosedError', SledClosedError, 'SLED_CLOSED', SledError],
  ['SledPanicError', SledPanicError, 'SLED_PANIC', SledError],
]

describe('error classes', () => {
  it('SledError is exported and extends Error', () => {
    expect(typeof (sled as Record<string, unknown>).SledError).toBe('function')
    expect(Object.getPrototypeOf(SledError)).toBe(Error)
    const err = new SledError('base', 'SLED_SOMETHING')
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('SledError')
    expect(err.code).toBe('SLED_SOMETHING')
    expect(err.message).toBe('base')
    expect(typeof err.stack).toBe('string')
    expect(String(err)).toBe('SledError: base')
  })

  it.each(classes)('%s is exported, extends its parent and has code and name', (exported, cls, code, parent) => {
    expect((sled as Record<string, unknown>)[exported]).toBe(cls)
    expect(cls.name).toBe(exported)
    expect(Object.getPrototypeOf(cls)).toBe(parent)

    const err = new cls('something went wrong')
    expect(err).toBeInstanceOf(cls)
    expect(err).toBeInstanceOf(SledError)
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe(code)
    expect(err.name).toBe(exported)
    expect(err.message).toBe('something went wrong')
    expect(String(err)).toBe(`${exported}: something went wrong`)
    expect(err.stack).toContain(exported)
  })

  it('SledLockedError is a SledIoError; no other class is', () => {
    expect(new SledLockedError('x')).toBeInstanceOf(SledIoError)
    for (const [name, cls] of classes) {
      if (name === 'SledLockedError' || name === 'SledIoError') continue
      expect(new cls('x')).not.toBeInstanceOf(SledIoError)
    }
  })

  it('codes are unique', () => {
    const codes = classes.map(([, , code]) => code)
    expect(new Set(codes).size).toBe(codes.length)
  })

  it('import and require see one copy of every class', () => {
    const required = createRequire(import.meta.url)('sled-node') as typeof sled
    expect(required.SledError).toBe(SledError)
    for (const [name, cls] of classes) expect((required as Record<string, unknown>)[name]).toBe(cls)
    expect(required.open).toBe(open)
  })
})

describe('errors raised by the library have the right class, code and name', () => {
  it('SledClosedError', () => {
    const db = open(dbPath())
    db.close()
    const err = caught(() => db.get('k')) as SledClosedError
    expect(err).toBeInstanceOf(SledClosedError)
    expect(err).toBeInstanceOf(SledError)
    expect(err.code).toBe('SLED_CLOSED')
    expect(err.name).toBe('SledClosedError')
    // the native code prefix is parsed away
    expect(err.message).not.toMatch(/^\[/)
    expect(err.message.length).toBeGreaterThan(0)
  })

  it('SledCollectionNotFoundError', () => {
    const db = open(dbPath())
    const t = db.openTree('t')
    db.dropTree('t')
    const err = caught(() => t.get('k')) as SledCollectionNotFoundError
    expect(err).toBeInstanceOf(SledCollectionNotFoundError)
    expect(err.code).toBe('SLED_COLLECTION_NOT_FOUND')
    expect(err.name).toBe('SledCollectionNotFoundError')
    expect(err.message).not.toMatch(/^\[/)
    db.close()
  })

  it('SledUnsupportedError', () => {
    const db = open(dbPath())
    const err = caught(() => db.dropTree('__sled__default')) as SledUnsupportedError
    expect(err).toBeInstanceOf(SledUnsupportedError)
    expect(err.code).toBe('SLED_UNSUPPORTED')
    expect(err.name).toBe('SledUnsupportedError')
    db.close()
  })

  it('SledIoError, with kind and errno where known', () => {
    const file = join(tempDir(), 'file')
    writeFileSync(file, 'x')
    const err = caught(() => open(join(file, 'db'))) as SledIoError
    expect(err).toBeInstanceOf(SledIoError)
    expect(err.code).toBe('SLED_IO')
    expect(err.name).toBe('SledIoError')
    expect(err.message).toContain(file)
    expect(err.message).not.toMatch(/^\[/)
    // creating a directory below a file fails with ENOTDIR (20 on Linux)
    if (process.platform === 'linux') expect(err.errno).toBe(20)
    expect(typeof err.kind).toBe('string')
    expect(err.kind!.length).toBeGreaterThan(0)
  })

  it('SledError with code SLED_OPTIONS_CONFLICT is a plain SledError', () => {
    const path = dbPath()
    const db = open(path, { cacheCapacity: 1 << 20 })
    const err = caught(() => open(path, { cacheCapacity: 1 << 21 })) as SledError
    expect(err).toBeInstanceOf(SledError)
    expect(err.code).toBe('SLED_OPTIONS_CONFLICT')
    expect(err.name).toBe('SledError')
    for (const [, cls] of classes) expect(err).not.toBeInstanceOf(cls)
    db.close()
  })

  it('SledLockedError from another process carries code, name and the inheritance chain', () => {
    const db = open(dbPath())
    const res = runChild(
      `try { sled.open(process.argv[1]); console.log('opened') } catch (e) {
        console.log(JSON.stringify({ name: e.name, code: e.code, locked: e instanceof sled.SledLockedError,
          io: e instanceof sled.SledIoError, base: e instanceof sled.SledError, error: e instanceof Error }))
      }`,
      [db.path],
    )
    expect(res.status).toBe(0)
    expect(JSON.parse(res.stdout)).toEqual({
      name: 'SledLockedError',
      code: 'SLED_LOCKED',
      locked: true,
      io: true,
      base: true,
      error: true,
    })
    db.close()
  })
})

describe('an I/O error while writing', () => {
  it('a value whose blob file the file-size limit refuses fails with SledIoError, and close() still returns', () => {
    const path = dbPath()
    const script = `
      const sled = require(${JSON.stringify(entry)})
      const db = sled.open(process.argv[1])
      let code
      try { db.insert('big', Buffer.alloc(2 << 20, 1)) } catch (e) { code = e.code }
      db.insert('small', 'after')
      db.close()
      console.log(JSON.stringify({ code }))
    `
    // Node ignores SIGXFSZ, so a write past `ulimit -f` fails with EFBIG; sled writes a value
    // this large to a blob file of its own. Before the fix (crates/sled-patch), the failed
    // blob left sled's log buffer reserved and close() waited for it forever.
    const res = spawnSync('bash', ['-c', 'ulimit -f 1024 && exec "$0" -e "$1" -- "$2"', process.execPath, script, path], {
      encoding: 'utf8',
      timeout: 60_000,
    })
    expectCleanExit(res)
    expect(JSON.parse(res.stdout)).toEqual({ code: 'SLED_IO' })
    // the database opens again, without the refused value and with the later write
    const db = sled.open(path)
    expect(db.get('big')).toBeUndefined()
    expect(db.get('small')?.toString()).toBe('after')
    db.close()
  })
})

describe('errors are built natively as the registered classes', () => {
  it('pool tasks reject with the class, code and details (openAsync, getAsync, flushAsync)', async () => {
    const file = join(tempDir(), 'file')
    writeFileSync(file, 'x')
    const io = (await sled.openAsync(join(file, 'db')).catch((e: unknown) => e)) as SledIoError
    expect(io).toBeInstanceOf(SledIoError)
    expect(io.code).toBe('SLED_IO')
    expect(typeof io.kind).toBe('string')
    if (process.platform === 'linux') expect(io.errno).toBe(20)
    const db = open(dbPath())
    const t = db.openTree('t')
    db.dropTree('t')
    const settled = await Promise.all([t.getAsync('k'), t.flushAsync(), t.insertAsync('k', 'v')].map((p) => p.then(() => undefined, (e: unknown) => e)))
    for (const outcome of settled) {
      const err = outcome as SledError
      expect(err).toBeInstanceOf(SledCollectionNotFoundError)
      expect(err.code).toBe('SLED_COLLECTION_NOT_FOUND')
      expect(err.message).not.toMatch(/^\[/)
    }
    db.close()
  })

  it('a native argument error is the facade\'s TypeError, not a SledError', () => {
    const a = open(dbPath())
    const b = open(dbPath())
    const err = caught(() => sled.transaction([a, b], () => undefined)) as TypeError & { code: string }
    expect(err).toBeInstanceOf(TypeError)
    expect(err).not.toBeInstanceOf(SledError)
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
    a.close()
    b.close()
  })

  it('a worker, which loads the addon again, gets the classes of its own load', async () => {
    const path = dbPath()
    const w = worker(
      `const db = sled.open(workerData)
const t = db.openTree('t')
db.dropTree('t')
let sync, pooled
try { t.get('k') } catch (e) { sync = e }
t.getAsync('k').catch((e) => {
  pooled = e
  db.close()
  parentPort.postMessage([sync, pooled].map((e) => [e instanceof sled.SledCollectionNotFoundError, e instanceof sled.SledError, e.code, e.name]))
})`,
      path,
    )
    const got = await nextMessage(w)
    await w.terminate()
    const expected = [true, true, 'SLED_COLLECTION_NOT_FOUND', 'SledCollectionNotFoundError']
    expect(got).toEqual([expected, expected])
  })
})

describe('a Rust panic', () => {
  // the conf file of a compressed database (valid CRC) put into an uncompressed one makes
  // sled 0.34.7 panic while recovering: a real panic, reached through the public API
  it('becomes SledPanicError with its message and location, and nothing is printed to stderr', () => {
    const dir = tempDir()
    const res = runChild(
      `const fs = require('node:fs')
      const [a, b] = [process.argv[1] + '/a', process.argv[1] + '/b']
      const compressed = sled.open(a, { compression: true })
      compressed.insert('x', 'y')
      compressed.close()
      const plain = sled.open(b)
      for (let i = 0; i < 1000; i++) plain.insert('k' + i, 'v'.repeat(100))
      plain.close()
      fs.copyFileSync(a + '/conf', b + '/conf')
      try {
        sled.open(b).close()
        console.log(JSON.stringify({ opened: true }))
      } catch (e) {
        console.log(JSON.stringify({ name: e.constructor.name, code: e.code, message: e.message }))
      }
      // the process goes on, and the path is usable again once the conf is put back
      console.log(JSON.stringify({ after: sled.open(a).get('x').toString() }))`,
      [dir],
    )
    expect(res.stderr).toBe('')
    expect(res.status).toBe(0)
    const [outcome, after] = res.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>)
    expect(outcome).toMatchObject({ name: 'SledPanicError', code: 'SLED_PANIC' })
    expect(outcome?.message).toMatch(/^open on .*: sled panicked: .+ \(at .+\.rs:\d+:\d+\)$/)
    expect(after).toEqual({ after: 'y' })
  })
})
