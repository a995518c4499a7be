// The point reads at the ends of a tree: first, last, getLt, getGt, popMin and popMax.
import { Buffer } from 'node:buffer'
import { afterAll, describe, expect, it } from 'vitest'
import { type Db, open, type Tree } from 'sled-node'
import { loadTree } from './helpers/model.js'
import { dbPath } from './helpers/tmp.js'

const db: Db = open(dbPath())
afterAll(() => db.close())

const load = (name: string, keys: Buffer[]): { tree: Tree } => loadTree(db, name, keys)

describe('point reads at the ends', () => {
  it('first, last, getLt, getGt', () => {
    const { tree } = load('ends', ['b', 'd', 'f'].map((s) => Buffer.from(s)))
    const k = (e: [Buffer, Buffer] | undefined) => e?.[0].toString()
    expect(k(tree.first())).toBe('b')
    expect(k(tree.last())).toBe('f')
    expect(k(tree.getLt('d'))).toBe('b')
    expect(k(tree.getLt('c'))).toBe('b')
    expect(tree.getLt('b')).toBeUndefined()
    expect(k(tree.getGt('d'))).toBe('f')
    expect(tree.getGt('f')).toBeUndefined()
    expect(Buffer.isBuffer(tree.first()?.[1])).toBe(true)
    const empty = load('ends-empty', []).tree
    expect(empty.first()).toBeUndefined()
    expect(empty.last()).toBeUndefined()
    expect(() => tree.getLt(null as unknown as string)).toThrow(TypeError)
  })

  it('popMin and popMax until empty', () => {
    const keys = Array.from({ length: 50 }, (_, i) => Buffer.from([i]))
    const { tree } = load('pop', keys)
    const seen: number[] = []
    for (;;) {
      const low = tree.popMin()
      if (!low) break
      seen.push(low[0][0] as number)
      const high = tree.popMax()
      if (!high) break
      seen.push(high[0][0] as number)
    }
    expect(seen.length).toBe(50)
    expect(seen.slice(0, 4)).toEqual([0, 49, 1, 48])
    expect(tree.isEmpty()).toBe(true)
    expect(tree.popMin()).toBeUndefined()
    expect(tree.popMax()).toBeUndefined()
  })
})
