// Transactions: tree.transaction and transaction([trees], fn) commit atomically and
// return fn's value; a throwing fn writes nothing and its error is rethrown as is;
// TransactionalTree operations; misuse (sled calls or a Promise inside fn) throws
// SLED_TRANSACTION_MISUSE instead of deadlocking; conflicts between threads retry.
import { Buffer } from 'node:buffer'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  Batch,
  type Db,
  open,
  SledClosedError,
  SledError,
  transaction,
  TransactionalTree,
  type Tree,
} from 'sled-node'
import { caught } from './helpers/caught.js'
import { runChild } from './helpers/child.js'
import { settled } from './helpers/settled.js'
import { dbPath, tempDir } from './helpers/tmp.js'
import { inTwoWorkers } from './helpers/workers.js'


const db: Db = open(dbPath())
afterAll(() => db.close())

const str = (v: Buffer | undefined): string | undefined => v?.toString('utf8')
const contents = (t: Tree): [string, string][] => t.iter().toArray().map(([k, v]) => [k.toString(), v.toString()])

describe('committing', () => {
  it('tree.transaction commits the writes and returns what fn returned', () => {
    const tree = db.openTree('single')
    const marker = { some: 'object' }
    const out = tree.transaction((tx) => {
      expect(tx).toBeInstanceOf(TransactionalTree)
      tx.insert('a', '1')
      tx.insert('b', '2')
      return marker
    })
    expect(out).toBe(marker)
    expect(contents(tree)).toEqual([
      ['a', '1'],
      ['b', '2'],
    ])
    expect(tree.transaction(() => undefined)).toBeUndefined()
    expect(tree.transaction(() => 42)).toBe(42)
    expect(tree.transaction(() => 'text')).toBe('text')
    expect(tree.transaction(() => null)).toBeNull()
  })

  it('db.transaction works on the default tree', () => {
    const key = 'default-tree-tx'
    db.transaction((tx) => tx.insert(key, 'v'))
    expect(str(db.get(key))).toBe('v')
  })

  it('transaction([a, b], fn) commits to both trees and returns fn’s value', () => {
    const a = db.openTree('multi-a')
    const b = db.openTree('multi-b')
    a.insert('from', '100')
    const out = transaction([a, b], (txs) => {
      expect(txs).toHaveLength(2)
      const [ta, tb] = txs as [TransactionalTree, TransactionalTree]
      const amount = 30
      const from = Number(str(ta.get('from')))
      ta.insert('from', String(from - amount))
      tb.insert('to', String(amount))
      return { moved: amount }
    })
    expect(out).toEqual({ moved: 30 })
    expect(str(a.get('from'))).toBe('70')
    expect(str(b.get('to'))).toBe('30')
    // each view writes to its own tree only
    expect(a.get('to')).toBeUndefined()
    expect(b.get('from')).toBeUndefined()
  })

  it('the same tree may appear once; a transaction over three trees commits all three', () => {
    const ts = ['tri-1', 'tri-2', 'tri-3'].map((n) => db.openTree(n))
    transaction(ts, (txs) => txs.forEach((tx, i) => tx.insert('k', String(i))))
    expect(ts.map((t) => str(t.get('k')))).toEqual(['0', '1', '2'])
  })
})

