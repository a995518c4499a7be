// Bad arguments get Node-style TypeError / RangeError with Node's codes, before
// anything touches the disk; unusable paths get SledIoError. Nothing panics.
import { Buffer } from 'node:buffer'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Db, EntryIterator, open, openAsync, SledError, SledIoError, SledLockedError, SledPanicError, Subscriber, Tree } from 'sled-node'
import { dbPath, tempDir } from './helpers/tmp.js'

type ErrorClass = typeof TypeError | typeof RangeError

/** Runs `fn` and returns what it threw; fails the test if it returned normally. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}

function expectArgError(err: unknown, cls: ErrorClass, code: string): void {
  expect(err).not.toBeInstanceOf(SledPanicError)
  expect(err).not.toBeInstanceOf(SledError)
  expect(err).toBeInstanceOf(cls)
  expect((err as { code?: unknown }).code).toBe(code)
  expect((err as Error).message.length).toBeGreaterThan(0)
}

/** `fn` must return a rejected promise (not throw synchronously); returns the reason. */
async function rejectionOf(fn: () => Promise<unknown>): Promise<unknown> {
  let promise: Promise<unknown> | undefined
  expect(() => {
    promise = fn()
  }).not.toThrow()
  expect(promise).toBeInstanceOf(Promise)
  return promise!.then(
    () => {
      throw new Error('expected the promise to reject')
    },
    (reason: unknown) => reason,
  )
}

const R = RangeError
const T = TypeError
const OUT = 'ERR_OUT_OF_RANGE'
const TYPE = 'ERR_INVALID_ARG_TYPE'
const VALUE = 'ERR_INVALID_ARG_VALUE'

// [label, options, error class, code]
const badOptions: [string, unknown, ErrorClass, string][] = [
  ['cacheCapacity 100 (sled panics below 256)', { cacheCapacity: 100 }, R, OUT],
  ['cacheCapacity 255', { cacheCapacity: 255 }, R, OUT],
  ['cacheCapacity 0', { cacheCapacity: 0 }, R, OUT],
  ['cacheCapacity -1', { cacheCapacity: -1 }, R, OUT],
  ['cacheCapacity 1024.5', { cacheCapacity: 1024.5 }, R, OUT],
  ['cacheCapacity NaN', { cacheCapacity: Number.NaN }, R, OUT],
  ['cacheCapacity Infinity', { cacheCapacity: Number.POSITIVE_INFINITY }, R, OUT],
  ["cacheCapacity '1'", { cacheCapacity: '1' }, T, TYPE],
  ['cacheCapacity 1n', { cacheCapacity: 1024n }, T, TYPE],
  ['cacheCapacity null', { cacheCapacity: null }, T, TYPE],
  ['compression { factor: 0 }', { compression: { factor: 0 } }, R, OUT],
  ['compression { factor: 23 }', { compression: { factor: 23 } }, R, OUT],
  ['compression { factor: -3 }', { compression: { factor: -3 } }, R, OUT],
  ['compression { factor: 2.5 }', { compression: { factor: 2.5 } }, R, OUT],
  ["compression { factor: '5' }", { compression: { factor: '5' } }, T, TYPE],
  ["compression 'zstd'", { compression: 'zstd' }, T, TYPE],
  ['compression 1', { compression: 1 }, T, TYPE],
  ['compression { level: 3 }', { compression: { level: 3 } }, T, VALUE],
  ['segmentSize 1000 (not a power of two)', { segmentSize: 1000 }, R, OUT],
  ['segmentSize 128 (too small)', { segmentSize: 128 }, R, OUT],
  ['segmentSize -1024', { segmentSize: -1024 }, R, OUT],
  ['segmentSize 2**30 (too large)', { segmentSize: 2 ** 30 }, R, OUT],
  ["segmentSize '1024'", { segmentSize: '1024' }, T, TYPE],
  ['flushEveryMs -5', { flushEveryMs: -5 }, R, OUT],
  ['flushEveryMs 0.5', { flushEveryMs: 0.5 }, R, OUT],
  ["flushEveryMs '500'", { flushEveryMs: '500' }, T, TYPE],
  ['idgenPersistInterval -1', { idgenPersistInterval: -1 }, R, OUT],
  ['idgenPersistInterval 1.5', { idgenPersistInterval: 1.5 }, R, OUT],
  ['idgenPersistInterval true', { idgenPersistInterval: true }, T, TYPE],
  ['temporary 1', { temporary: 1 }, T, TYPE],
  ["temporary 'true'", { temporary: 'true' }, T, TYPE],
  ["createNew 'yes'", { createNew: 'yes' }, T, TYPE],
  ['printProfileOnDrop 0', { printProfileOnDrop: 0 }, T, TYPE],
  ["mode 'fast'", { mode: 'fast' }, T, VALUE],
  ["mode 'LowSpace' (case matters)", { mode: 'LowSpace' }, T, VALUE],
  ['unknown option cachecapacity', { cachecapacity: 1 << 20 }, T, VALUE],
  ['unknown option flush', { flush: true }, T, VALUE],
  ['options a string', 'temporary', T, TYPE],
  ['options a number', 42, T, TYPE],
  ['options a boolean', true, T, TYPE],
  ['options an array', [], T, TYPE],
  ['options a function', () => ({}), T, TYPE],
]

