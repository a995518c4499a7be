// Found in a re-read of the iterator's locks: an async iteration's chunk read on the pool
// holds the iterator's cursor while it steps sled's iterator, and each step waits while a
// transaction holds sled's transaction lock. A transaction callback that closed that
// iterator (close(), return(), a `break` in a for await) waited for the cursor, so the callback never
// ended and neither did the read: the thread hung (3 of 3 runs of one round). Each round
// here has a 4,096-entry read running on the pool (a step's, or one read ahead during
// async iteration), then, after a varying delay, runs a transaction whose callback waits
// a varying while and closes the iterator. Roles: 'main'
// (all on the main thread) or 'worker' (all in a worker, while the main thread writes).
'use strict'
const { sled, dir, role, rounds, worker, message, fail } = require('./common.cjs')

const ROUNDS = `
async function closeInTransactions(sled, path, rounds) {
  const db = sled.open(path)
  const b = db.batch()
  for (let i = 0; i < 20000; i++) b.insert('k' + String(i).padStart(6, '0'), Buffer.alloc(100, i % 251))
  db.apply(b)
  const ways = { close: 0, return: 0, asyncReturn: 0 }
  for (let r = 0; r < rounds; r++) {
    const gte = 'k' + String((r * 997) % 15000).padStart(6, '0')
    // odd rounds: a step waits for a 4,096-entry read; even rounds: no step waits, but
    // the chunk after the 1,024 entries just taken is being read ahead
    const ahead = r % 2 === 0
    const it = db.range(ahead ? { gte } : { gte, limit: 4096 })
    const steps = it[Symbol.asyncIterator]()
    let pending
    if (ahead) {
      for (let i = 0; i < 16 + 64 + 256 + 1024; i++) await steps.next()
      pending = Promise.resolve({ done: true })
    } else {
      pending = steps.next() // the whole range, read on the pool
    }
    for (let i = (r >> 1) % 4; i > 0; i--) await null
    const way = ['close', 'return', 'asyncReturn'][r % 3]
    const until = Date.now() + ((r >> 1) % 5)
    db.transaction((tx) => {
      tx.insert('t', String(r))
      while (Date.now() < until) {}
      if (way === 'close') it.close()
      else if (way === 'return') it.return()
      else void steps.return() // what a break in a for await calls
    })
    ways[way]++
    const first = await pending
    if (!first.done) throw new Error('round ' + r + ': a step made before ' + way + ' yielded an entry after it')
    const later = await steps.next()
    if (!later.done || !it.next().done) throw new Error('round ' + r + ': the iterator went on after ' + way)
  }
  db.close()
  // sled's iterators are all gone: the path opens again (in this process, and its file lock is free)
  sled.open(path).close()
  return ways
}`

async function main() {
  const path = `${dir}/db`
  let ways
  if (role === 'worker') {
    const w = worker(`${ROUNDS}
closeInTransactions(sled, workerData.path, workerData.rounds).then((ways) => parentPort.postMessage(ways), (e) => parentPort.postMessage({ error: e.stack }))`, { path, rounds })
    const answer = message(w)
    // the main thread writes to its own database meanwhile
    const other = sled.open(`${dir}/other`)
    let done = false
    answer.then(() => (done = true), () => (done = true))
    for (let i = 0; !done; i++) {
      other.insert(`k${i % 1000}`, 'v')
      if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    other.close()
    ways = await answer
    if (ways.error) fail(ways.error)
  } else {
    ways = await new Function(`${ROUNDS}; return closeInTransactions`)()(sled, path, rounds)
  }
  console.log(`ok ${role} rounds=${rounds} ${JSON.stringify(ways)}`)
}
main().catch((e) => fail(e.stack))