describe('aborting', () => {
  it('a throwing fn leaves both trees unchanged and the same error object is rethrown', () => {
    const a = db.openTree('abort-a')
    const b = db.openTree('abort-b')
    a.insert('x', 'before')
    b.insert('y', 'before')
    const error = new Error('boom')
    const thrown = caught(() => {
      transaction([a, b], ([ta, tb]) => {
        ta!.insert('x', 'after')
        ta!.insert('new', '1')
        tb!.remove('y')
        tb!.apply(new Batch().insert('z', '1'))
        throw error
      })
    })
    expect(thrown).toBe(error)
    expect(contents(a)).toEqual([['x', 'before']])
    expect(contents(b)).toEqual([['y', 'before']])
  })

  it.each([
    ['a plain object', { reason: 'custom' }],
    ['a string', 'a string'],
    ['a number', 7],
])('a non-Error value thrown by fn (%s) is rethrown unchanged', (_, value) => {
    const tree = db.openTree('abort-values')
    const thrown = caught(() => {
      tree.transaction((tx) => {
        tx.insert('k', 'v')
        throw value
      })
    })
    expect(thrown).toBe(value)
    expect(tree.len()).toBe(0)
  })

  it('a SledError thrown by the user is rethrown unchanged, not rewrapped', () => {
    const tree = db.openTree('abort-sled-error')
    const mine = new SledError('mine', 'MY_CODE')
    const thrown = caught(() => {
      tree.transaction((tx) => {
        tx.insert('k', 'v')
        throw mine
      })
    })
    expect(thrown).toBe(mine)
    expect(tree.len()).toBe(0)
  })

  it('fn returning a Promise throws SLED_TRANSACTION_MISUSE and writes nothing', async () => {
    const tree = db.openTree('promise')
    const cases: [string, (tx: TransactionalTree) => unknown][] = [
      ['Promise.resolve', (tx) => { tx.insert('p1', 'x'); return Promise.resolve(1) }],
      ['async fn', async (tx) => { tx.insert('p2', 'x') }],
      // writes after an await reach an ended transaction; that rejection must not surface
      ['async fn awaiting', async (tx) => { await null; tx.insert('p3', 'x') }],
      ['thenable', (tx) => { tx.insert('p4', 'x'); return { then() {} } }],
    ]
    for (const [name, fn] of cases) {
      const thrown = caught(() => tree.transaction(fn))
      expect(thrown, name).toBeInstanceOf(SledError)
      expect((thrown as SledError).code, name).toBe('SLED_TRANSACTION_MISUSE')
    }
    // let the async bodies run to their end
    await new Promise((r) => setTimeout(r, 20))
    expect(tree.iter().toArray()).toEqual([])
    // and the lock is free again
    tree.insert('after', '1')
    expect(str(tree.get('after'))).toBe('1')
  })
})