const badPaths: [string, unknown, ErrorClass, string][] = [
  ["path ''", '', T, VALUE],
  ['path with a NUL byte', 'a\u0000b', T, VALUE],
  ['path a number', 42, T, TYPE],
  ['path undefined', undefined, T, TYPE],
  ['path null', null, T, TYPE],
  ['path an object', { path: '/tmp/x' }, T, TYPE],
  ['path a Buffer', Buffer.from('/tmp/x'), T, TYPE],
]

describe('open() with bad options', () => {
  it.each(badOptions)('%s', (_label, options, cls, code) => {
    const path = dbPath()
    expectArgError(
      thrownBy(() => open(path, options as never)),
      cls,
      code,
    )
    // validation happens before anything is created on disk
    expect(existsSync(path)).toBe(false)
  })
})

describe('openAsync() rejects with the same errors', () => {
  it.each(badOptions)('%s', async (_label, options, cls, code) => {
    const path = dbPath()
    expectArgError(await rejectionOf(() => openAsync(path, options as never)), cls, code)
    expect(existsSync(path)).toBe(false)
  })
})

describe('bad paths', () => {
  it.each(badPaths)('open: %s', (_label, path, cls, code) => {
    expectArgError(
      thrownBy(() => open(path as never)),
      cls,
      code,
    )
  })

  it.each(badPaths)('openAsync: %s', async (_label, path, cls, code) => {
    expectArgError(await rejectionOf(() => openAsync(path as never)), cls, code)
  })

  it('a NUL byte creates nothing on disk', () => {
    const dir = tempDir()
    expectArgError(
      thrownBy(() => open(join(dir, 'a\u0000b'))),
      T,
      VALUE,
    )
    expect(existsSync(join(dir, 'a'))).toBe(false)
  })

  it('good options next to a bad path are not enough', () => {
    expectArgError(
      thrownBy(() => open('', { cacheCapacity: 1 << 20 })),
      T,
      VALUE,
    )
  })
})

describe('unusable paths are SledIoError', () => {
  function expectIo(err: unknown): void {
    expect(err).toBeInstanceOf(SledIoError)
    expect(err).not.toBeInstanceOf(SledLockedError)
    expect(err).not.toBeInstanceOf(SledPanicError)
    expect((err as SledIoError).code).toBe('SLED_IO')
  }

  it('a path that is a regular file', async () => {
    const file = join(tempDir(), 'file')
    writeFileSync(file, 'not a database')
    expectIo(thrownBy(() => open(file)))
    expectIo(await rejectionOf(() => openAsync(file)))
  })

  it('a path below a regular file', async () => {
    const file = join(tempDir(), 'file')
    writeFileSync(file, 'x')
    expectIo(thrownBy(() => open(join(file, 'db'))))
    expectIo(await rejectionOf(() => openAsync(join(file, 'db'))))
  })

  it('a directory whose "db" entry is a directory', () => {
    const path = dbPath()
    mkdirSync(join(path, 'db'), { recursive: true })
    const err = thrownBy(() => open(path))
    expectIo(err)
  })

  it('the failed open leaves the process able to open a good path', () => {
    const file = join(tempDir(), 'file')
    writeFileSync(file, 'x')
    expectIo(thrownBy(() => open(file)))
    const db = open(dbPath())
    db.insert('k', 'v')
    expect(db.get('k')?.toString()).toBe('v')
    db.close()
  })
})

