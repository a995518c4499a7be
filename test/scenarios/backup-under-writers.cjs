// db.backup() of a live database (>= 200,000 entries) while two workers move amounts
// between the accounts of trees 'a' and 'b' in transactions (the sum is invariant) and
// a third writer applies batches to tree 'bulk'. The copy must equal the initial state
// plus a prefix of the commit order:
// - every transaction takes the next number of a counter (`~seq` in 'a') and logs
//   itself under `~log:<seq>` in the same transaction: the logged numbers in the copy
//   must be exactly 1..m (m = the copy's counter), and the copy's accounts must equal
//   the initial ones with the transfers 1..m (from the workers' own logs) replayed;
// - batch j writes its keys and `~log:<j>` at once: the copy holds batches 1..p exactly,
//   and its 'bulk' equals the initial one with batches 1..p replayed;
// - one instant for both: the batch writer reads the counter just before (`before`) and
//   just after (`after`) each batch, so batch p committed after transaction `before(p)`
//   (m >= before(p)) and batch p+1 before any transaction numbered above `after(p+1)`
//   (m <= after(p+1)).
// Also: the writers kept committing after the backup; the longest single write (the
// pause they saw) is printed. Roles: 'main-backs-up' (writers are workers) or
// 'worker-backs-up' (the backup runs in a worker; the batch writer is the main thread).
'use strict'
const { sled, dir, role, rounds, worker, message, sleep, fail } = require('./common.cjs')

const ACCOUNTS = 500
const START = 1000
const BULK = 200_000
const ENC = { keyEncoding: 'utf8', valueEncoding: 'utf8' }

/** Runs in the workers (as source text): the two writer kinds. */
const WRITERS = `
const ENC = ${JSON.stringify(ENC)}
const ACCOUNTS = ${ACCOUNTS}
const acct = (i) => 'acct:' + String(i).padStart(5, '0')
function rng(seed) {
  let s = seed >>> 0
  return () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24)
}
// 0.1 ms between operations: on 2 cores, three writers that never rest starve the copy
// (every sled call waits for sled's process-wide lock behind the transactions)
function pace(flag) {
  Atomics.wait(flag, 0, 0, 0.1)
}
function transfers(sled, db, id, flag, counters) {
  const a = db.openTree('a', ENC)
  const b = db.openTree('b', ENC)
  const random = rng(id * 7919 + 1)
  const log = []
  const longest = [0, 0]
  while (Atomics.load(flag, 0) === 0) {
    const from = random() < 0.5 ? 0 : 1
    const i = Math.floor(random() * ACCOUNTS)
    const j = Math.floor(random() * ACCOUNTS)
    const amount = 1 + Math.floor(random() * 5)
    const t0 = performance.now()
    const entry = sled.transaction([a, b], ([ta, tb]) => {
      const [src, dst] = from === 0 ? [ta, tb] : [tb, ta]
      const have = Number(src.get(acct(i)))
      const moved = Math.min(have, amount)
      src.insert(acct(i), String(have - moved))
      dst.insert(acct(j), String(Number(dst.get(acct(j))) + moved))
      const seq = Number(ta.get('~seq') ?? '0') + 1
      ta.insert('~seq', String(seq))
      ta.insert('~log:' + String(seq).padStart(9, '0'), id + ' ' + from + ' ' + i + ' ' + j + ' ' + moved)
      return { seq, from, i, j, moved }
    })
    const phase = Atomics.load(flag, 1)
    longest[phase] = Math.max(longest[phase], performance.now() - t0)
    log.push(entry)
    Atomics.add(counters, id, 1)
    pace(flag)
  }
  return { log, longest }
}
function batches(sled, db, flag, counters, slice = Infinity) {
  const a = db.openTree('a', ENC)
  const bulk = db.openTree('bulk', ENC)
  const random = rng(4242 + (batches.next || 0))
  const log = batches.log || (batches.log = [])
  const longest = batches.longest || [0, 0]
  for (let n = 0; n < slice && Atomics.load(flag, 0) === 0; n++) {
    const j = log.length + 1
    const batch = bulk.batch()
    const writes = []
    for (let k = 0; k < 20; k++) {
      const key = 'k' + String(Math.floor(random() * ${BULK})).padStart(7, '0')
      const remove = random() < 0.2
      if (remove) batch.remove(key)
      else batch.insert(key, 'b' + j)
      writes.push([key, remove ? null : 'b' + j])
    }
    batch.insert('~log:' + String(j).padStart(9, '0'), 'batch')
    const before = Number(a.get('~seq') ?? '0')
    const t0 = performance.now()
    bulk.apply(batch)
    const phase = Atomics.load(flag, 1)
    longest[phase] = Math.max(longest[phase], performance.now() - t0)
    const after = Number(a.get('~seq') ?? '0')
    log.push({ j, before, after, writes })
    Atomics.add(counters, 2, 1)
    if (slice === Infinity) pace(flag)
  }
  batches.longest = longest
  return { log, longest }
}`

