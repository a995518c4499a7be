// Merge operators: setMergeOperator + merge (a read / operator / compare-and-swap
// loop); the new value is returned, undefined deletes, a throwing operator changes
// nothing and its error is rethrown; operators are per handle; argument errors.
import { Buffer } from 'node:buffer'
import { afterAll, describe, expect, it } from 'vitest'
import { type Db, open, SledClosedError, SledUnsupportedError } from 'sled-node'
import { caught } from './helpers/caught.js'
import { dbPath } from './helpers/tmp.js'
import { inTwoWorkers } from './helpers/workers.js'

const db: Db = open(dbPath())
afterAll(() => db.close())

const str = (v: Buffer | undefined): string | undefined => v?.toString('utf8')

/** A little-endian u32 counter: old + value. */
function addU32(_key: Buffer, old: Buffer | undefined, value: Buffer): Buffer {
  const out = Buffer.alloc(4)
  out.writeUInt32LE((old ? old.readUInt32LE(0) : 0) + value.readUInt32LE(0), 0)
  return out
}
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n, 0)
  return b
}

describe('merge', () => {
  it('works as a counter and returns the new value each time', () => {
    const tree = db.openTree('counter')
    tree.setMergeOperator(addU32)
    const returned: number[] = []
    for (const n of [1, 2, 3, 10, 100]) returned.push(tree.merge('hits', u32(n))!.readUInt32LE(0))
    expect(returned).toEqual([1, 3, 6, 16, 116])
    expect(tree.get('hits')!.readUInt32LE(0)).toBe(116)
    // an independent key has its own count
    expect(tree.merge('other', u32(5))!.readUInt32LE(0)).toBe(5)
    expect(tree.get('hits')!.readUInt32LE(0)).toBe(116)
  })

  it('works on the default tree (the Db itself)', () => {
    db.setMergeOperator((_k, old, v) => Buffer.concat([old ?? Buffer.alloc(0), v]))
    expect(str(db.merge('log', 'a'))).toBe('a')
    expect(str(db.merge('log', 'bc'))).toBe('abc')
    expect(str(db.get('log'))).toBe('abc')
  })

  it('the returned value is a Buffer even when the operator returns a string or a Uint8Array view', () => {
    const tree = db.openTree('return-types')
    tree.setMergeOperator((_k, old, v) => `${old ? old.toString() : ''}${v.toString()}!`)
    const r1 = tree.merge('k', 'x')
    expect(Buffer.isBuffer(r1)).toBe(true)
    expect(str(r1)).toBe('x!')
    expect(str(tree.get('k'))).toBe('x!')
    tree.setMergeOperator(() => new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 3))
    const r2 = tree.merge('k', 'ignored')
    expect(Buffer.isBuffer(r2)).toBe(true)
    expect(r2).toEqual(Buffer.from([1, 2]))
    expect(tree.get('k')).toEqual(Buffer.from([1, 2]))
  })

  it('an operator returning undefined deletes the key and merge returns undefined', () => {
    const tree = db.openTree('deleting')
    tree.insert('k', 'v')
    tree.insert('keep', 'v')
    tree.setMergeOperator(() => undefined)
    expect(tree.merge('k', 'anything')).toBeUndefined()
    expect(tree.get('k')).toBeUndefined()
    expect(tree.containsKey('k')).toBe(false)
    // on an absent key it stays absent
    expect(tree.merge('absent', 'x')).toBeUndefined()
    expect(tree.containsKey('absent')).toBe(false)
    expect(str(tree.get('keep'))).toBe('v')
  })

  it('an operator that throws: merge rethrows that same error and the value is unchanged', () => {
    const tree = db.openTree('throwing')
    tree.insert('k', 'before')
    const error = new Error('operator failed')
    tree.setMergeOperator(() => {
      throw error
    })
    const thrown = caught(() => tree.merge('k', 'x'))
    expect(thrown).toBe(error)
    expect(str(tree.get('k'))).toBe('before')
    // an absent key stays absent
    expect(() => tree.merge('absent', 'x')).toThrow(error)
    expect(tree.containsKey('absent')).toBe(false)
    // a non-Error thrown value is rethrown unchanged too
    const value = { reason: 'not an Error' }
    tree.setMergeOperator(() => {
      throw value
    })
    const thrownValue = caught(() => tree.merge('k', 'x'))
    expect(thrownValue).toBe(value)
    expect(str(tree.get('k'))).toBe('before')
  })

  it('an operator returning something that is not bytes throws TypeError and changes nothing', () => {
    const tree = db.openTree('bad-return')
    tree.insert('k', 'before')
    tree.setMergeOperator(() => 42 as unknown as Buffer)
    expect(() => tree.merge('k', 'x')).toThrow(TypeError)
    expect(str(tree.get('k'))).toBe('before')
  })

  it('the operator receives (key, old, value) as Buffers', () => {
    const tree = db.openTree('arguments')
    const calls: { key: unknown; old: unknown; value: unknown; argc: number }[] = []
    tree.setMergeOperator(function (key, old, value) {
      calls.push({ key, old, value, argc: arguments.length })
      return Buffer.concat([old ?? Buffer.alloc(0), value])
    })
    tree.merge('key', 'ab') // string inputs
    tree.merge(new Uint8Array([0x6b, 0x65, 0x79]), new Uint8Array([9, 9, 0x63, 9]).subarray(2, 3)) // views
    tree.merge(Buffer.from('key'), Buffer.alloc(0)) // empty value
    expect(calls).toHaveLength(3)
    for (const c of calls) {
      expect(c.argc).toBe(3)
      expect(Buffer.isBuffer(c.key)).toBe(true)
      expect(Buffer.isBuffer(c.value)).toBe(true)
      expect(c.key).toEqual(Buffer.from('key'))
    }
    expect(calls[0]!.old).toBeUndefined()
    expect(calls[0]!.value).toEqual(Buffer.from('ab'))
    expect(Buffer.isBuffer(calls[1]!.old)).toBe(true)
    expect(calls[1]!.old).toEqual(Buffer.from('ab'))
    expect(calls[1]!.value).toEqual(Buffer.from('c'))
    expect(calls[2]!.old).toEqual(Buffer.from('abc'))
    expect(calls[2]!.value).toEqual(Buffer.alloc(0))
    expect(str(tree.get('key'))).toBe('abc')
  })

  it('an operator that mutates its argument Buffers does not corrupt the store or the caller’s bytes', () => {
    const tree = db.openTree('mutating')
    tree.insert('k', 'aaa')
    const input = Buffer.from('xyz')
    tree.setMergeOperator((key, old, value) => {
      key.fill(0)
      value.fill(0x21) // '!'
      old!.fill(0x62) // 'b'
      return old
    })
    expect(str(tree.merge('k', input))).toBe('bbb')
    expect(str(tree.get('k'))).toBe('bbb')
    expect(str(input)).toBe('xyz')
    expect(tree.get(Buffer.from([0]))).toBeUndefined()
  })

  it('setMergeOperator replaces the previous operator', () => {
    const tree = db.openTree('replace')
    tree.setMergeOperator(() => 'first')
    expect(str(tree.merge('k', 'x'))).toBe('first')
    tree.setMergeOperator(() => 'second')
    expect(str(tree.merge('k', 'x'))).toBe('second')
  })

  it('the operator may call other sled-node methods (no lock is held while it runs)', () => {
    const tree = db.openTree('reentrant')
    const side = db.openTree('reentrant-side')
    side.insert('factor', '3')
    tree.setMergeOperator((_k, old, v) => {
      const factor = Number(str(side.get('factor')))
      side.insert('calls', String(Number(str(side.get('calls')) ?? 0) + 1))
      return String(Number(old?.toString() ?? 0) + factor * Number(v.toString()))
    })
    expect(str(tree.merge('k', '2'))).toBe('6')
    expect(str(tree.merge('k', '1'))).toBe('9')
    expect(str(side.get('calls'))).toBe('2')
  })
})