describe('wrong key and value types', () => {
  const badBytes: [string, unknown][] = [
    ['a number', 1],
    ['null', null],
    ['undefined', undefined],
    ['a plain object', { a: 1 }],
    ['an array of numbers', [1, 2, 3]],
    ['a symbol', Symbol('k')],
    ['a bigint', 1n],
    ['a boolean', true],
    ['an ArrayBuffer', new ArrayBuffer(2)],
  ]

  // [label, call with the bad value in one argument position]
  const sync: [string, (t: Tree, bad: unknown) => unknown][] = [
    ['get(key)', (t, bad) => t.get(bad as never)],
    ['getMany([key])', (t, bad) => t.getMany(['ok', bad] as never)],
    ['insert(key)', (t, bad) => t.insert(bad as never, 'v')],
    ['insert(_, value)', (t, bad) => t.insert('k', bad as never)],
    ['remove(key)', (t, bad) => t.remove(bad as never)],
    ['containsKey(key)', (t, bad) => t.containsKey(bad as never)],
    ['compareAndSwap(key)', (t, bad) => t.compareAndSwap(bad as never, undefined, 'v')],
    ['updateAndFetch(key)', (t, bad) => t.updateAndFetch(bad as never, () => 'v')],
    ['fetchAndUpdate(key)', (t, bad) => t.fetchAndUpdate(bad as never, () => 'v')],
  ]
  const async: [string, (t: Tree, bad: unknown) => Promise<unknown>][] = [
    ['getAsync(key)', (t, bad) => t.getAsync(bad as never)],
    ['insertAsync(key)', (t, bad) => t.insertAsync(bad as never, 'v')],
    ['insertAsync(_, value)', (t, bad) => t.insertAsync('k', bad as never)],
    ['removeAsync(key)', (t, bad) => t.removeAsync(bad as never)],
  ]
  const cases = <F>(calls: [string, F][]) =>
    calls.flatMap(([label, call]) => badBytes.map(([what, bad]) => [`${label} with ${what}`, call, bad] as const))

  it.each(cases(sync))('%s throws TypeError ERR_INVALID_ARG_TYPE', (_label, call, bad) => {
    const db = open(dbPath())
    db.insert('k', 'v')
    const t = db.openTree('t')
    t.insert('k', 'v')
    for (const target of [db, t]) {
      expectArgError(
        thrownBy(() => call(target, bad)),
        T,
        TYPE,
      )
      expect(target.get('k')?.toString()).toBe('v')
      expect(target.len()).toBe(1)
    }
    db.close()
  })

  it.each(cases(async))('%s rejects with TypeError ERR_INVALID_ARG_TYPE', async (_label, call, bad) => {
    const db = open(dbPath())
    db.insert('k', 'v')
    expectArgError(await rejectionOf(() => call(db, bad)), T, TYPE)
    expect(db.get('k')?.toString()).toBe('v')
    expect(db.len()).toBe(1)
    db.close()
  })

  // null and undefined mean "absent" for compareAndSwap's expected / proposed
  it.each(badBytes.filter(([, v]) => v !== null && v !== undefined))(
    'compareAndSwap expected / proposed with %s throws and changes nothing',
    (_what, bad) => {
      const db = open(dbPath())
      db.insert('k', 'v')
      expectArgError(
        thrownBy(() => db.compareAndSwap('k', bad as never, 'w')),
        T,
        TYPE,
      )
      expectArgError(
        thrownBy(() => db.compareAndSwap('k', 'v', bad as never)),
        T,
        TYPE,
      )
      expect(db.get('k')?.toString()).toBe('v')
      db.close()
    },
  )

  // (undefined deletes; null is treated like undefined by the facade, a design choice not pinned here)
  it.each(badBytes.filter(([, v]) => v !== undefined && v !== null))(
    'an update function returning %s throws TypeError and changes nothing',
    (_what, bad) => {
      const db = open(dbPath())
      db.insert('k', 'v')
      expectArgError(
        thrownBy(() => db.updateAndFetch('k', () => bad as never)),
        T,
        TYPE,
      )
      expectArgError(
        thrownBy(() => db.fetchAndUpdate('k', () => bad as never)),
        T,
        TYPE,
      )
      expect(db.get('k')?.toString()).toBe('v')
      db.close()
    },
  )

  it.each([['a string', 'f'], ['undefined', undefined], ['an object', {}]])(
    'updateAndFetch / fetchAndUpdate with fn = %s throw TypeError ERR_INVALID_ARG_TYPE',
    (_what, bad) => {
      const db = open(dbPath())
      db.insert('k', 'v')
      expectArgError(
        thrownBy(() => db.updateAndFetch('k', bad as never)),
        T,
        TYPE,
      )
      expectArgError(
        thrownBy(() => db.fetchAndUpdate('k', bad as never)),
        T,
        TYPE,
      )
      expect(db.get('k')?.toString()).toBe('v')
      db.close()
    },
  )

  it.each([['a string', 'k'], ['a number', 1], ['null', null], ['an object', {}]])(
    'getMany with %s instead of an array throws TypeError ERR_INVALID_ARG_TYPE',
    (_what, bad) => {
      const db = open(dbPath())
      expectArgError(
        thrownBy(() => db.getMany(bad as never)),
        T,
        TYPE,
      )
      db.close()
    },
  )

  it.each(badBytes)('openTree / dropTree with a name that is %s throw TypeError', (_what, bad) => {
    const db = open(dbPath())
    expectArgError(
      thrownBy(() => db.openTree(bad as never)),
      T,
      TYPE,
    )
    expectArgError(
      thrownBy(() => db.dropTree(bad as never)),
      T,
      TYPE,
    )
    db.close()
  })
})

