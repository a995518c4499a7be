// A watched tree dropped while another thread opens and watches it again: afterwards a new
// handle's subscriber gets its events (a hub of the old tree is never reused), watchPrefix
// never panics, and nothing is printed (the pump's end is quiet). Roles: 'worker-drops'
// (main opens and watches), 'main-drops' (a worker opens and watches), 'single' (one
// thread opens, watches, writes and drops, `rounds` × 20 times).
'use strict'
const { sled, dir, role, rounds, worker, fail } = require('./common.cjs')
const path = `${dir}/db`

const WATCH = `
function watchUntil(sled, db, flag, round) {
  const keep = []
  let panics = 0
  while (Atomics.load(flag, 1) < round) {
    try {
      const t = db.openTree('w')
      keep.push(t, t.watchPrefix(''))
    } catch (e) {
      if (!(e instanceof sled.SledError) || e.code === 'SLED_PANIC') panics++
    }
  }
  for (const k of keep) if (k.close && !k.insert) k.close()
  return panics
}`

const next = (sub) => Promise.race([sub.next(), new Promise((resolve) => setTimeout(() => resolve('TIMEOUT'), 2000))])

async function delivered(db, round) {
  const t = db.openTree('w')
  const sub = t.watchPrefix('')
  t.insert(`after${round}`, 'x')
  const event = await next(sub)
  sub.close()
  return event !== 'TIMEOUT' && String(event.value.key) === `after${round}`
}

async function main() {
  const db = sled.open(path)
  if (role === 'single') {
    for (let i = 0; i < rounds * 20; i++) {
      const t = db.openTree('w')
      t.watchPrefix('')
      t.insert('k', String(i))
      db.dropTree('w')
    }
    if (!(await delivered(db, 0))) fail('no event after the drops')
    db.close()
    console.log(`ok single cycles=${rounds * 20}`)
    return
  }
  // flag[0]: the round the dropper may run; flag[1]: the round it has finished
  const flag = new Int32Array(new SharedArrayBuffer(8))
  let panics = 0
  let lost = 0
  if (role === 'worker-drops') {
    const w = worker(`
const db = sled.open(workerData.path)
const flag = new Int32Array(workerData.flag)
for (let r = 1; ; r++) {
  Atomics.wait(flag, 0, r - 1)
  if (Atomics.load(flag, 0) < 0) break
  db.dropTree('w')
  Atomics.store(flag, 1, r)
}
db.close()`, { path, flag: flag.buffer })
    const watchUntil = new Function(`${WATCH}; return watchUntil`)()
    for (let r = 1; r <= rounds; r++) {
      db.openTree('w').insert('seed', 's')
      Atomics.store(flag, 0, r)
      Atomics.notify(flag, 0)
      panics += watchUntil(sled, db, flag, r)
      if (!(await delivered(db, r))) lost++
    }
    Atomics.store(flag, 0, -1)
    Atomics.notify(flag, 0)
    await new Promise((resolve) => w.once('exit', resolve))
  } else {
    const w = worker(`${WATCH}
const db = sled.open(workerData.path)
const flag = new Int32Array(workerData.flag)
let panics = 0
for (let r = 1; r <= workerData.rounds; r++) {
  Atomics.wait(flag, 0, r - 1)
  panics += watchUntil(sled, db, flag, r)
}
db.close()
parentPort.postMessage(panics)`, { path, flag: flag.buffer, rounds })
    const answer = new Promise((resolve, reject) => {
      w.once('message', resolve)
      w.once('error', reject)
    })
    for (let r = 1; r <= rounds; r++) {
      db.openTree('w').insert('seed', 's')
      Atomics.store(flag, 0, r)
      Atomics.notify(flag, 0)
      // let the worker get going before the drop
      for (let spin = 0; spin < 2000; spin++) Atomics.load(flag, 0)
      db.dropTree('w')
      Atomics.store(flag, 1, r)
      if (!(await delivered(db, r))) lost++
    }
    panics = await answer
  }
  db.close()
  if (panics > 0 || lost > 0) fail(`panics=${panics} rounds with a lost event=${lost}`)
  console.log(`ok ${role} rounds=${rounds}`)
}
main().catch((e) => fail(e.stack))