// the main thread runs the batch writer in the 'worker-backs-up' role
const writers = new Function('sled', 'performance', `${WRITERS}; return { transfers, batches }`)(sled, performance)
const acct = (i) => `acct:${String(i).padStart(5, '0')}`

function seed(db) {
  const a = db.openTree('a', ENC)
  const b = db.openTree('b', ENC)
  const bulk = db.openTree('bulk', ENC)
  for (const tree of [a, b]) {
    const batch = tree.batch()
    for (let i = 0; i < ACCOUNTS; i++) batch.insert(acct(i), String(START))
    tree.apply(batch)
  }
  for (let from = 0; from < BULK; from += 10_000) {
    const batch = bulk.batch()
    for (let i = from; i < from + 10_000; i++) batch.insert(`k${String(i).padStart(7, '0')}`, `v${i}`)
    bulk.apply(batch)
  }
}

function read(tree) {
  const out = new Map()
  for (const [k, v] of tree.iter()) out.set(k, v)
  return out
}

function check(copyPath, txLogs, batchLog, result) {
  const copy = sled.open(copyPath, ENC)
  try {
    const a = read(copy.openTree('a'))
    const b = read(copy.openTree('b'))
    const bulk = read(copy.openTree('bulk'))
    const names = copy.treeNames().map(String).sort()
    if (names.join() !== ['__sled__default', 'a', 'b', 'bulk'].join()) fail(`trees in the copy: ${names}`)
    // transactions: exactly 1..m, replayed
    const m = Number(a.get('~seq') ?? '0')
    const logged = [...a.keys()].filter((k) => k.startsWith('~log:'))
    if (logged.length !== m) fail(`the copy's counter is ${m} but it logs ${logged.length} transactions`)
    const bySeq = new Map()
    for (const log of txLogs) for (const e of log) bySeq.set(e.seq, e)
    const accounts = [new Map(), new Map()]
    for (let i = 0; i < ACCOUNTS; i++) for (const t of accounts) t.set(acct(i), START)
    for (let s = 1; s <= m; s++) {
      const e = bySeq.get(s)
      if (!e) fail(`transaction ${s} is in the copy but no worker committed it`)
      if (!a.has(`~log:${String(s).padStart(9, '0')}`)) fail(`the copy lacks the log of transaction ${s} of 1..${m}`)
      const [src, dst] = e.from === 0 ? accounts : [accounts[1], accounts[0]]
      src.set(acct(e.i), src.get(acct(e.i)) - e.moved)
      dst.set(acct(e.j), dst.get(acct(e.j)) + e.moved)
    }
    let sum = 0
    for (const [t, tree] of [[accounts[0], a], [accounts[1], b]]) {
      for (const [k, v] of t) {
        if (Number(tree.get(k)) !== v) fail(`${k}: the copy has ${tree.get(k)}, the replay of 1..${m} gives ${v}`)
        sum += Number(tree.get(k))
      }
    }
    if (sum !== 2 * ACCOUNTS * START) fail(`the sum in the copy is ${sum}`)
    // batches: exactly 1..p, replayed
    const p = [...bulk.keys()].filter((k) => k.startsWith('~log:')).length
    const expected = new Map()
    for (let i = 0; i < BULK; i++) expected.set(`k${String(i).padStart(7, '0')}`, `v${i}`)
    for (const e of batchLog.slice(0, p)) {
      for (const [key, value] of e.writes) value === null ? expected.delete(key) : expected.set(key, value)
      expected.set(`~log:${String(e.j).padStart(9, '0')}`, 'batch')
    }
    if (bulk.size !== expected.size) fail(`'bulk' in the copy has ${bulk.size} entries, the replay of batches 1..${p} ${expected.size}`)
    for (const [k, v] of expected) if (bulk.get(k) !== v) fail(`bulk ${k}: the copy has ${bulk.get(k)}, the replay of 1..${p} gives ${v}`)
    // one instant for both kinds
    if (p > 0 && m < batchLog[p - 1].before) fail(`batch ${p} is in the copy, transaction ${batchLog[p - 1].before} (committed before it) is not (m=${m})`)
    if (p < batchLog.length && m > batchLog[p].after) fail(`batch ${p + 1} is not in the copy, transaction ${m} (committed after it) is`)
    const entries = a.size + b.size + bulk.size
    if (entries !== result.entries) fail(`backup() reported ${result.entries} entries, the copy has ${entries}`)
    return { m, p, entries }
  } finally {
    copy.close()
  }
}