describe('compareAndSwap needs all three arguments', () => {
  it.each([
    ['no arguments', []],
    ['only the key', ['k']],
    ['key and expected', ['k', 'v']],
  ] as const)('%s: TypeError ERR_MISSING_ARGS and nothing deleted', (_label, args) => {
    const db = open(dbPath())
    const t = db.openTree('t')
    for (const target of [db, t]) {
      target.insert('k', 'v')
      const cas = target.compareAndSwap as (...a: unknown[]) => unknown
      expectArgError(
        thrownBy(() => cas.apply(target, [...args])),
        T,
        'ERR_MISSING_ARGS',
      )
      expect(target.get('k')?.toString()).toBe('v')
    }
    db.close()
  })

  it('an explicit undefined proposal is a delete, not a missing argument', () => {
    const db = open(dbPath())
    db.insert('k', 'v')
    expect(db.compareAndSwap('k', 'v', undefined)).toEqual({ ok: true })
    expect(db.containsKey('k')).toBe(false)
    db.close()
  })
})

describe('methods called on the wrong `this`', () => {
  const notHandles: [string, unknown][] = [
    ['a plain object', {}],
    ['null', null],
    ['undefined', undefined],
    ['a number', 1],
  ]

  it.each(notHandles)('Db.prototype.get.call(%s) throws TypeError ERR_INVALID_THIS', (_what, self) => {
    expectArgError(
      thrownBy(() => Db.prototype.get.call(self as never, 'k')),
      T,
      'ERR_INVALID_THIS',
    )
  })

  it.each([
    ['Tree.prototype.insert', (self: unknown) => Tree.prototype.insert.call(self as never, 'k', 'v')],
    ['Tree.prototype.len', (self: unknown) => Tree.prototype.len.call(self as never)],
    ['Db.prototype.openTree', (self: unknown) => Db.prototype.openTree.call(self as never, 't')],
    ['Db.prototype.close', (self: unknown) => Db.prototype.close.call(self as never)],
    ['Db.prototype.checksum', (self: unknown) => Db.prototype.checksum.call(self as never)],
    [
      'the Db path getter',
      (self: unknown) => Object.getOwnPropertyDescriptor(Db.prototype, 'path')!.get!.call(self),
    ],
  ] as const)('%s on a plain object throws ERR_INVALID_THIS', (_label, call) => {
    expectArgError(
      thrownBy(() => call({})),
      T,
      'ERR_INVALID_THIS',
    )
  })

  it('a Db method called on a Tree throws ERR_INVALID_THIS; a Tree method works on a Db', () => {
    const db = open(dbPath())
    const t = db.openTree('t')
    expectArgError(
      thrownBy(() => Db.prototype.openTree.call(t as never, 'x')),
      T,
      'ERR_INVALID_THIS',
    )
    expectArgError(
      thrownBy(() => Db.prototype.close.call(t as never)),
      T,
      'ERR_INVALID_THIS',
    )
    expect(t.closed).toBe(false)
    Tree.prototype.insert.call(db, 'k', 'v')
    expect(db.get('k')?.toString()).toBe('v')
    db.close()
  })

  it('async methods on the wrong this reject', async () => {
    expectArgError(
      await rejectionOf(() => Tree.prototype.getAsync.call({} as never, 'k')),
      T,
      'ERR_INVALID_THIS',
    )
    expectArgError(await rejectionOf(() => Db.prototype.closeAsync.call({} as never)), T, 'ERR_INVALID_THIS')
  })

  it('Db, Tree, EntryIterator and Subscriber cannot be constructed from user code', () => {
    const ctors = [Db, Tree, EntryIterator, Subscriber] as unknown as (new (...args: unknown[]) => unknown)[]
    for (const Ctor of ctors) {
      for (const args of [[], [Symbol('x'), {}]]) {
        const err = thrownBy(() => new Ctor(...args))
        expect(err).toBeInstanceOf(TypeError)
        expect(err).toMatchObject({ code: 'ERR_ILLEGAL_CONSTRUCTOR' })
        expect(err).not.toBeInstanceOf(SledPanicError)
      }
    }
  })
})
