// After close, every method of the Db and of its trees throws SledClosedError
// (async ones reject with it), and `closed` is true on both.
import { describe, expect, it } from 'vitest'
import { Buffer } from 'node:buffer'
import { join } from 'node:path'
import { Batch, Db, open, SledClosedError, transaction, Tree } from 'sled-node'
import { caught, outcomeOf } from './helpers/caught.js'
import { runChild } from './helpers/child.js'
import { dbPath, tempDir } from './helpers/tmp.js'

type Call = (target: never) => unknown

// Valid arguments for each method, so only the closed handle can make it fail.
const treeCalls: Record<string, Call> = {
  get: (t: Tree) => t.get('k'),
  getMany: (t: Tree) => t.getMany(['k']),
  insert: (t: Tree) => t.insert('k', 'v'),
  remove: (t: Tree) => t.remove('k'),
  containsKey: (t: Tree) => t.containsKey('k'),
  compareAndSwap: (t: Tree) => t.compareAndSwap('k', undefined, 'v'),
  updateAndFetch: (t: Tree) => t.updateAndFetch('k', () => 'v'),
  fetchAndUpdate: (t: Tree) => t.fetchAndUpdate('k', () => 'v'),
  len: (t: Tree) => t.len(),
  isEmpty: (t: Tree) => t.isEmpty(),
  clear: (t: Tree) => t.clear(),
  checksum: (t: Tree) => t.checksum(),
  flush: (t: Tree) => t.flush(),
  flushAsync: (t: Tree) => t.flushAsync(),
  getAsync: (t: Tree) => t.getAsync('k'),
  getManyAsync: (t: Tree) => t.getManyAsync(['k']),
  insertAsync: (t: Tree) => t.insertAsync('k', 'v'),
  removeAsync: (t: Tree) => t.removeAsync('k'),
  // iterators may fail when created or at their first step; either counts
  range: (t: Tree) => t.range().next(),
  scanPrefix: (t: Tree) => t.scanPrefix('k').next(),
  iter: (t: Tree) => t.iter().next(),
  first: (t: Tree) => t.first(),
  last: (t: Tree) => t.last(),
  getLt: (t: Tree) => t.getLt('k'),
  getGt: (t: Tree) => t.getGt('k'),
  popMin: (t: Tree) => t.popMin(),
  popMax: (t: Tree) => t.popMax(),
  watchPrefix: (t: Tree) => t.watchPrefix('k'),
  batch: (t: Tree) => t.batch(),
  apply: (t: Tree) => t.apply(new Batch().insert('k', 'v')),
  applyAsync: (t: Tree) => t.applyAsync(new Batch().insert('k', 'v')),
  transaction: (t: Tree) =>
    t.transaction(() => {
      throw new Error('the transaction callback ran on a closed handle')
    }),
  setMergeOperator: (t: Tree) => t.setMergeOperator((_k, _old, v) => v),
  merge: (t: Tree) => t.merge('k', 'v'),
}

const dbCalls: Record<string, Call> = {
  openTree: (db: Db) => db.openTree('t'),
  dropTree: (db: Db) => db.dropTree('t'),
  treeNames: (db: Db) => db.treeNames(),
  generateId: (db: Db) => db.generateId(),
  sizeOnDisk: (db: Db) => db.sizeOnDisk(),
  checksum: (db: Db) => db.checksum(),
  export: (db: Db) => db.export().next(),
  import: (db: Db) =>
    db.import([{ type: Buffer.from('tree'), name: Buffer.from('imported'), entries: [[Buffer.from('k'), Buffer.from('v')]][Symbol.iterator]() }]),
  exportTo: (db: Db) => db.exportTo(join(tempDir(), 'export')),
  importFrom: async (db: Db) => db.importFrom(await validExportFile()),
  backup: (db: Db) => db.backup(join(tempDir(), 'backup')),
}

/** An export file that importFrom would accept, so only the closed handle can fail it. */
async function validExportFile(): Promise<string> {
  const file = join(tempDir(), 'export')
  const source = open(dbPath())
  source.insert('k', 'v')
  await source.exportTo(file)
  source.close()
  return file
}

/** Db methods that return promises. */
const asyncDbMethods = new Set(['exportTo', 'importFrom', 'backup'])

/** Methods that are allowed after close: closing again is a no-op. */
const closers = new Set(['close', 'closeAsync'])

/** Every method name on a prototype chain up to (not including) Object.prototype. */
function methodNames(obj: object): string[] {
  const out = new Set<string>()
  for (let p = Object.getPrototypeOf(obj); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      const desc = Object.getOwnPropertyDescriptor(p, name)
      if (name !== 'constructor' && typeof desc?.value === 'function') out.add(name)
    }
  }
  return [...out]
}