describe('operators are per handle', () => {
  it('a second handle from openTree of the same name has no operator', () => {
    const first = db.openTree('per-handle')
    first.setMergeOperator(addU32)
    first.merge('n', u32(1))
    const second = db.openTree('per-handle')
    expect(() => second.merge('n', u32(1))).toThrow(SledUnsupportedError)
    // the first handle keeps its operator, and both see the same data
    expect(first.merge('n', u32(1))!.readUInt32LE(0)).toBe(2)
    expect(second.get('n')!.readUInt32LE(0)).toBe(2)
    // setting one on the second handle does not replace the first's
    second.setMergeOperator(() => 'second')
    expect(first.merge('n', u32(1))!.readUInt32LE(0)).toBe(3)
    expect(str(second.merge('n', u32(1)))).toBe('second')
  })

  it('a second Db handle of the same path, and a reopened database, have none', () => {
    const path = dbPath()
    const a = open(path)
    a.setMergeOperator(addU32)
    a.merge('n', u32(1))
    const b = open(path)
    try {
      expect(() => b.merge('n', u32(1))).toThrow(SledUnsupportedError)
    } finally {
      b.close()
    }
    a.close()
    const reopened = open(path)
    try {
      expect(() => reopened.merge('n', u32(1))).toThrow(SledUnsupportedError)
      expect(reopened.get('n')!.readUInt32LE(0)).toBe(1)
    } finally {
      reopened.close()
    }
  })
})