describe('TransactionalTree', () => {
  it('get / insert / remove return previous values and see the transaction’s own writes', () => {
    const tree = db.openTree('tx-ops')
    tree.insert('old', 'o')
    const seen = tree.transaction((tx) => {
      const log: unknown[] = []
      log.push(str(tx.get('old')))
      log.push(str(tx.insert('old', 'n')))
      log.push(str(tx.get('old')))
      log.push(str(tx.insert('fresh', 'f')))
      log.push(str(tx.get('fresh')))
      log.push(str(tx.remove('fresh')))
      log.push(str(tx.get('fresh')))
      log.push(str(tx.remove('missing')))
      log.push(tx.get(Buffer.from('old')) instanceof Buffer)
      return log
    })
    expect(seen).toEqual(['o', 'o', 'n', undefined, 'f', 'f', undefined, undefined, true])
    expect(contents(tree)).toEqual([['old', 'n']])
  })

  it('binary keys and values, Uint8Array views and empty values', () => {
    const tree = db.openTree('tx-bytes')
    const view = new Uint8Array([7, 0, 0xff, 7]).subarray(1, 3)
    tree.transaction((tx) => {
      tx.insert(view, new Uint8Array(0))
      tx.insert(Buffer.from([0xff]), view)
    })
    expect(tree.get(Buffer.from([0, 0xff]))).toEqual(Buffer.alloc(0))
    expect(tree.get(Buffer.from([0xff]))).toEqual(Buffer.from([0, 0xff]))
  })

  it('apply(batch) applies inside the transaction, visible to later reads in fn', () => {
    const tree = db.openTree('tx-apply')
    tree.insert('gone', 'x')
    const inside = tree.transaction((tx) => {
      tx.apply(new Batch().insert('a', '1').insert('b', '2').remove('gone').insert('a', '3'))
      return [str(tx.get('a')), str(tx.get('gone'))]
    })
    expect(inside).toEqual(['3', undefined])
    expect(contents(tree)).toEqual([
      ['a', '3'],
      ['b', '2'],
    ])
  })

  it('generateId returns increasing bigints, unique against db.generateId', () => {
    const tree = db.openTree('tx-ids')
    const before = db.generateId()
    const ids = tree.transaction((tx) => [tx.generateId(), tx.generateId(), tx.generateId()])
    const after = db.generateId()
    for (const id of ids) expect(typeof id).toBe('bigint')
    expect(ids[0]! > before).toBe(true)
    expect(ids[1]! > ids[0]!).toBe(true)
    expect(ids[2]! > ids[1]!).toBe(true)
    expect(after > ids[2]!).toBe(true)
  })

  it('rejects bad arguments with Node-style TypeErrors (catchable inside fn)', () => {
    const tree = db.openTree('tx-bad-args')
    const errors = tree.transaction((tx) => {
      const out: unknown[] = []
      for (const f of [
        () => tx.get(1 as unknown as string),
        () => tx.insert('k', {} as unknown as string),
        () => tx.remove(null as unknown as string),
        () => tx.apply({} as unknown as Batch),
      ]) {
        try {
          f()
          out.push('no error')
        } catch (e) {
          out.push([(e as Error).constructor.name, (e as { code?: string }).code])
        }
      }
      tx.insert('still', 'works')
      return out
    })
    expect(errors).toEqual(Array(4).fill(['TypeError', 'ERR_INVALID_ARG_TYPE']))
    expect(str(tree.get('still'))).toBe('works')
  })

  it('used after fn returned (or threw), every method throws SledClosedError', () => {
    const tree = db.openTree('tx-escaped')
    let escaped: TransactionalTree | undefined
    tree.transaction((tx) => {
      escaped = tx
    })
    let escapedFromAbort: TransactionalTree | undefined
    expect(() =>
      tree.transaction((tx) => {
        escapedFromAbort = tx
        throw new Error('abort')
      }),
    ).toThrow('abort')
    for (const tx of [escaped!, escapedFromAbort!]) {
      expect(() => tx.get('k')).toThrow(SledClosedError)
      expect(() => tx.insert('k', 'v')).toThrow(SledClosedError)
      expect(() => tx.remove('k')).toThrow(SledClosedError)
      expect(() => tx.apply(new Batch().insert('k', 'v'))).toThrow(SledClosedError)
      expect(() => tx.generateId()).toThrow(SledClosedError)
    }
    expect(tree.get('k')).toBeUndefined()
  })

  it('cannot be constructed by users', () => {
    const Ctor = TransactionalTree as unknown as new (...args: unknown[]) => unknown
    expect(() => new Ctor()).toThrow(TypeError)
  })
})