function closedDb(): { db: Db; tree: Tree } {
  const db = open(dbPath())
  db.insert('k', 'v')
  const tree = db.openTree('t')
  tree.insert('k', 'v')
  db.close()
  return { db, tree }
}

describe('closed', () => {
  it('is false while open and true after close', () => {
    const db = open(dbPath())
    const t = db.openTree('t')
    expect(db.closed).toBe(false)
    expect(t.closed).toBe(false)
    db.close()
    expect(db.closed).toBe(true)
    expect(t.closed).toBe(true)
  })
})

describe('after db.close()', () => {
  it('closed is true on the Db and its trees', () => {
    const { db, tree } = closedDb()
    expect(db.closed).toBe(true)
    expect(tree.closed).toBe(true)
  })

  it.each(Object.keys(treeCalls))('Db %s fails with SledClosedError', async (name) => {
    const { db } = closedDb()
    const res = await outcomeOf(() => (dbCalls[name] ?? treeCalls[name]!)(db as never))
    expect(res.how).toBe(name.endsWith('Async') ? 'rejected' : 'threw')
    expect(res.error).toBeInstanceOf(SledClosedError)
    expect((res.error as SledClosedError).code).toBe('SLED_CLOSED')
  })

  it.each(Object.keys(dbCalls))('Db %s fails with SledClosedError', async (name) => {
    const { db } = closedDb()
    const res = await outcomeOf(() => dbCalls[name]!(db as never))
    expect(res.how).toBe(asyncDbMethods.has(name) ? 'rejected' : 'threw')
    expect(res.error).toBeInstanceOf(SledClosedError)
  })

  it.each(Object.keys(treeCalls))('Tree %s fails with SledClosedError', async (name) => {
    const { tree } = closedDb()
    const res = await outcomeOf(() => treeCalls[name]!(tree as never))
    expect(res.how).toBe(name.endsWith('Async') ? 'rejected' : 'threw')
    expect(res.error).toBeInstanceOf(SledClosedError)
  })

  it('the call tables above hold every method of the Db and of a Tree (close and closeAsync aside)', () => {
    // a new method must be added to a table, which gives it its own test above
    const { db, tree } = closedDb()
    const untabled = [
      ...methodNames(db)
        .filter((name) => !closers.has(name) && !dbCalls[name] && !treeCalls[name])
        .map((name) => `Db.${name}`),
      ...methodNames(tree)
        .filter((name) => !closers.has(name) && !treeCalls[name])
        .map((name) => `Tree.${name}`),
    ]
    expect(untabled).toEqual([])
  })

  it('an iterator made before close throws SledClosedError on its next step', () => {
    const db = open(dbPath())
    for (let i = 0; i < 10; i++) db.insert(`k${i}`, 'v')
    const t = db.openTree('t')
    t.insert('a', '1')
    const fromDb = db.iter()
    const fromTree = t.range()
    expect(fromDb.next().done).toBe(false)
    const finished = t.range()
    expect(finished.toArray()).toHaveLength(1)
    db.close()
    expect(() => fromDb.next()).toThrow(SledClosedError)
    expect(() => fromTree.next()).toThrow(SledClosedError)
    // and every later step too: the rest of a fetched chunk is not handed out, so a scan
    // cut short by close() never looks complete
    expect(() => fromDb.next()).toThrow(SledClosedError)
    expect(() => fromDb.toArray()).toThrow(SledClosedError)
    expect(() => [...fromDb.keys()]).toThrow(SledClosedError)
    expect(() => finished.next()).toThrow(SledClosedError)
    // closing stays quiet (it runs in finally blocks and for…of cleanup)
    expect(() => fromDb.close()).not.toThrow()
    expect(fromDb.return()).toEqual({ done: true, value: undefined })
  })

  it('an async iterator made before close rejects every later step', async () => {
    const db = open(dbPath())
    for (let i = 0; i < 10; i++) db.insert(`k${i}`, 'v')
    const it = db.iter()[Symbol.asyncIterator]()
    expect((await it.next()).done).toBe(false)
    db.close()
    await expect(it.next()).rejects.toBeInstanceOf(SledClosedError)
    await expect(it.next()).rejects.toBeInstanceOf(SledClosedError)
  })

  it('a subscriber made before close rejects its pending and every later next()', async () => {
    const db = open(dbPath())
    const sub = db.watchPrefix('')
    const idle = db.watchPrefix('')
    const pending = sub.next()
    db.insert('a', '1')
    const first = await pending
    expect(first.done).toBe(false)
    const waiting = sub.next()
    db.insert('b', '2')
    db.close()
    // an event may have reached the waiting call before close(); never after
    const outcome = await waiting.then((r) => r, (error: unknown) => error)
    if (!(outcome instanceof SledClosedError)) expect(outcome).toMatchObject({ done: false, value: { type: 'insert' } })
    await expect(sub.next()).rejects.toBeInstanceOf(SledClosedError)
    await expect(sub.next()).rejects.toBeInstanceOf(SledClosedError)
    await expect(idle.next()).rejects.toBeInstanceOf(SledClosedError)
    await expect(idle.next()).rejects.toBeInstanceOf(SledClosedError)
    expect(() => sub.close()).not.toThrow()
  })

  it('import of an empty list also throws SledClosedError', () => {
    const { db } = closedDb()
    expect(() => db.import([])).toThrow(SledClosedError)
  })

  it('merge with an operator set before close throws SledClosedError and does not call the operator', () => {
    const db = open(dbPath())
    let calls = 0
    db.setMergeOperator((_k, _old, v) => {
      calls++
      return v
    })
    db.close()
    expect(() => db.merge('k', 'v')).toThrow(SledClosedError)
    expect(calls).toBe(0)
  })

  it('transaction() over closed trees throws SledClosedError without running the callback', () => {
    const { db, tree } = closedDb()
    let ran = false
    const err = caught(() =>
      transaction([db as Tree, tree], () => {
        ran = true
      }),
    )
    expect(err).toBeInstanceOf(SledClosedError)
    expect(ran).toBe(false)
  })

  it('close, closeAsync and dispose are no-ops on a closed Db', async () => {
    const { db } = closedDb()
    expect(() => db.close()).not.toThrow()
    await expect(db.closeAsync()).resolves.toBeUndefined()
    expect(() => db[Symbol.dispose]()).not.toThrow()
    await expect(db[Symbol.asyncDispose]()).resolves.toBeUndefined()
    expect(db.closed).toBe(true)
  })

  it('the path and name stay readable', () => {
    const { db, tree } = closedDb()
    expect(typeof db.path).toBe('string')
    expect(db.name).toBe('__sled__default')
    expect(tree.name).toBe('t')
  })

  it('trees opened from another handle of the same path keep working', () => {
    const path = dbPath()
    const keep = open(path)
    const kept = keep.openTree('t')
    const db = open(path)
    const tree = db.openTree('t')
    db.close()
    expect(tree.closed).toBe(true)
    expect(kept.closed).toBe(false)
    kept.insert('k', 'v')
    expect(kept.get('k')?.toString()).toBe('v')
    expect(() => tree.get('k')).toThrow(SledClosedError)
    keep.close()
  })

  it('the data written before close is there after reopening', () => {
    const path = dbPath()
    const db = open(path)
    db.openTree('t').insert('a', '1')
    db.insert('b', '2')
    db.close()
    const again = open(path)
    expect(again.openTree('t').get('a')?.toString()).toBe('1')
    expect(again.get('b')?.toString()).toBe('2')
    again.close()
  })
})

