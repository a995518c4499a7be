// The batcher of getAsync / insertAsync / removeAsync on the real addon and the libuv
// pool: every call of one tick must see exactly the calls made before it in that tick,
// however the tick goes out (one task; two halves, the second sent when the first has
// finished; reads sent early at 128, with the tick's writes held until they finish).
// Each tick is a random sequence over a few keys, so calls depend on each other; its
// results are compared with a model that applies the same calls in call order. A
// second chain of ticks, on other keys, starts whenever the first read of an outer tick
// resolves, so ticks are also made while the outer tick's tasks run or wait.
// Roles: 'reads-first' (a tick opens with up to 200 reads, then mixed calls) and
// 'writes-first' (a tick opens with writes, then mixed calls with runs of reads).
'use strict'
const { sled, dir, role, rounds, fail } = require('./common.cjs')

/** mulberry32: a seeded generator, so a failure can be replayed from its seed. */
function rng(seed) {
  let state = seed >>> 0
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) % n
  }
}

// SCENARIO_SEED replays a failed run
const seed = Number(process.env.SCENARIO_SEED ?? (Date.now() ^ (process.pid << 8)) >>> 0)
const below = rng(seed)
const KEYS = 24

function valueFor(tag) {
  // mostly small; now and then larger than the 64 KiB scratch, so the overflow path runs too
  const length = below(50) === 0 ? 70_000 + below(1000) : below(300)
  const value = Buffer.alloc(length, below(256))
  value.write(tag.slice(0, length))
  return value
}

/** A random call on `prefix` keys: [kind, key, value?]. */
function randomCall(prefix, kind, tag) {
  const key = `${prefix}${below(KEYS)}`
  return kind === 'insert' ? ['insert', key, valueFor(tag)] : [kind, key]
}

function writeKind() {
  return below(4) === 0 ? 'remove' : 'insert'
}

/** The calls of one tick for this role. */
function tickCalls(prefix, round) {
  const calls = []
  const push = (kind) => calls.push(randomCall(prefix, kind, `${round}:${calls.length}`))
  if (role === 'reads-first') {
    const reads = below(201)
    for (let i = 0; i < reads; i++) push('get')
  } else {
    const writes = 1 + below(40)
    for (let i = 0; i < writes; i++) push(writeKind())
  }
  const mixed = below(4) === 0 ? below(16) : below(300)
  for (let i = 0; i < mixed; i++) {
    if (below(8) === 0) {
      // a run of reads long enough to reach the early send
      const run = below(2) === 0 ? 130 + below(20) : below(10)
      for (let r = 0; r < run; r++) push('get')
    } else {
      push(below(2) === 0 ? 'get' : writeKind())
    }
  }
  return calls
}

/** Issues `calls` in one tick; their promises, and what the model says each must give. */
function issue(tree, model, calls) {
  const promises = []
  const expected = []
  for (const [kind, key, value] of calls) {
    const before = model.get(key)
    expected.push(before)
    if (kind === 'get') promises.push(tree.getAsync(key))
    else if (kind === 'insert') {
      promises.push(tree.insertAsync(key, value))
      model.set(key, value)
    } else {
      promises.push(tree.removeAsync(key))
      model.delete(key)
    }
  }
  return { promises, expected }
}

const same = (want, have) => (want === undefined ? have === undefined : have !== undefined && want.equals(have))
const show = (v) => (v === undefined ? 'absent' : `${v.length} bytes ${v.subarray(0, 12).toString('hex')}`)

function check(what, calls, expected, got) {
  for (let i = 0; i < calls.length; i++) {
    if (!same(expected[i], got[i])) {
      fail(`seed ${seed}: ${what}, call ${i} of ${calls.length} (${calls[i][0]} ${calls[i][1]}): expected ${show(expected[i])}, got ${show(got[i])}`)
    }
  }
}

async function main() {
  const db = sled.open(`${dir}/db`)
  const tree = db.openTree('order')
  const outer = new Map()
  const inner = new Map()
  let innerBusy = false
  let innerTicks = 0
  let callsChecked = 0
  const innerTick = async (round) => {
    innerBusy = true
    const calls = tickCalls('n', `n${round}`)
    const { promises, expected } = issue(tree, inner, calls)
    check(`inner tick ${round}`, calls, expected, await Promise.all(promises))
    callsChecked += calls.length
    innerTicks++
    innerBusy = false
  }
  const innerRuns = []
  for (let round = 0; round < rounds; round++) {
    const calls = tickCalls('k', round)
    const { promises, expected } = issue(tree, outer, calls)
    const firstRead = calls.findIndex(([kind]) => kind === 'get')
    if (firstRead >= 0) {
      promises[firstRead].then(() => {
        if (!innerBusy) innerRuns.push(innerTick(round))
      })
    }
    check(`tick ${round}`, calls, expected, await Promise.all(promises))
    callsChecked += calls.length
  }
  await Promise.all(innerRuns)
  for (const [model, prefix] of [[outer, 'k'], [inner, 'n']]) {
    for (let k = 0; k < KEYS; k++) {
      const key = `${prefix}${k}`
      const want = model.get(key)
      const have = tree.get(key)
      if (!same(want, have)) fail(`seed ${seed}: ${key} holds ${show(have)} at the end, not ${show(want)}`)
    }
  }
  db.close()
  console.log(`ok ticks=${rounds}+${innerTicks} calls=${callsChecked} seed=${seed}`)
}

main().catch((error) => fail(`seed ${seed}: ${error.stack}`))
