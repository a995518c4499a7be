// Correctness sampling: values read back during timing are compared, as bytes, with
// what bench/data.mjs says key i holds. The comparison runs between timed blocks.

import { key, value } from './data.mjs'

// `length`, not `byteLength`: lmdb's getBinaryFast returns a reused buffer whose length
// is the value's and whose byteLength is the whole shared area, as lmdb-js documents
function bytes(v) {
  if (!(v instanceof Uint8Array)) return undefined
  return Buffer.from(v.buffer, v.byteOffset, v.length)
}

/** Throws unless `got` is the value of key i. */
export function expectValue(got, i, cfg, where) {
  const b = bytes(got)
  if (!b || !b.equals(value(cfg.seed, i, cfg.valueSize))) {
    throw new Error(`${where}: wrong value for key ${i} (got ${got === undefined ? 'undefined' : b ? `${b.length} bytes` : typeof got})`)
  }
}

export function expectMissing(got, i, where) {
  if (got !== undefined && got !== null) throw new Error(`${where}: key ${i} should be missing`)
}

/** Throws unless the entry [k, v] is entry i. */
export function expectEntry(entry, i, cfg, where) {
  const k = bytes(entry?.[0])
  if (!k || !k.equals(key(i))) throw new Error(`${where}: expected key ${i}, got ${k?.toString('latin1')}`)
  expectValue(entry[1], i, cfg, where)
}

export function expectCount(got, want, where) {
  if (got !== want) throw new Error(`${where}: saw ${got} entries, expected ${want}`)
}