describe('closeAsync', () => {
  it('marks the Db and its trees closed at once, before the promise settles', async () => {
    const path = dbPath()
    const db = open(path)
    const tree = db.openTree('t')
    tree.insert('k', 'v')
    const done = db.closeAsync()
    expect(db.closed).toBe(true)
    expect(tree.closed).toBe(true)
    expect(() => db.get('k')).toThrow(SledClosedError)
    expect(() => tree.get('k')).toThrow(SledClosedError)
    await expect(db.getAsync('k')).rejects.toBeInstanceOf(SledClosedError)
    await expect(done).resolves.toBeUndefined()
    // once it resolved, the lock is released: another process can open the path
    const res = runChild(`const db = sled.open(process.argv[1]); console.log(db.openTree('t').get('k').toString()); db.close()`, [
      path,
    ])
    expect(res.stderr).toBe('')
    expect(res.stdout.trim()).toBe('v')
    expect(res.status).toBe(0)
  })

  it('an async operation racing with close either completes or rejects with SledClosedError', async () => {
    const path = dbPath()
    const db = open(path)
    const pending = Array.from({ length: 50 }, (_, i) => db.insertAsync(`k${i}`, `v${i}`))
    db.close()
    const outcomes = await Promise.allSettled(pending)
    const again = open(path)
    outcomes.forEach((o, i) => {
      if (o.status === 'rejected') {
        expect(o.reason).toBeInstanceOf(SledClosedError)
      } else {
        expect(o.value).toBeUndefined()
        // a write that reported success is in the database
        expect(again.get(`k${i}`)?.toString()).toBe(`v${i}`)
      }
    })
    again.close()
  })
})
