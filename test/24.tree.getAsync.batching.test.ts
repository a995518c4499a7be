// getAsync calls of one tick share pool tasks (src/get-batcher.ts): each caller still
// gets its own value or its own error, as if every call had its own task.
import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { open, SledClosedError, SledCollectionNotFoundError } from 'sled-node'
import { dbPath } from './helpers/tmp.js'

/** Settles every promise: its value, or the error it rejected with. */
const outcomes = <T>(promises: Promise<T>[]): Promise<({ ok: true; value: T } | { ok: false; error: unknown })[]> =>
  Promise.all(promises.map((p) => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))))

describe('getAsync batching', () => {
  it('1,000 reads in one tick each resolve to their own key: present, absent, empty, larger than the scratch', async () => {
    const db = open(dbPath())
    const big = Buffer.alloc(200_000, 7)
    for (let i = 0; i < 1000; i += 2) db.insert(`k${i}`, i % 10 === 0 ? '' : `v${i}`)
    db.insert('big', big)
    const keys = [...Array.from({ length: 1000 }, (_, i) => `k${i}`), 'big']
    const values = await Promise.all(keys.map((k) => db.getAsync(k)))
    keys.forEach((k, i) => {
      const expected = k === 'big' ? big : i % 2 === 1 ? undefined : Buffer.from(i % 10 === 0 ? '' : `v${i}`)
      expect(values[i], k).toEqual(expected)
    })
    db.close()
  })

  it('reads the key as it was at the call, though the caller changes its Buffer right after', async () => {
    const db = open(dbPath())
    db.insert('a', '1')
    db.insert('b', '2')
    const key = Buffer.from('a')
    const first = db.getAsync(key)
    const second = db.getAsync('b')
    key.write('b')
    expect(await first).toEqual(Buffer.from('1'))
    expect(await second).toEqual(Buffer.from('2'))
    db.close()
  })

  it('copies each key at the call, also a codec output that the codec reuses', async () => {
    const db = open(dbPath())
    const scratch = Buffer.alloc(4)
    const reusing = db.openTree<number, string>('t', {
      keyEncoding: { encode: (n: number) => (scratch.writeUInt32BE(n), scratch), decode: (b: Uint8Array) => Buffer.from(b).readUInt32BE(0) },
      valueEncoding: 'utf8',
    })
    for (let i = 0; i < 5; i++) reusing.insert(i, `v${i}`)
    expect(await Promise.all([0, 1, 2, 3, 4].map((i) => reusing.getAsync(i)))).toEqual(['v0', 'v1', 'v2', 'v3', 'v4'])
    db.close()
  })

  it('each value read in a batch is a Buffer of its own, as get returns', async () => {
    const db = open(dbPath())
    const big = Buffer.alloc(1 << 20, 1)
    db.insert('small', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]))
    db.insert('big', big)
    const [small, large] = (await Promise.all([db.getAsync('small'), db.getAsync('big')])) as [Buffer, Buffer]
    expect(large.equals(big)).toBe(true)
    // not a view into one packed buffer holding both (which would keep 1 MiB alive for 8 bytes)
    expect(small.buffer).not.toBe(large.buffer)
    expect(small.buffer.byteLength).toBeLessThan(big.length)
    // and aligned like any Buffer from Node's pool, so typed-array views work
    expect(new Float64Array(small.buffer, small.byteOffset, 1)).toHaveLength(1)
    db.close()
  })

  it('a bad key rejects its own call only', async () => {
    const db = open(dbPath())
    db.insert('a', '1')
    const results = await outcomes([db.getAsync('a'), db.getAsync(42 as never), db.getAsync('a')])
    expect(results[0]).toEqual({ ok: true, value: Buffer.from('1') })
    expect(results[1]).toMatchObject({ ok: false, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } })
    expect(results[2]).toEqual({ ok: true, value: Buffer.from('1') })
    db.close()
  })

  it('a value its encoding cannot decode rejects that call only', async () => {
    const db = open(dbPath())
    const tree = db.openTree<string, { n: number }>('json', { keyEncoding: 'utf8', valueEncoding: 'json' })
    tree.insert('good', { n: 1 })
    // written through a raw handle of the same tree: json would encode a Buffer as JSON
    db.openTree('json').insert('bad', '{not json')
    const results = await outcomes([tree.getAsync('good'), tree.getAsync('bad'), tree.getAsync('none')])
    expect(results[0]).toEqual({ ok: true, value: { n: 1 } })
    expect(results[1]).toMatchObject({ ok: false })
    expect((results[1] as { error: unknown }).error).toBeInstanceOf(SyntaxError)
    expect(results[2]).toEqual({ ok: true, value: undefined })
    db.close()
  })

  it('closing the Db in the tick of the calls rejects them all with SledClosedError, and nothing hangs', async () => {
    const db = open(dbPath())
    db.insert('a', '1')
    const pending = Array.from({ length: 300 }, () => db.getAsync('a'))
    db.close()
    const results = await outcomes(pending)
    // up to 128 keys per task are sent at once, before close(); the rest after it
    for (const r of results) {
      if (r.ok) expect(r.value).toEqual(Buffer.from('1'))
      else expect(r.error).toBeInstanceOf(SledClosedError)
    }
    expect(results.some((r) => !r.ok)).toBe(true)
  })

  it('reads of a dropped tree all reject with SledCollectionNotFoundError', async () => {
    const db = open(dbPath())
    const tree = db.openTree('t')
    tree.insert('a', '1')
    db.dropTree('t')
    const results = await outcomes([tree.getAsync('a'), tree.getAsync('b')])
    for (const r of results) expect(r.ok ? r : r.error).toBeInstanceOf(SledCollectionNotFoundError)
    db.close()
  })

  it('reads of several trees in one tick go to their own trees', async () => {
    const db = open(dbPath())
    const t1 = db.openTree('one')
    const t2 = db.openTree('two')
    t1.insert('k', 'from one')
    t2.insert('k', 'from two')
    const [a, b, c] = await Promise.all([t1.getAsync('k'), t2.getAsync('k'), db.getAsync('k')])
    expect(a).toEqual(Buffer.from('from one'))
    expect(b).toEqual(Buffer.from('from two'))
    expect(c).toBeUndefined()
    db.close()
  })
})
