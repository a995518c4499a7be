// Finding 5: a worker terminated while its openAsync() runs must not keep the file
// lock: once this thread opened and closed the path, no process may find it locked.
'use strict'
const { spawnSync } = require('node:child_process')
const { sled, dir, rounds, worker, sleep, fail } = require('./common.cjs')
const path = `${dir}/db`

/** Whether some open file description holds the database's flock (util-linux flock). */
function locked() {
  const res = spawnSync('flock', ['--nonblock', '--exclusive', `${path}/db`, 'true'])
  if (res.error) fail(`flock: ${res.error.message}`)
  return res.status !== 0
}

async function main() {
  sled.open(path).close()
  let terminatedOpen = 0
  for (let r = 0; r < rounds; r++) {
    const w = worker(`parentPort.postMessage('opening')
sled.openAsync(workerData.path).then((db) => parentPort.postMessage('opened'))`, { path })
    let opened = false
    await new Promise((resolve) => w.once('message', resolve))
    w.on('message', () => (opened = true))
    // from at once (the open on the pool) to a few ms later (the result on its way to JS)
    await sleep(r % 4)
    if (!opened) terminatedOpen++
    await w.terminate()
    const db = sled.open(path)
    db.close()
    if (locked()) fail(`round ${r}: the file lock is still held after close()`)
  }
  console.log(`ok rounds=${rounds} terminated-while-opening=${terminatedOpen}`)
}
main().catch((e) => fail(e.stack))
