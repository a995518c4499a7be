// Finding 3: process.exit() inside a transaction callback must end the thread, never
// hang. Roles: 'main', 'main-idle-worker', 'main-writing-worker' (the process exits
// with 7; the test then checks what was kept),
// 'worker' (a worker exits inside its transaction; this thread then writes on).
'use strict'
const { sled, dir, role, worker, fail } = require('./common.cjs')
const path = `${dir}/db`

if (role.startsWith('main')) {
  // 'main': no worker; 'main-idle-worker': a worker has the database open and idles;
  // 'main-writing-worker': a worker writes without pause (it waits for sled's lock while
  // the callback runs, and Node must stop it before the process can exit)
  const db = sled.open(path)
  db.insert('flushed', 'yes')
  db.flush()
  const start = () => {
    db.transaction((tx) => {
      tx.insert('inside', 'no')
      process.exit(7)
    })
    fail('the transaction returned after process.exit()')
  }
  if (role === 'main') start()
  else {
    const w = worker(role === 'main-idle-worker'
      ? `const db = sled.open(workerData.path); parentPort.postMessage('ready'); setInterval(() => {}, 1000)`
      : `const db = sled.open(workerData.path); parentPort.postMessage('ready')
let n = 0
const loop = () => { for (let i = 0; i < 100; i++) db.insert('w' + (n++ % 1000), 'v'); setImmediate(loop) }
loop()`, { path })
    w.once('message', () => setTimeout(start, 20))
  }
} else {
  const db = sled.open(path)
  const w = worker(`
const db = sled.open(workerData.path)
db.insert('worker-before', '1')
db.transaction((tx) => { tx.insert('worker-inside', '1'); process.exit(3) })`, { path })
  w.on('error', (e) => fail(`worker error: ${e.stack}`))
  w.on('exit', (code) => {
    if (code !== 3) fail(`worker exit code ${code}`)
    // the transaction lock must be free again: these would hang otherwise
    db.insert('after', '1')
    db.transaction((tx) => tx.insert('after-tx', '1'))
    const kept = ['worker-before', 'worker-inside', 'after', 'after-tx'].map((k) => (db.get(k) === undefined ? '-' : '+'))
    db.close()
    if (kept.join('') !== '+-++') fail(`kept ${kept.join('')}`)
    console.log('ok worker')
  })
}
