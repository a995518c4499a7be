// A sorted in-memory model of a tree, for property tests.
import { Buffer } from 'node:buffer'
import type { Db, Tree } from 'sled-node'

export type Pair = [Buffer, Buffer]

export function sortedEntries(map: Map<string, Buffer>): Pair[] {
  return [...map.entries()]
    .map(([hex, value]): Pair => [Buffer.from(hex, 'hex'), value])
    .sort((a, b) => Buffer.compare(a[0], b[0]))
}

export function hex(pairs: Iterable<[Uint8Array, Uint8Array]>): string[] {
  return [...pairs].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`)
}

/** Fills tree `name` of `db` (cleared first) with `keys`, each with a value of its index; returns it and its model. */
export function loadTree(db: Db, name: string, keys: Buffer[]): { tree: Tree; model: Pair[] } {
  const tree = db.openTree<Buffer, Buffer>(name)
  tree.clear()
  const map = new Map<string, Buffer>()
  keys.forEach((key, i) => {
    const value = Buffer.from([i & 0xff, i >> 8])
    tree.insert(key, value)
    map.set(key.toString('hex'), value)
  })
  return { tree, model: sortedEntries(map) }
}
