// Finding 1: subscribers opened and closed while another thread writes to the same
// path without pause must never freeze the writer or the next watchPrefix.
// role: 'main-writes' (subscribers churn in a worker) or 'worker-writes'.
'use strict'
const { sled, dir, role, rounds, worker, message, sleep, fail } = require('./common.cjs')
const path = `${dir}/db`

// 5,000 inserts per 1 ms timer tick until told to stop; reports how many it made
const WRITER = `
const db = sled.open(workerData.path)
let n = 0
let stop = false
parentPort.on('message', (m) => { if (m === 'stop') stop = true })
const tick = () => {
  if (stop) { db.close(); parentPort.postMessage(n); parentPort.close(); return }
  for (let i = 0; i < 5000; i++, n++) db.insert('k' + (n % 50000), 'v' + n)
  setTimeout(tick, 1)
}
parentPort.postMessage('started')
tick()`

// opens watchPrefix('') and watchPrefix('k'), waits 5 ms, closes both; `rounds` times
const CHURN = `
async function churn(db, rounds) {
  for (let r = 0; r < rounds; r++) {
    const all = db.watchPrefix('')
    const ks = db.watchPrefix('k')
    await new Promise((resolve) => setTimeout(resolve, 5))
    all.close()
    ks.close()
  }
}`

async function main() {
  const db = sled.open(path)
  let writes
  if (role === 'worker-writes') {
    const w = worker(WRITER, { path })
    if ((await message(w)) !== 'started') fail('writer did not start')
    // eslint-disable-next-line no-new-func
    const churn = new Function(`${CHURN}; return churn`)()
    await churn(db, rounds)
    const done = message(w)
    w.postMessage('stop')
    writes = await done
  } else {
    const w = worker(`${CHURN}
const db = sled.open(workerData.path)
churn(db, workerData.rounds).then(() => { db.close(); parentPort.postMessage('done') })`, { path, rounds })
    // this thread writes: the worker's subscribers churn meanwhile
    let n = 0
    let finished = false
    message(w).then(() => (finished = true), (e) => fail(String(e)))
    while (!finished) {
      for (let i = 0; i < 5000; i++, n++) db.insert('k' + (n % 50000), 'v' + n)
      await sleep(1)
    }
    writes = n
  }
  // still alive afterwards: a new subscriber sees a new write
  const sub = db.watchPrefix('k')
  db.insert('k-final', 'x')
  const event = await sub.next()
  if (event.done || String(event.value.key) !== 'k-final') fail(`no event after the churn: ${JSON.stringify(event)}`)
  sub.close()
  db.close()
  if (!(writes > 0)) fail('the writer made no writes')
  console.log(`ok ${role} rounds=${rounds} writes=${writes}`)
}
main().catch((e) => fail(e.stack))
