// A worker looping on transactions is terminated: terminate() must finish (a termination
// taken out and rethrown by the binding would be cancelled and the worker go on), and the
// worker's handle must be released (the lock free once this thread closes the path).
'use strict'
const { spawnSync } = require('node:child_process')
const { sled, dir, rounds, worker, sleep, fail } = require('./common.cjs')
const path = `${dir}/db`

async function main() {
  for (let r = 0; r < rounds; r++) {
    const body = r % 2
      ? `for (;;) db.transaction((tx) => { tx.insert('t', '1') })`
      : `for (;;) db.transaction((tx) => { for (let i = 0; i < 200; i++) tx.insert('t' + i, String(i)); let x = 0; for (let j = 0; j < 1e5; j++) x += j })`
    const w = worker(`const db = sled.open(workerData.path)
parentPort.postMessage('up')
${body}`, { path })
    await new Promise((resolve) => w.once('message', resolve))
    await sleep(5 + (r % 7) * 7)
    const ended = await Promise.race([w.terminate().then(() => 'ended'), sleep(15000).then(() => 'HANG')])
    if (ended !== 'ended') fail(`round ${r}: terminate() did not finish in 15 s`)
    const db = sled.open(path)
    db.transaction((tx) => tx.insert('main', String(r)))
    db.close()
    const probe = spawnSync('flock', ['--nonblock', '--exclusive', `${path}/db`, 'true'])
    if (probe.status !== 0) fail(`round ${r}: the terminated worker still holds the file lock`)
  }
  console.log(`ok rounds=${rounds}`)
}
main().catch((e) => fail(e.stack))
