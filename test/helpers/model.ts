// A sorted in-memory model of a tree, for property tests.
import { Buffer } from 'node:buffer'

export type Pair = [Buffer, Buffer]

export function sortedEntries(map: Map<string, Buffer>): Pair[] {
  return [...map.entries()]
    .map(([hex, value]): Pair => [Buffer.from(hex, 'hex'), value])
    .sort((a, b) => Buffer.compare(a[0], b[0]))
}

export function hex(pairs: Iterable<[Uint8Array, Uint8Array]>): string[] {
  return [...pairs].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`)
}