describe('bad arguments', () => {
  it('trees from two different databases: an error, and fn is never called', () => {
    const other = open(dbPath())
    try {
      const mine = db.openTree('cross-db')
      const theirs = other.openTree('cross-db')
      let called = false
      const thrown = caught(() => {
        transaction([mine, theirs], () => {
          called = true
        })
      })
      expect(thrown).toBeInstanceOf(Error)
      expect(thrown).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
      expect(called).toBe(false)
    } finally {
      other.close()
    }
  })

  it('one tree listed twice (the same handle or two handles of it) is ERR_INVALID_ARG_VALUE, and fn is never called', () => {
    const tree = db.openTree('twice')
    const again = db.openTree('twice')
    for (const list of [[tree, tree], [tree, again], [db.openTree('other'), again, tree]]) {
      let called = false
      const thrown = caught(() =>
        transaction(list, () => {
          called = true
        }),
      )
      expect(thrown).toBeInstanceOf(TypeError)
      expect(thrown).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
      expect(String((thrown as Error).message)).toMatch(/same tree/)
      expect(called).toBe(false)
    }
    // the default tree too, through the Db and through defaultTree-like reuse
    expect(() => transaction([db, db], () => 1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
  })

  it('an empty tree list is a TypeError; so are a non-array, non-trees and a non-function fn', () => {
    const tree = db.openTree('args')
    expect(() => transaction([], () => 1)).toThrow(TypeError)
    expect(() => transaction([], () => 1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => transaction(tree as unknown as Tree[], () => 1)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    )
    expect(() => transaction([{} as Tree], () => 1)).toThrow(TypeError)
    expect(() => transaction([tree], 'fn' as unknown as () => void)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    )
    expect(() => tree.transaction(undefined as unknown as () => void)).toThrow(TypeError)
  })

  it('a transaction on a closed database throws SledClosedError without calling fn', () => {
    const closed = open(dbPath())
    const tree = closed.openTree('t')
    closed.close()
    let called = false
    expect(() => tree.transaction(() => { called = true })).toThrow(SledClosedError)
    expect(() => transaction([closed], () => { called = true })).toThrow(SledClosedError)
    expect(called).toBe(false)
  })
})

describe('misuse inside fn', () => {
  // run in a child process: if a call deadlocked, only the child hangs, and
  // spawnSync's timeout (the guard) ends it, failing the test instead of hanging it
  it('async methods called inside fn reject with SLED_TRANSACTION_MISUSE (also getAsync, whose read would run after fn)', () => {
    const res = runChild(`
const db = sled.open(${JSON.stringify(join(tempDir(), 'db'))})
db.insert('k', 'v')
const pending = {}
db.transaction(() => {
  pending.getAsync = db.getAsync('k')
  pending.getManyAsync = db.getManyAsync(['k'])
  pending.insertAsync = db.insertAsync('k', 'w')
  pending.removeAsync = db.removeAsync('k')
  pending.applyAsync = db.applyAsync(new sled.Batch().insert('b', '1'))
  pending.flushAsync = db.flushAsync()
  pending.openAsync = sled.openAsync(${JSON.stringify(join(tempDir(), 'other'))})
})
Promise.allSettled(Object.values(pending)).then((outcomes) => {
  const names = Object.keys(pending)
  const out = {}
  outcomes.forEach((o, i) => (out[names[i]] = o.status === 'rejected' ? o.reason.code : 'resolved'))
  out.after = String(db.get('k')) + ' ' + String(db.get('b'))
  db.close()
  console.log(JSON.stringify(out))
})
`)
    expect(res.signal, `child hung or was killed; stderr: ${res.stderr}`).toBeNull()
    expect(res.status, res.stderr).toBe(0)
    const misuse = 'SLED_TRANSACTION_MISUSE'
    expect(JSON.parse(res.stdout.trim().split('\n').pop()!)).toEqual({
      getAsync: misuse,
      getManyAsync: misuse,
      insertAsync: misuse,
      removeAsync: misuse,
      applyAsync: misuse,
      flushAsync: misuse,
      openAsync: misuse,
      after: 'v undefined',
    })
  })

  it(
    'sled-node calls inside fn throw SledError SLED_TRANSACTION_MISUSE instead of hanging',
    () => {
      const dir = tempDir()
      const [p1, p2, p3] = ['one', 'two', 'never'].map((n) => join(dir, n))
      const res = runChild(`
const db = sled.open(${JSON.stringify(p1)})
const other = db.openTree('other')
const db2 = sled.open(${JSON.stringify(p2)})
db.insert('before', '1')
const results = {}
const attempt = (name, f) => {
  try {
    f()
    results[name] = 'no error'
  } catch (e) {
    results[name] = { sled: e instanceof sled.SledError, code: e.code }
  }
}
const returned = db.transaction((tx) => {
  attempt('db.get', () => db.get('before'))
  attempt('db.insert', () => db.insert('x', 'y'))
  attempt('tree.insert', () => other.insert('x', 'y'))
  attempt('tree.get', () => other.get('x'))
  attempt('otherDb.get', () => db2.get('x'))
  attempt('db.iter', () => db.iter())
  attempt('db.openTree', () => db.openTree('t3'))
  attempt('db.checksum', () => db.checksum())
  attempt('db.close', () => db.close())
  attempt('otherDb.close', () => db2.close())
  attempt('open(new path)', () => sled.open(${JSON.stringify(p3)}))
  attempt('open(same path)', () => sled.open(${JSON.stringify(p1)}))
  attempt('tree.transaction', () => other.transaction(() => 1))
  attempt('transaction()', () => sled.transaction([other], () => 1))
  tx.insert('inside', 'ok')
  return 'returned'
})
// an uncaught misuse error aborts the transaction and is rethrown as is
let inner
let outer
try {
  db.transaction((tx) => {
    tx.insert('aborted', 'x')
    try { db.get('before') } catch (e) { inner = e; throw e }
  })
} catch (e) {
  outer = e
}
const after = {
  returned,
  inside: String(db.get('inside')),
  aborted: db.get('aborted') === undefined,
  sameError: inner !== undefined && inner === outer,
  outerCode: outer && outer.code,
  dbClosed: db.closed,
  db2Closed: db2.closed,
  insertAfter: String(db.insert('after', 'a') === undefined && db.get('after')),
  otherAfter: String(other.insert('x', 'z') === undefined && other.get('x')),
  db2After: String(db2.insert('k', 'v') === undefined && db2.get('k')),
}
db.close()
db2.close()
console.log(JSON.stringify({ results, after }))
`)
      expect(res.signal, `child hung or was killed; stderr: ${res.stderr}`).toBeNull()
      expect(res.status, res.stderr).toBe(0)
      const { results, after } = JSON.parse(res.stdout.trim().split('\n').pop()!) as {
        results: Record<string, unknown>
        after: Record<string, unknown>
      }
      const misuse = { sled: true, code: 'SLED_TRANSACTION_MISUSE' }
      expect(results).toEqual({
        'db.get': misuse,
        'db.insert': misuse,
        'tree.insert': misuse,
        'tree.get': misuse,
        'otherDb.get': misuse,
        'db.iter': misuse,
        'db.openTree': misuse,
        'db.checksum': misuse,
        'db.close': misuse,
        'otherDb.close': misuse,
        'open(new path)': misuse,
        'open(same path)': misuse,
        'tree.transaction': misuse,
        'transaction()': misuse,
      })
      expect(existsSync(p3!)).toBe(false)
      // the refused calls changed nothing: both databases stay open and usable
      expect(after).toEqual({
        returned: 'returned',
        inside: 'ok',
        aborted: true,
        sameError: true,
        outerCode: 'SLED_TRANSACTION_MISUSE',
        dbClosed: false,
        db2Closed: false,
        insertAfter: 'a',
        otherAfter: 'z',
        db2After: 'v',
      })
    },
    180_000,
  )

  it('a refused db.close() inside fn leaves the handle fully usable: iterators and subscribers too', async () => {
    const own = open(dbPath())
    try {
      own.insert('a', '1')
      const before = own.watchPrefix('w')
      let refused: unknown
      own.transaction(() => {
        try {
          own.close()
        } catch (e) {
          refused = e
        }
      })
      expect(refused).toBeInstanceOf(SledError)
      expect((refused as SledError).code).toBe('SLED_TRANSACTION_MISUSE')
      expect(own.closed).toBe(false)
      expect(str(own.get('a'))).toBe('1')
      expect(own.iter().toArray().map(([k]) => k.toString())).toEqual(['a'])
      const after = own.watchPrefix('w')
      own.insert('w1', 'x')
      expect((await settled(after.next(), 'next()', 10_000)).value).toMatchObject({ type: 'insert', key: Buffer.from('w1') })
      expect((await settled(before.next(), 'next()', 10_000)).value).toMatchObject({ type: 'insert', key: Buffer.from('w1') })
      after.close()
      before.close()
    } finally {
      own.close()
    }
  })
})

describe('conflicts between threads', () => {
  it('two workers each incrementing one counter 10,000 times in transactions end at exactly 20,000', async () => {
    const path = dbPath()
    const main = open(path)
    try {
      const N = 10_000
      const script = `
const { path, n } = workerData
const db = sled.open(path)
const tree = db.openTree('counters')
startTogether()
let runs = 0
for (let i = 0; i < n; i++) {
  tree.transaction((tx) => {
    runs++
    const old = tx.get('counter')
    tx.insert('counter', String((old === undefined ? 0 : Number(old.toString())) + 1))
  })
}
db.close()
parentPort.postMessage({ runs })
`
      const results = await inTwoWorkers<{ runs: number }>(script, { path, n: N })
      const runs = results.map((r) => r.runs)
      console.log(`counter transactions: callback runs per worker ${runs.join(', ')} (retries: ${runs.map((r) => r - N).join(', ')})`)
      for (const r of runs) expect(r).toBeGreaterThanOrEqual(N)
      expect(str(main.openTree('counters').get('counter'))).toBe(String(2 * N))
    } finally {
      main.close()
    }
  })
})
