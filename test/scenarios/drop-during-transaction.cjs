// Finding 4: a transaction callback that reads `closed`, makes a batch, sets a merge
// operator and calls merge() while another thread drops and re-creates that tree must
// never deadlock; everything it throws is a typed error. Roles: 'main-transacts'
// (a worker drops) or 'worker-transacts'.
'use strict'
const { sled, dir, role, rounds, worker, message, fail } = require('./common.cjs')
const path = `${dir}/db`

const TRANSACT = `
function transact(sled, db, rounds) {
  const seen = {}
  for (let r = 0; r < rounds; r++) {
    let tree
    try { tree = db.openTree('t') } catch (e) { seen[e.code] = (seen[e.code] || 0) + 1; continue }
    try {
      tree.transaction((tx) => {
        tx.insert('k', 'v')
        void tree.closed
        try { tree.batch() } catch (e) { if (!(e instanceof sled.SledError)) throw e; seen[e.code] = (seen[e.code] || 0) + 1 }
        try { tree.setMergeOperator((k, old, v) => v) } catch (e) { if (!(e instanceof sled.SledError)) throw e; seen[e.code] = (seen[e.code] || 0) + 1 }
        try { tree.merge('k', 'v') } catch (e) { if (!(e instanceof sled.SledError)) throw e; seen[e.code] = (seen[e.code] || 0) + 1 }
      })
    } catch (e) {
      if (!(e instanceof sled.SledError)) throw e
      seen[e.code] = (seen[e.code] || 0) + 1
    }
  }
  return seen
}`

const DROP = `
function drop(db, flag) {
  let n = 0
  while (Atomics.load(flag, 0) === 0) { db.dropTree('t'); db.openTree('t'); n++ }
  return n
}`

async function main() {
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const db = sled.open(path)
  let seen
  let drops
  if (role === 'worker-transacts') {
    const w = worker(`${TRANSACT}
const db = sled.open(workerData.path)
const seen = transact(sled, db, workerData.rounds)
db.close()
parentPort.postMessage(seen)`, { path, rounds })
    const result = message(w)
    // drop on this thread in slices, so the worker's answer can arrive
    let done = false
    result.then(() => (done = true), () => (done = true))
    drops = 0
    while (!done) {
      for (let i = 0; i < 50; i++, drops++) {
        db.dropTree('t')
        db.openTree('t')
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    seen = await result
  } else {
    const w = worker(`${DROP}
const db = sled.open(workerData.path)
parentPort.postMessage('dropping')
const n = drop(db, new Int32Array(workerData.flag))
db.close()
parentPort.postMessage(n)`, { path, flag: flag.buffer })
    await message(w)
    const answer = message(w)
    seen = new Function(`${TRANSACT}; return transact`)()(sled, db, rounds)
    Atomics.store(flag, 0, 1)
    drops = await answer
  }
  db.close()
  console.log(`ok ${role} rounds=${rounds} drops=${drops} errors=${JSON.stringify(seen)}`)
}
main().catch((e) => fail(e.stack))