describe('errors', () => {
  it('merge without an operator throws SledUnsupportedError and writes nothing', () => {
    const tree = db.openTree('no-operator')
    const thrown = caught(() => tree.merge('k', 'v'))
    expect(thrown).toBeInstanceOf(SledUnsupportedError)
    expect((thrown as SledUnsupportedError).code).toBe('SLED_UNSUPPORTED')
    expect(tree.containsKey('k')).toBe(false)
  })

  it('setMergeOperator of a non-function throws TypeError ERR_INVALID_ARG_TYPE and keeps the previous operator', () => {
    const tree = db.openTree('bad-operator')
    for (const bad of [undefined, null, 'fn', 1, {}, []]) {
      expect(() => tree.setMergeOperator(bad as unknown as () => undefined)).toThrow(TypeError)
      expect(() => tree.setMergeOperator(bad as unknown as () => undefined)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      )
    }
    // still no operator
    expect(() => tree.merge('k', 'v')).toThrow(SledUnsupportedError)
    tree.setMergeOperator(() => 'ok')
    expect(() => tree.setMergeOperator(null as unknown as () => undefined)).toThrow(TypeError)
    expect(str(tree.merge('k', 'v'))).toBe('ok')
  })

  it('merge with a bad key or value throws TypeError without calling the operator', () => {
    const tree = db.openTree('bad-args')
    let calls = 0
    tree.setMergeOperator(() => {
      calls++
      return 'x'
    })
    expect(() => tree.merge(1 as unknown as string, 'v')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => tree.merge('k', {} as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(calls).toBe(0)
  })

  it('merge on a closed database throws SledClosedError', () => {
    const closing = open(dbPath())
    const tree = closing.openTree('t')
    tree.setMergeOperator(addU32)
    closing.setMergeOperator(addU32)
    closing.close()
    expect(() => tree.merge('n', u32(1))).toThrow(SledClosedError)
    expect(() => closing.merge('n', u32(1))).toThrow(SledClosedError)
  })
})

describe('concurrent merges', () => {
  it('two worker threads merging +1 5,000 times each on one key end at exactly 10,000', async () => {
    const path = dbPath()
    const main = open(path)
    try {
      const N = 5_000
      const script = `
const { path, n } = workerData
const db = sled.open(path)
const tree = db.openTree('merged')
let runs = 0
tree.setMergeOperator((key, old, value) => {
  runs++
  return String((old === undefined ? 0 : Number(old.toString())) + Number(value.toString()))
})
startTogether()
for (let i = 0; i < n; i++) tree.merge('counter', '1')
db.close()
parentPort.postMessage({ runs })
`
      const results = await inTwoWorkers<{ runs: number }>(script, { path, n: N })
      console.log(`concurrent merge: operator runs per worker ${results.map((r) => r.runs).join(', ')} for ${N} merges each`)
      for (const r of results) expect(r.runs).toBeGreaterThanOrEqual(N)
      expect(str(main.openTree('merged').get('counter'))).toBe(String(2 * N))
    } finally {
      main.close()
    }
  })
})
