// Shared by the scenario scripts: each runs in its own process (started by
// test/concurrency-scenarios.test.ts with a deadline), loads the package from the
// path it is given, and prints `ok …` as its last line when everything held.
'use strict'
const { Worker } = require('node:worker_threads')

const [entry, dir, role = 'main', roundsText = '1'] = process.argv.slice(2)
const rounds = Number(roundsText)
const sled = require(entry)

/** An inline worker with `sled`, `parentPort` and `workerData` (its `data`) in scope. */
function worker(code, data = {}) {
  const script = `'use strict'
const { parentPort, workerData } = require('node:worker_threads')
const sled = require(${JSON.stringify(entry)})
${code}`
  return new Worker(script, { eval: true, workerData: data })
}

/** The next message from `w`, or a rejection if it fails or exits first. */
function message(w) {
  return new Promise((resolve, reject) => {
    const done = () => {
      w.off('message', onMessage)
      w.off('error', reject)
      w.off('exit', onExit)
    }
    const onMessage = (m) => {
      done()
      resolve(m)
    }
    const onExit = (code) => {
      done()
      reject(new Error(`worker exited (${code}) before answering`))
    }
    w.on('message', onMessage)
    w.on('error', reject)
    w.on('exit', onExit)
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function fail(message) {
  console.error(message)
  process.exit(1)
}

module.exports = { sled, entry, dir, role, rounds, worker, message, sleep, fail }
