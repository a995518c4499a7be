// A key in a SharedArrayBuffer that another thread keeps changing while it is used:
// each call must see one version of it. sled reads a key several times in one call, so
// before the native side copied such keys first, compareAndSwap, transactions, getLt and
// the slow path of a key over 64 KiB tripped sled's assertions (SledPanicError) and left
// keys that iteration found but get() did not, also after a reopen. Roles: 'main-writes'
// (a worker changes the key, the main thread writes with it) and 'worker-writes' (the
// main thread changes the key while a worker writes with it).
'use strict'
const { sled, dir, role, rounds, worker, message, fail } = require('./common.cjs')
const path = `${dir}/db`

const SHORT = 24
const LONG = 70_000
const FIXED = 2000

// changes random bytes of both keys until told to stop (flag[0] = 1)
const MUTATE = `
const flag = new Int32Array(workerData.flag)
const keys = workerData.keys.map((b) => new Uint8Array(b))
parentPort.postMessage('mutating')
let x = 1
while (Atomics.load(flag, 0) === 0) {
  x = (x * 1103515245 + 12345) >>> 0
  const k = keys[x & 1]
  k[(x >>> 8) % Math.min(k.length, 64)] = (x >>> 16) & 0xff
  if ((x & 0xff) < 8) k[0] = x & 1 ? 0x10 : 0xf0
}`

const WRITE = `
${String(writes)}
parentPort.postMessage({ seen: writes(sled, workerData.path, workerData.keys.map((b) => new Uint8Array(b)), workerData.rounds, (p) => parentPort.postMessage({ progress: p })) })`

/** `rounds` rounds of calls with the changing keys; the SledPanicErrors (or other codes) seen. */
function writes(sled, path, [short, long], rounds, progress) {
  const db = sled.open(path)
  const seen = {}
  const attempt = (call) => {
    try {
      call()
    } catch (error) {
      seen[error.code] = (seen[error.code] ?? 0) + 1
    }
  }
  for (let i = 0; i < rounds; i++) {
    // progress, so a hung run shows how far it got (the main thread prints it)
    if (i % 500 === 0 && progress) progress(`round ${i}`)
    attempt(() => db.compareAndSwap(short, undefined, 'cas'))
    attempt(() => db.getLt(short))
    attempt(() => db.getGt(short))
    attempt(() =>
      db.transaction((tx) => {
        tx.insert(short, 'tx')
        tx.remove(short)
        tx.insert(short, 'tx2')
      }),
    )
    if (i % 10 === 0) {
      attempt(() => db.insert(long, 'long'))
      attempt(() => db.remove(long))
    }
  }
  db.close()
  return seen
}

/** Every key iteration finds can be read, and the fixed keys are intact. */
function check(db, label) {
  let iterated = 0
  for (const [key] of db.iter()) {
    iterated++
    if (db.get(key) === undefined) fail(`${label}: iteration found a key get() cannot: ${key.subarray(0, 24).toString('hex')}`)
  }
  for (let i = 0; i < FIXED; i++) {
    if (db.get(Buffer.from([0x80, i >> 8, i & 255]))?.toString() !== 'fixed') fail(`${label}: fixed key ${i} lost`)
  }
  return iterated
}

async function main() {
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const keys = [new SharedArrayBuffer(SHORT), new SharedArrayBuffer(LONG)]
  const db = sled.open(path)
  for (let i = 0; i < FIXED; i++) db.insert(Buffer.from([0x80, i >> 8, i & 255]), 'fixed')
  let seen
  if (role === 'main-writes') {
    const mutator = worker(MUTATE, { flag: flag.buffer, keys })
    await message(mutator)
    seen = writes(sled, path, keys.map((b) => new Uint8Array(b)), rounds, (p) => console.log(`writer ${p}`))
    Atomics.store(flag, 0, 1)
    await mutator.terminate()
  } else {
    const writer = worker(WRITE, { path, keys, rounds })
    // the writer's progress lines, then its result
    const done = new Promise((resolve, reject) => {
      writer.on('message', (m) => (m.progress ? console.log(`writer ${m.progress}`) : resolve(m.seen)))
      writer.on('error', reject)
      writer.on('exit', (code) => reject(new Error(`the writer exited (${code}) before answering`)))
    })
    const views = keys.map((b) => new Uint8Array(b))
    let x = 7
    let finished = false
    done.then(() => (finished = true), () => (finished = true))
    // change the keys between turns of the event loop until the writer is done
    while (!finished) {
      for (let n = 0; n < 20_000; n++) {
        x = (x * 1103515245 + 12345) >>> 0
        const k = views[x & 1]
        k[(x >>> 8) % 64] = (x >>> 16) & 0xff
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    seen = await done
    await writer.terminate()
  }
  if (Object.keys(seen).length > 0) fail(`errors during the writes: ${JSON.stringify(seen)}`)
  console.log('writes done; checking')
  const live = check(db, 'live')
  db.close()
  console.log('closed; reopening')
  const again = sled.open(path)
  const reopened = check(again, 'after reopen')
  again.close()
  if (live !== reopened) fail(`${live} keys before close, ${reopened} after reopen`)
  console.log(`ok keys=${live}`)
}

main().catch((error) => fail(error.stack))
