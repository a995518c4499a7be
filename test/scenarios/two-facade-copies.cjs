// Finding 7: two copies of the facade in one thread (a cleared module cache, as
// vi.resetModules and hot reload do) must both read exact bytes.
'use strict'
const { sled: first, entry, dir, fail } = require('./common.cjs')
for (const key of Object.keys(require.cache)) delete require.cache[key]
const second = require(entry)
if (second === first) fail('the module cache was not cleared')
const a = first.open(`${dir}/db`)
const b = second.open(`${dir}/db`)
let checked = 0
// every value read is kept and checked again at the end: the copies share the thread's
// value arena, so one copy must never write where the other handed out a value
const kept = []
for (let i = 0; i < 2000; i++) {
  const value = Buffer.alloc(1 + (i % 300), i % 251)
  ;(i % 2 ? a : b).insert(`k${i}`, value)
  for (const [name, db] of [['first', a], ['second', b]]) {
    const got = db.get(`k${i}`)
    if (!got || !got.equals(value)) fail(`${name} copy read ${got && got.toString('hex')} for k${i}`)
    kept.push([got, value, `${name} k${i}`])
    checked++
  }
  // interleaved reads of different lengths through both copies
  const other = a.get(`k${i >> 1}`)
  const again = b.get(`k${i >> 1}`)
  if (!other.equals(again)) fail(`copies disagree on k${i >> 1}`)
}
for (const [got, value, what] of kept) if (!got.equals(value)) fail(`${what} changed after later reads`)
a.close()
b.close()
console.log(`ok reads=${checked}`)