async function once(round) {
  // [stop, backup running]
  const flag = new Int32Array(new SharedArrayBuffer(8))
  const counters = new Int32Array(new SharedArrayBuffer(12))
  // a fresh database each round: the check replays from the seeded state
  const path = `${dir}/db-${round}`
  const db = sled.open(path, ENC)
  seed(db)
  const copyPath = `${dir}/copy-${round}`
  const txWorkers = [0, 1].map((id) =>
    worker(`${WRITERS}
const db = sled.open(workerData.path)
parentPort.postMessage(transfers(sled, db, workerData.id, workerData.flag, workerData.counters))
db.close()`, { path, id, flag, counters }),
  )
  const txDone = txWorkers.map(message)
  let batchDone
  let result
  const started = () => Atomics.load(counters, 0) > 0 && Atomics.load(counters, 1) > 0 && Atomics.load(counters, 2) > 0
  if (role === 'main-backs-up') {
    batchDone = message(worker(`${WRITERS}
const db = sled.open(workerData.path)
parentPort.postMessage(batches(sled, db, workerData.flag, workerData.counters))
db.close()`, { path, flag, counters }))
    while (!started()) await sleep(5)
    Atomics.store(flag, 1, 1)
    result = await db.backup(copyPath)
    Atomics.store(flag, 1, 0)
  } else {
    const backer = worker(`
const db = sled.open(workerData.path)
db.backup(workerData.copyPath).then((r) => { db.close(); parentPort.postMessage(r) }, (e) => { db.close(); parentPort.postMessage({ error: String(e.stack) }) })`, { path, copyPath })
    Atomics.store(flag, 1, 1)
    const backed = message(backer)
    let finished = false
    backed.then(() => (finished = true), () => (finished = true))
    // the main thread writes batches in slices so that messages still arrive
    while (!finished) {
      writers.batches(sled, db, flag, counters, 20)
      await sleep(0)
    }
    result = await backed
    Atomics.store(flag, 1, 0)
    if (result.error) fail(result.error)
    batchDone = Promise.resolve(null)
  }
  // the writers go on after the backup
  const after = [0, 1, 2].map((i) => Atomics.load(counters, i))
  const deadline = Date.now() + 10_000
  while ([0, 1, 2].some((i) => Atomics.load(counters, i) <= after[i] + 3)) {
    if (Date.now() > deadline) fail(`the writers stopped after the backup: ${after} -> ${[...counters]}`)
    if (role === 'worker-backs-up') writers.batches(sled, db, flag, counters, 5)
    await sleep(5)
  }
  Atomics.store(flag, 0, 1)
  const tx = await Promise.all(txDone)
  const batchResult = (await batchDone) ?? { log: writers.batches.log, longest: writers.batches.longest }
  db.close()
  const checked = check(copyPath, tx.map((t) => t.log), batchResult.log, result)
  const longest = (phase) => Math.max(batchResult.longest[phase], ...tx.map((t) => t.longest[phase]))
  console.log(
    `round ${round}: ${checked.entries} entries in ${result.durationMs.toFixed(0)} ms, pauseMs ${result.pauseMs.toFixed(2)}, ` +
      `longest write seen by the writers ${longest(1).toFixed(1)} ms during the backup (${longest(0).toFixed(1)} ms outside it); the copy holds transactions 1..${checked.m} of ${tx.reduce((n, t) => n + t.log.length, 0)} and batches 1..${checked.p} of ${batchResult.log.length}`,
  )
  writers.batches.log = undefined
  writers.batches.longest = undefined
  writers.batches.next = round + 1
}

async function main() {
  for (let r = 0; r < rounds; r++) await once(r)
  console.log(`ok ${role}`)
}

main().catch((e) => fail(e.stack))
