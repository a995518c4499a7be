// Finding 2: four never-read subscribers, two threads spinning the CPU, bursts of
// 3,000 inserts: the writer must never block. Roles: 'main' (subscribers and writes
// on the main thread), 'worker-subscribes' (subscribers in a worker, writes on main),
// 'worker-writes' (subscribers on main, writes in a worker).
'use strict'
const { sled, dir, role, rounds, worker, message, fail } = require('./common.cjs')
const path = `${dir}/db`

const spin = new Int32Array(new SharedArrayBuffer(4))
const SPINNER = `
const flag = new Int32Array(workerData.flag)
parentPort.postMessage('spinning')
while (Atomics.load(flag, 0) === 0) {}
parentPort.postMessage('stopped')`

const BURSTS = `
async function bursts(db, rounds) {
  for (let b = 0; b < rounds; b++) {
    for (let i = 0; i < 3000; i++) db.insert('k' + b + ':' + i, 'value ' + i)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return rounds * 3000
}`

async function main() {
  const spinners = [0, 1].map(() => worker(SPINNER, { flag: spin.buffer }))
  // listen at once: a message with no listener yet is lost
  await Promise.all(spinners.map(message))
  const db = sled.open(path)
  const subs = []
  let writes
  if (role === 'worker-subscribes') {
    const w = worker(`
const db = sled.open(workerData.path)
const subs = [0, 1, 2, 3].map(() => db.watchPrefix(''))
parentPort.postMessage('watching')
parentPort.on('message', () => { for (const s of subs) s.close(); db.close(); parentPort.postMessage('closed'); parentPort.close() })`, { path })
    await message(w)
    writes = await new Function(`${BURSTS}; return bursts`)()(db, rounds)
    const closed = message(w)
    w.postMessage('close')
    await closed
  } else {
    for (let i = 0; i < 4; i++) subs.push(db.watchPrefix(''))
    if (role === 'worker-writes') {
      const w = worker(`${BURSTS}
const db = sled.open(workerData.path)
bursts(db, workerData.rounds).then((n) => { db.close(); parentPort.postMessage(n) })`, { path, rounds })
      writes = await message(w)
    } else {
      writes = await new Function(`${BURSTS}; return bursts`)()(db, rounds)
    }
  }
  const stopped = Promise.all(spinners.map(message))
  Atomics.store(spin, 0, 1)
  await stopped
  // the unread subscribers still hold the first events, in order
  for (const s of subs) {
    const first = await s.next()
    if (first.done || String(first.value.key) !== 'k0:0') fail(`first event: ${JSON.stringify(first)}`)
    s.close()
  }
  const n = db.len()
  db.close()
  if (n !== writes) fail(`${n} entries after ${writes} inserts`)
  console.log(`ok ${role} bursts=${rounds} inserts=${writes}`)
}
main().catch((e) => fail(e.stack))
