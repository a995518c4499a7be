// Bad arguments get Node-style TypeError / RangeError with Node's codes, before
// anything touches the disk; unusable paths get SledIoError; every method called on the
// wrong `this` is ERR_INVALID_THIS; the extreme inputs (at the end) are refused the same way.
// Nothing panics.
import { Buffer } from 'node:buffer'
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Batch,
  Db,
  EntryIterator,
  open,
  openAsync,
  SledClosedError,
  SledError,
  SledIoError,
  SledLockedError,
  SledPanicError,
  Subscriber,
  transaction,
  TransactionalTree,
  Tree,
} from 'sled-node'
import { caught, failureOf, rejectionOf } from './helpers/caught.js'
import { expectCleanExit, runChild } from './helpers/child.js'
import { dbPath, tempDir } from './helpers/tmp.js'

type ErrorClass = typeof TypeError | typeof RangeError

function expectArgError(err: unknown, cls: ErrorClass, code: string): void {
  expect(err).not.toBeInstanceOf(SledPanicError)
  expect(err).not.toBeInstanceOf(SledError)
  expect(err).toBeInstanceOf(cls)
  expect((err as { code?: unknown }).code).toBe(code)
  expect((err as Error).message.length).toBeGreaterThan(0)
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
      caught(() => open(path, options as never)),
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
      caught(() => open(path as never)),
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
      caught(() => open(join(dir, 'a\u0000b'))),
      T,
      VALUE,
    )
    expect(existsSync(join(dir, 'a'))).toBe(false)
  })

  it('good options next to a bad path are not enough', () => {
    expectArgError(
      caught(() => open('', { cacheCapacity: 1 << 20 })),
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
    expectIo(caught(() => open(file)))
    expectIo(await rejectionOf(() => openAsync(file)))
  })

  it('a path below a regular file', async () => {
    const file = join(tempDir(), 'file')
    writeFileSync(file, 'x')
    expectIo(caught(() => open(join(file, 'db'))))
    expectIo(await rejectionOf(() => openAsync(join(file, 'db'))))
  })

  it('a directory whose "db" entry is a directory', () => {
    const path = dbPath()
    mkdirSync(join(path, 'db'), { recursive: true })
    const err = caught(() => open(path))
    expectIo(err)
  })

  it('the failed open leaves the process able to open a good path', () => {
    const file = join(tempDir(), 'file')
    writeFileSync(file, 'x')
    expectIo(caught(() => open(file)))
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
    ['getManyAsync([key])', (t, bad) => t.getManyAsync(['ok', bad] as never)],
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
        caught(() => call(target, bad)),
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
        caught(() => db.compareAndSwap('k', bad as never, 'w')),
        T,
        TYPE,
      )
      expectArgError(
        caught(() => db.compareAndSwap('k', 'v', bad as never)),
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
        caught(() => db.updateAndFetch('k', () => bad as never)),
        T,
        TYPE,
      )
      expectArgError(
        caught(() => db.fetchAndUpdate('k', () => bad as never)),
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
        caught(() => db.updateAndFetch('k', bad as never)),
        T,
        TYPE,
      )
      expectArgError(
        caught(() => db.fetchAndUpdate('k', bad as never)),
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
        caught(() => db.getMany(bad as never)),
        T,
        TYPE,
      )
      db.close()
    },
  )

  it.each(badBytes)('openTree / dropTree with a name that is %s throw TypeError', (_what, bad) => {
    const db = open(dbPath())
    expectArgError(
      caught(() => db.openTree(bad as never)),
      T,
      TYPE,
    )
    expectArgError(
      caught(() => db.dropTree(bad as never)),
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
        caught(() => cas.apply(target, [...args])),
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
  const classes = { Db, Tree, EntryIterator, Subscriber, Batch, TransactionalTree } as Record<string, { prototype: object }>

  /** Every method and getter of a class's own prototype, string- and symbol-keyed. */
  function members(proto: object): [string, (this: unknown, ...args: unknown[]) => unknown][] {
    const out: [string, (this: unknown, ...args: unknown[]) => unknown][] = []
    for (const key of Reflect.ownKeys(proto)) {
      if (key === 'constructor') continue
      const desc = Object.getOwnPropertyDescriptor(proto, key)!
      const fn = (desc.value ?? desc.get) as ((this: unknown, ...args: unknown[]) => unknown) | undefined
      if (typeof fn === 'function') out.push([`${String(key)}${desc.get ? ' (getter)' : ''}`, fn])
    }
    return out
  }

  /** What calling `fn` on `self` did: a sync throw, a rejection, or the first step of a returned iterator. */
  async function failure(fn: (this: unknown, ...args: unknown[]) => unknown, self: unknown): Promise<unknown> {
    let result: unknown
    try {
      result = fn.call(self, 'k', 'v', 'w')
    } catch (error) {
      return error
    }
    if (result instanceof Promise) return result.then(() => 'resolved', (error: unknown) => error)
    // generator methods (Db.export) check `this` on their first step
    if (typeof (result as Iterator<unknown> | undefined)?.next === 'function') {
      try {
        const step = (result as Iterator<unknown>).next()
        return step instanceof Promise ? step.then(() => 'resolved', (error: unknown) => error) : 'stepped'
      } catch (error) {
        return error
      }
    }
    return `returned ${typeof result}`
  }

  it('every method and getter of Db, Tree, EntryIterator, Subscriber, Batch and TransactionalTree: TypeError ERR_INVALID_THIS, and the real handles are untouched', async () => {
    const db = open(dbPath())
    db.insert('k', 'v')
    const tree = db.openTree('t')
    tree.insert('k', 'v')
    const iterator = db.iter()
    const subscriber = db.watchPrefix('')
    let txTree: unknown
    db.transaction((tx) => {
      txTree = tx
    })
    // receivers of the wrong kind: plain values, and real objects of the other classes
    const strangers: [string, unknown][] = [
      ['{}', {}],
      ['null', null],
      ['undefined', undefined],
      ['1', 1],
      ["'str'", 'str'],
      ['a Symbol', Symbol('this')],
      ['a function', () => undefined],
      ['Object.create(proto)', undefined], // filled per class below
    ]
    const real: Record<string, unknown> = { Db: db, Tree: tree, EntryIterator: iterator, Subscriber: subscriber, Batch: new Batch(), TransactionalTree: txTree }
    const failures: string[] = []
    let checked = 0
    for (const [className, cls] of Object.entries(classes)) {
      const receivers: [string, unknown][] = strangers.map(([label, value]) =>
        label === 'Object.create(proto)' ? [label, Object.create(cls.prototype)] : [label, value],
      )
      for (const [otherName, other] of Object.entries(real)) {
        // a Db is a Tree, so Tree methods on a Db are legitimate
        if (otherName !== className && !(className === 'Tree' && otherName === 'Db')) receivers.push([`a ${otherName}`, other])
      }
      for (const [name, fn] of members(cls.prototype)) {
        for (const [label, self] of receivers) {
          checked++
          const err = await failure(fn, self)
          const code = (err as { code?: unknown } | undefined)?.code
          if (!(err instanceof TypeError) || code !== 'ERR_INVALID_THIS') {
            failures.push(`${className}.prototype.${name} on ${label}: ${err instanceof Error ? `${err.name} ${String(code)} ${err.message}` : String(err)}`)
          }
        }
      }
    }
    expect(failures).toEqual([])
    expect(checked).toBeGreaterThan(500)
    // none of those calls closed, wrote to or ended the real objects
    expect(db.closed).toBe(false)
    expect(tree.closed).toBe(false)
    expect(db.get('k')?.toString()).toBe('v')
    expect(tree.get('k')?.toString()).toBe('v')
    expect(db.len()).toBe(1)
    expect(iterator.next().value?.[0].toString()).toBe('k')
    db.insert('event', 'x')
    expect((await subscriber.next()).value).toMatchObject({ type: 'insert' })
    // and a Tree method on a Db is legitimate: it works on the Db's default tree
    Tree.prototype.insert.call(db, 'k2', 'v2')
    expect(db.get('k2')?.toString()).toBe('v2')
    db.close()
  })

  it('transaction() with something that is not a Tree as a tree is an argument error, not a crash', () => {
    const db = open(dbPath())
    for (const bad of [{}, null, Object.create(Tree.prototype), db.iter()]) {
      const err = caught(() => transaction([db, bad as never], () => undefined))
      expect(err).toBeInstanceOf(TypeError)
      expect((err as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE')
    }
    db.close()
  })

  it('Db, Tree, EntryIterator and Subscriber cannot be constructed from user code', () => {
    const ctors = [Db, Tree, EntryIterator, Subscriber] as unknown as (new (...args: unknown[]) => unknown)[]
    for (const Ctor of ctors) {
      for (const args of [[], [Symbol('x'), {}]]) {
        const err = caught(() => new Ctor(...args))
        expect(err).toBeInstanceOf(TypeError)
        expect(err).toMatchObject({ code: 'ERR_ILLEGAL_CONSTRUCTOR' })
        expect(err).not.toBeInstanceOf(SledPanicError)
      }
    }
  })
})

// The extreme inputs: views on detached ArrayBuffers, objects that only pretend to be
// Uint8Arrays, symbols and bigints in every argument position, SharedArrayBuffer-backed views
// (accepted as bytes), 64 MiB values, and paths that cannot be used (permission denied,
// checked as an unprivileged child). Every refusal is a documented class and code, never
// SledPanicError, and never a partial write: the database reads exactly as before.

/** A view whose ArrayBuffer was transferred away: it now reads as empty. */
function detachedView(): Uint8Array {
  const buffer = new ArrayBuffer(8)
  const view = new Uint8Array(buffer, 2, 4)
  view.set([1, 2, 3, 4])
  structuredClone(buffer, { transfer: [buffer] })
  return view
}

// [label, make the value, the code it gets where bytes are expected]
const unreadable: [string, () => unknown, string][] = [
  ['a view on a detached ArrayBuffer', detachedView, VALUE],
  ['an object inheriting from Uint8Array.prototype', () => Object.create(Uint8Array.prototype), TYPE],
  ['a Proxy of a Uint8Array', () => new Proxy(new Uint8Array([1, 2]), {}), TYPE],
]
const primitives: [string, () => unknown, string][] = [
  ['a symbol', () => Symbol('k'), TYPE],
  ['a bigint', () => 10n, TYPE],
]

/** A TypeError with Node's `code` (the extreme inputs are all refused as argument types or values). */
function expectTypeError(err: unknown, code: string): void {
  expectArgError(err, T, code)
}

/** Everything in the database, every tree, as hex text (what "unchanged" compares). */
function contents(db: Db): string[] {
  const out: string[] = []
  for (const name of db.treeNames()) {
    const tree = db.openTree(name)
    for (const [k, v] of tree.iter()) out.push(`${name.toString('hex')}/${k.toString('hex')}=${v.toString('hex')}`)
  }
  return out.sort()
}

// [call, positions it is exercised in]: every one receives `bad` in exactly one argument
type Call = (db: Db, tree: Tree, bad: unknown) => unknown
// 'wrong key and value types' above already feeds symbols and bigints to these; here they get only the unreadable views
const coveredThere: [string, Call][] = [
  ['get(key)', (_db, t, bad) => t.get(bad as never)],
  ['getMany([key])', (_db, t, bad) => t.getMany(['k', bad] as never)],
  ['insert(key)', (_db, t, bad) => t.insert(bad as never, 'v')],
  ['insert(_, value)', (_db, t, bad) => t.insert('k', bad as never)],
  ['remove(key)', (_db, t, bad) => t.remove(bad as never)],
  ['containsKey(key)', (_db, t, bad) => t.containsKey(bad as never)],
  ['compareAndSwap(key)', (_db, t, bad) => t.compareAndSwap(bad as never, undefined, 'v')],
  ['compareAndSwap(_, expected)', (_db, t, bad) => t.compareAndSwap('k', bad as never, 'w')],
  ['compareAndSwap(_, _, proposed)', (_db, t, bad) => t.compareAndSwap('k', 'v', bad as never)],
  ['updateAndFetch returning it', (_db, t, bad) => t.updateAndFetch('k', () => bad as never)],
  ['fetchAndUpdate(key)', (_db, t, bad) => t.fetchAndUpdate(bad as never, () => 'v')],
  ['getAsync(key)', (_db, t, bad) => t.getAsync(bad as never)],
  ['getManyAsync([key])', (_db, t, bad) => t.getManyAsync(['k', bad] as never)],
  ['insertAsync(key)', (_db, t, bad) => t.insertAsync(bad as never, 'v')],
  ['insertAsync(_, value)', (_db, t, bad) => t.insertAsync('k', bad as never)],
  ['removeAsync(key)', (_db, t, bad) => t.removeAsync(bad as never)],
  ['openTree(name)', (db, _t, bad) => db.openTree(bad as never)],
  ['dropTree(name)', (db, _t, bad) => db.dropTree(bad as never)],
]
// positions 'wrong key and value types' does not reach at all: every bad kind
const notCoveredThere: [string, Call][] = [
  ['getLt(key)', (_db, t, bad) => t.getLt(bad as never)],
  ['getGt(key)', (_db, t, bad) => t.getGt(bad as never)],
  ['range({ gt })', (_db, t, bad) => t.range({ gt: bad as never })],
  ['range({ gte })', (_db, t, bad) => t.range({ gte: bad as never })],
  ['range({ lt })', (_db, t, bad) => t.range({ lt: bad as never })],
  ['range({ lte })', (_db, t, bad) => t.range({ lte: bad as never })],
  ['scanPrefix(prefix)', (_db, t, bad) => t.scanPrefix(bad as never)],
  ['watchPrefix(prefix)', (_db, t, bad) => t.watchPrefix(bad as never)],
  ['batch().insert(key)', (_db, t, bad) => t.batch().insert(bad as never, 'v')],
  ['batch().insert(_, value)', (_db, t, bad) => t.batch().insert('k', bad as never)],
  ['new Batch().remove(key)', (_db, _t, bad) => new Batch().remove(bad as never)],
  ['merge(key)', (_db, t, bad) => (t.setMergeOperator((_k, _o, v) => v), t.merge(bad as never, 'v'))],
  ['merge(_, value)', (_db, t, bad) => (t.setMergeOperator((_k, _o, v) => v), t.merge('k', bad as never))],
  ['a merge operator returning it', (_db, t, bad) => (t.setMergeOperator(() => bad as never), t.merge('k', 'v'))],
  ['tx.get(key)', (_db, t, bad) => t.transaction((tx) => tx.get(bad as never))],
  ['tx.insert(key)', (_db, t, bad) => t.transaction((tx) => tx.insert(bad as never, 'v'))],
  ['tx.insert(_, value)', (_db, t, bad) => t.transaction((tx) => tx.insert('k', bad as never))],
  ['tx.remove(key)', (_db, t, bad) => t.transaction((tx) => tx.remove(bad as never))],
  ['an earlier tx write, then tx.insert(key)', (_db, t, bad) => t.transaction((tx) => (tx.insert('k', 'changed'), tx.insert(bad as never, 'v')))],
]

describe('a Uint8Array whose length property lies', () => {
  // found by a review: the facade trusted `.length` when it told the native side how many
  // bytes to read, so a 2-byte view claiming 40 stored 38 bytes from outside it (the
  // previous call's key and value in the scratch, or uninitialised memory)
  class Liar extends Uint8Array {
    override get length(): number {
      return 40
    }
    override get byteLength(): number {
      return 40
    }
  }

  it('insert, insertAsync, a batch and a value store only the bytes of the view', async () => {
    const db = open(dbPath())
    db.insert('secret-key-0123456789', 'SECRET-VALUE-abcdefghijklmnop')
    db.get('secret-key-0123456789')
    db.insert(new Liar([107, 49]), 'sync')
    expect(db.get('k1')?.toString()).toBe('sync')
    await db.insertAsync(new Liar([107, 50]), 'async')
    expect(db.get('k2')?.toString()).toBe('async')
    db.apply(new Batch().insert(new Liar([107, 51]), 'batch'))
    expect(db.get('k3')?.toString()).toBe('batch')
    db.insert('v', new Liar([118]))
    expect(db.get('v')).toEqual(Buffer.from('v'))
    expect(db.containsKey(new Liar([107, 49]))).toBe(true)
    expect([...db.iter().keys()].map(String)).toEqual(['k1', 'k2', 'k3', 'secret-key-0123456789', 'v'])
    db.close()
  })
})

describe('views from another realm and revoked Proxies', () => {
  it("a vm context's Uint8Array is bytes like any other, sync and async", async () => {
    const db = open(dbPath())
    const key = runInNewContext('new Uint8Array([1, 2, 3])') as Uint8Array
    const value = runInNewContext('new Uint8Array([9, 8])') as Uint8Array
    db.insert(key, value)
    expect(db.get(Buffer.from([1, 2, 3]))).toEqual(Buffer.from([9, 8]))
    await db.insertAsync(key, Buffer.from('async'))
    expect((await db.getAsync(key))?.toString()).toBe('async')
    db.close()
  })

  it('a revoked Proxy as a key, a value, options or a path is ERR_INVALID_ARG_TYPE', async () => {
    const db = open(dbPath())
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    const calls: [string, () => unknown][] = [
      ['key', () => db.insert(proxy as never, 'v')],
      ['value', () => db.insert('k', proxy as never)],
      ['insertAsync key', () => db.insertAsync(proxy as never, 'v')],
      ['open options', () => open(dbPath(), proxy as never)],
      ['openAsync options', () => openAsync(dbPath(), proxy as never)],
      ['backup destination', () => db.backup(proxy as never)],
      ['backup options', () => db.backup(join(dbPath(), 'copy'), proxy as never)],
    ]
    for (const [what, call] of calls) {
      const error = await failureOf(call)
      expect(error, what).toBeInstanceOf(TypeError)
      expect((error as { code?: string }).code, what).toBe('ERR_INVALID_ARG_TYPE')
    }
    expect(db.len()).toBe(0)
    db.close()
  })
})

describe('unreadable views, symbols and bigints as bytes', () => {
  let db: Db
  let tree: Tree
  let before: string[]
  beforeAll(() => {
    db = open(dbPath())
    tree = db.openTree('t')
    for (const target of [db, tree]) {
      target.insert('k', 'v')
      target.insert('k2', 'v2')
    }
    before = contents(db)
  })
  afterAll(() => db.close())

  const cases = [
    ...coveredThere.flatMap(([label, call]) => unreadable.map(([what, make, code]) => [`${label} with ${what}`, call, make, code] as const)),
    ...notCoveredThere.flatMap(([label, call]) =>
      [...unreadable, ...primitives].map(([what, make, code]) => [`${label} with ${what}`, call, make, code] as const),
    ),
  ]

  it.each(cases)('%s: TypeError with its code, and nothing written', async (_label, call, make, code) => {
    for (const target of [db, tree]) {
      expectTypeError(await failureOf(() => call(db, target, make())), code)
    }
    expect(contents(db)).toEqual(before)
  })

  it('a codec whose encode() returns an unreadable view is refused the same way', async () => {
    for (const [what, make, code] of [...unreadable, ...primitives]) {
      const coded = db.openTree('t', { valueEncoding: { encode: () => make() as Uint8Array, decode: (b: Uint8Array) => b } })
      const err = await failureOf(() => coded.insert('k', 'x'))
      // a non-Uint8Array return is the codec's contract broken (ERR_INVALID_RETURN_VALUE); a detached one is an unusable value
      expectTypeError(err, code === VALUE ? VALUE : 'ERR_INVALID_RETURN_VALUE')
      expect(what.length).toBeGreaterThan(0)
    }
    expect(contents(db)).toEqual(before)
  })

  it("the 'json' encoding refuses a bigint, a cycle and a symbol with ERR_INVALID_ARG_VALUE", async () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const json = db.openTree<unknown, unknown>('t', { valueEncoding: 'json', keyEncoding: 'json' })
    for (const bad of [10n, { nested: [1n] }, cyclic, Symbol('s')]) {
      expectTypeError(await failureOf(() => json.insert('k', bad)), VALUE)
      expectTypeError(await failureOf(() => json.insert(bad, 1)), VALUE)
      expectTypeError(await failureOf(() => json.batch().insert('k', bad)), VALUE)
    }
    // what JSON.stringify cannot handle keeps its original error as the cause
    const err = (await failureOf(() => json.insert('k', 10n))) as Error
    expect(err.cause).toBeInstanceOf(TypeError)
    expect(contents(db)).toEqual(before)
  })

  it('a detached view is refused even where it would have been a valid empty key', async () => {
    // '' is a valid key; a detached view must not silently become one
    db.insert('', 'the empty key')
    expectTypeError(await failureOf(() => db.insert(detachedView(), 'v')), VALUE)
    expectTypeError(await failureOf(() => db.get(detachedView())), VALUE)
    expect(db.get('')?.toString()).toBe('the empty key')
    db.remove('')
    // and an ordinary empty view is still the empty key
    db.insert(new Uint8Array(0), 'empty')
    expect(db.get('')?.toString()).toBe('empty')
    db.remove(new Uint8Array(new ArrayBuffer(0)))
    expect(contents(db)).toEqual(before)
  })

  it('a tree that is not a Tree in transaction([...]) is ERR_INVALID_ARG_TYPE naming its index', async () => {
    for (const [, make] of [...unreadable, ...primitives, ['an object', () => ({})] as const]) {
      const err = (await failureOf(() => transaction([tree, make() as Tree], () => 1))) as Error
      expectTypeError(err, TYPE)
      expect(err.message).toContain('trees[1]')
    }
    expect(contents(db)).toEqual(before)
  })

  it('bigints and symbols as options are TypeErrors with Node codes', async () => {
    const calls: [string, () => unknown][] = [
      ['range limit', () => tree.range({ limit: 3n as never })],
      ['range reverse', () => tree.range({ reverse: Symbol('r') as never })],
      ['range options', () => tree.range(Symbol('o') as never)],
      ['scanPrefix limit', () => tree.scanPrefix('', { limit: 1n as never })],
      ['watchPrefix highWaterMark', () => tree.watchPrefix('', { highWaterMark: 10n as never })],
      ['watchPrefix signal', () => tree.watchPrefix('', { signal: Symbol('s') as never })],
      ['openTree options', () => db.openTree('t', 1n as never)],
      ['open cacheCapacity', () => open(dbPath(), { cacheCapacity: 1n << 20n } as never)],
      ['open options', () => open(dbPath(), Symbol('o') as never)],
      ['open path', () => open(Symbol('p') as never)],
      ['openAsync path', () => openAsync(10n as never)],
      ['apply', () => tree.apply(1n as never)],
      ['applyAsync', () => tree.applyAsync(Symbol('b') as never)],
      ['setMergeOperator', () => tree.setMergeOperator(Symbol('f') as never)],
      ['transaction fn', () => tree.transaction(1n as never)],
      ['transaction trees', () => transaction(Symbol('t') as never, () => 1)],
      ['exportTo file', () => db.exportTo(Symbol('f') as never)],
      ['importFrom file', () => db.importFrom(1n as never)],
      ['import collections', () => db.import(1n as never)],
    ]
    for (const [label, call] of calls) {
      const err = await failureOf(call)
      expect(err, label).not.toBeInstanceOf(SledError)
      expect(err, label).toBeInstanceOf(TypeError)
      expect((err as { code?: string }).code, label).toBe(TYPE)
    }
    expect(contents(db)).toEqual(before)
  })
})

describe('SharedArrayBuffer-backed views are accepted as bytes', () => {
  /** A view on shared memory holding `text`, at an offset inside a larger buffer. */
  function shared(text: string): Uint8Array {
    const bytes = Buffer.from(text)
    const view = new Uint8Array(new SharedArrayBuffer(bytes.length + 8), 4, bytes.length)
    view.set(bytes)
    return view
  }

  it('as keys, values, bounds, prefixes, batch and transaction arguments, respecting offset and length', () => {
    const db = open(dbPath())
    const t = db.openTree(shared('tree'))
    expect(t.name).toBe('tree')
    t.insert(shared('a'), shared('1'))
    t.insert('b', shared('2'))
    t.apply(t.batch().insert(shared('c'), shared('3')).remove(shared('b')))
    t.transaction((tx) => {
      tx.insert(shared('d'), shared('4'))
      expect(tx.get(shared('a'))?.toString()).toBe('1')
    })
    expect(t.get(shared('a'))?.toString()).toBe('1')
    expect(t.containsKey(shared('b'))).toBe(false)
    expect(t.compareAndSwap(shared('c'), shared('3'), shared('33'))).toEqual({ ok: true })
    expect(t.range({ gte: shared('b'), lt: shared('d') }).toArray().map(([k, v]) => `${k}=${v}`)).toEqual(['c=33'])
    expect(t.scanPrefix(shared('d')).toArray().map(([k, v]) => `${k}=${v}`)).toEqual(['d=4'])
    expect(t.getGt(shared('a'))?.[0].toString()).toBe('c')
    // values read back are ordinary Buffers, never views on the caller's shared memory
    const value = t.get('a')!
    expect(value.buffer).not.toBeInstanceOf(SharedArrayBuffer)
    db.close()
  })

  it('async methods copy the bytes when called: a later change to the shared memory is not stored', async () => {
    const db = open(dbPath())
    const key = shared('key')
    const value = shared('original')
    const pending = db.insertAsync(key, value)
    value.set(Buffer.from('CHANGED!'))
    key.set(Buffer.from('xyz'))
    await pending
    expect(db.get('key')?.toString()).toBe('original')
    expect(db.containsKey('xyz')).toBe(false)
    // a Batch copies when an operation is added
    const batch = new Batch().insert(key, value)
    value.set(Buffer.from('later...'))
    await db.applyAsync(batch)
    expect(db.get('xyz')?.toString()).toBe('CHANGED!')
    db.close()
  })
})

describe('64 MiB values', () => {
  const SIZE = 64 * 1024 * 1024
  /** 64 MiB with a pattern that a shifted or truncated copy would not match. */
  function big(seed: number): Buffer {
    const b = Buffer.allocUnsafe(SIZE)
    for (let i = 0; i < SIZE; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i)
    return b
  }

  it('insert, get, getAsync, iterate, and read back after reopening', async () => {
    const path = dbPath()
    const value = big(1)
    const db = open(path, { cacheCapacity: 16 << 20 })
    expect(db.insert('big', value)).toBeUndefined()
    expect(db.get('big')?.equals(value)).toBe(true)
    expect((await db.getAsync('big'))?.equals(value)).toBe(true)
    await db.insertAsync('big-async', value)
    const entries = db.range().toArray()
    expect(entries.map(([k, v]) => [k.toString(), v.length])).toEqual([
      ['big', SIZE],
      ['big-async', SIZE],
    ])
    expect(entries[1]![1].equals(value)).toBe(true)
    db.close()
    const again = open(path, { cacheCapacity: 16 << 20 })
    expect(again.get('big')?.equals(value)).toBe(true)
    expect(again.get('big-async')?.equals(value)).toBe(true)
    // overwriting returns the whole previous value
    expect(again.insert('big', 'small')?.equals(value)).toBe(true)
    again.close()
  })

  it('one 64 MiB value inside a batch is applied atomically with the rest, sync and async', async () => {
    const path = dbPath()
    const value = big(2)
    const db = open(path, { cacheCapacity: 16 << 20 })
    db.insert('gone', 'x')
    db.apply(new Batch().insert('a', '1').insert('big', value).remove('gone').insert('z', '26'))
    expect(db.range().toArray().map(([k, v]) => [k.toString(), v.length])).toEqual([
      ['a', 1],
      ['big', SIZE],
      ['z', 2],
    ])
    await db.applyAsync(new Batch().insert('big2', value).remove('a'))
    expect(db.get('big2')?.equals(value)).toBe(true)
    expect(db.containsKey('a')).toBe(false)
    db.close()
    const again = open(path)
    expect(again.get('big')?.equals(value)).toBe(true)
    expect(again.get('big2')?.equals(value)).toBe(true)
    again.close()
  })

  it('a refused batch or transaction holding a 64 MiB value writes nothing', async () => {
    const path = dbPath()
    const value = big(3)
    const db = open(path)
    db.insert('k', 'before')
    const t = db.openTree('t')
    const before = contents(db)
    // an invalid operation is refused when it is added; the batch is never applied
    const batch = t.batch().insert('big', value)
    expectTypeError(await failureOf(() => batch.insert(detachedView(), 'v')), VALUE)
    // a transaction that wrote 64 MiB and then failed on an argument writes nothing
    expectTypeError(
      await failureOf(() =>
        transaction([db, t], ([a, b]) => {
          a!.insert('k', value)
          b!.insert('big', value)
          b!.insert(Symbol('bad') as never, 'v')
        }),
      ),
      TYPE,
    )
    expect(contents(db)).toEqual(before)
    // applying the valid batch to a closed handle is refused whole
    const other = open(path)
    const otherTree = other.openTree('t')
    other.close()
    expect(() => otherTree.apply(batch)).toThrow(SledClosedError)
    await expect(otherTree.applyAsync(batch)).rejects.toBeInstanceOf(SledClosedError)
    await expect(other.insertAsync('big', value)).rejects.toBeInstanceOf(SledClosedError)
    expect(contents(db)).toEqual(before)
    db.close()
    const again = open(path)
    expect(contents(again)).toEqual(before)
    again.close()
  })
})

describe('paths that cannot be used', () => {
  function expectIo(err: unknown, kind?: string): void {
    expect(err).toBeInstanceOf(SledIoError)
    expect(err).not.toBeInstanceOf(SledLockedError)
    expect(err).not.toBeInstanceOf(SledPanicError)
    expect((err as SledIoError).code).toBe('SLED_IO')
    if (kind !== undefined) expect((err as SledIoError).kind).toBe(kind)
  }

  it('a path component too long, a dangling symlink, a symlink loop, a device, and a path below a file: SledIoError', async () => {
    const dir = tempDir()
    const { symlinkSync } = await import('node:fs')
    symlinkSync(join(dir, 'nowhere', 'target'), join(dir, 'dangling'))
    symlinkSync(join(dir, 'loop'), join(dir, 'loop'))
    writeFileSync(join(dir, 'file'), 'x')
    const paths: [string, string | undefined][] = [
      [join(dir, 'n'.repeat(300)), 'InvalidFilename'],
      [join(dir, 'dangling'), undefined],
      [join(dir, 'loop'), undefined],
      ['/dev/null', undefined],
      [join(dir, 'file', 'below'), undefined],
    ]
    for (const [path, kind] of paths) {
      expectIo(await failureOf(() => open(path)), kind)
      expectIo(await failureOf(() => openAsync(path)), kind)
    }
  })

  it('exportTo / importFrom with an unusable file reject with SledIoError, not a raw fs error', async () => {
    const dir = tempDir()
    const db = open(join(dir, 'db'))
    db.insert('k', 'v')
    const cases: [string, () => Promise<void>, string][] = [
      ['importFrom a missing file', () => db.importFrom(join(dir, 'missing')), 'NotFound'],
      ['importFrom a directory', () => db.importFrom(dir), 'IsADirectory'],
      ['exportTo below a missing directory', () => db.exportTo(join(dir, 'no', 'such', 'file')), 'NotFound'],
      ['exportTo a directory', () => db.exportTo(dir), 'IsADirectory'],
    ]
    for (const [label, call, kind] of cases) {
      const err = await failureOf(call)
      expect(err, label).toBeInstanceOf(SledIoError)
      expect((err as SledIoError).kind, label).toBe(kind)
      expect((err as SledIoError).errno, label).toBeGreaterThan(0)
      expect((err as Error).cause, label).toBeInstanceOf(Error)
    }
    // a NUL byte or an empty name is an argument error, as for open()
    expectTypeError(await failureOf(() => db.exportTo(join(dir, 'a\u0000b'))), VALUE)
    expectTypeError(await failureOf(() => db.importFrom('')), VALUE)
    expect(db.len()).toBe(1)
    db.close()
  })

  // root ignores permissions, so the check runs in a child that drops to nobody (65534);
  // it needs root to do that, and is skipped (with this reason in its title) otherwise
  const root = process.getuid?.() === 0
  it.skipIf(!root)(
    'a directory without permission: SledIoError PermissionDenied (errno 13), in a child dropped to uid 65534 (skipped unless run as root)',
    () => {
      const base = tempDir()
      chmodSync(base, 0o755)
      const noAccess = join(base, 'no-access')
      mkdirSync(noAccess, { mode: 0o700 })
      const readOnly = join(base, 'read-only')
      mkdirSync(readOnly, { mode: 0o555 })
      chmodSync(readOnly, 0o555)
      // an existing database whose files the unprivileged user may read but not write
      const existing = join(base, 'existing')
      const db = open(existing)
      db.insert('k', 'v')
      db.close()
      for (const entry of ['', ...readdirSync(existing, { recursive: true }).map(String)]) {
        const p = join(existing, entry)
        chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644)
      }
      const writable = join(base, 'writable')
      mkdirSync(writable, { mode: 0o777 })
      chmodSync(writable, 0o777)

      const res = runChild(
        `const [noAccess, readOnly, existing, writable] = process.argv.slice(1)
        process.setgid(65534)
        process.setuid(65534)
        const out = []
        const seen = (label, e) => out.push([label, e.constructor.name, e.code, e.kind, e.errno])
        const targets = [['inside a directory without access', noAccess + '/db'], ['a directory without access', noAccess],
          ['inside a read-only directory', readOnly + '/db'], ['a read-only directory', readOnly], ['a database it cannot write', existing]]
        ;(async () => {
          for (const [label, path] of targets) {
            try { sled.open(path).close(); out.push([label, 'opened']) } catch (e) { seen(label, e) }
            try { (await sled.openAsync(path)).close(); out.push([label + ' (async)', 'opened']) } catch (e) { seen(label + ' (async)', e) }
          }
          // the refusals leave the process able to use a path it may write
          const db = sled.open(writable + '/db')
          db.insert('k', 'v')
          out.push(['writable', String(db.get('k'))])
          db.close()
          console.log(JSON.stringify({ uid: process.getuid(), out }))
        })().catch((e) => { console.error(e); process.exitCode = 1 })`,
        [noAccess, readOnly, existing, writable],
      )
      expectCleanExit(res)
      const { uid, out } = JSON.parse(res.stdout) as { uid: number; out: unknown[][] }
      expect(uid).not.toBe(0)
      const denied = ['SledIoError', 'SLED_IO', 'PermissionDenied', 13]
      expect(out).toEqual([
        ['inside a directory without access', ...denied],
        ['inside a directory without access (async)', ...denied],
        ['a directory without access', ...denied],
        ['a directory without access (async)', ...denied],
        ['inside a read-only directory', ...denied],
        ['inside a read-only directory (async)', ...denied],
        ['a read-only directory', ...denied],
        ['a read-only directory (async)', ...denied],
        ['a database it cannot write', ...denied],
        ['a database it cannot write (async)', ...denied],
        ['writable', 'v'],
      ])
      // the database the child could not open is untouched
      const again = open(existing)
      expect(again.get('k')?.toString()).toBe('v')
      again.close()
    },
  )
})
