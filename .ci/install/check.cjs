// The smoke test each runtime runs against the installed package: open, insert, get, the
// async paths (batched getAsync on the libuv pool, for await over an iterator, a subscriber's
// event from the pump thread), close, use after close. Prints one line naming the runtime,
// so CI logs show what ran where. Rejects (and the callers exit non-zero) on any failure.
const { Buffer } = require('node:buffer')
const { mkdtempSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

module.exports = async function check(sled, via) {
  const dir = mkdtempSync(join(tmpdir(), 'sled-node-smoke-'))
  try {
    const db = sled.open(join(dir, 'db'))
    db.insert('hello', 'world')
    const value = db.get('hello')
    if (!Buffer.isBuffer(value) || value.toString() !== 'world') throw new Error(`get returned ${value}`)
    const [again, missing] = await Promise.all([db.getAsync('hello'), db.getAsync('missing')])
    if (String(again) !== 'world' || missing !== undefined) throw new Error(`getAsync returned ${again}, ${missing}`)
    let entries = 0
    for await (const [key] of db.iter()) if (key.toString() === 'hello') entries++
    if (entries !== 1) throw new Error(`for await saw ${entries} entries`)
    const subscriber = db.watchPrefix('')
    const pending = subscriber.next()
    db.insert('event', 'x')
    const event = await pending
    if (event.done || event.value.type !== 'insert' || event.value.key.toString() !== 'event') throw new Error(`subscriber gave ${JSON.stringify(event)}`)
    subscriber.close()
    db.close()
    let closed
    try {
      db.get('hello')
    } catch (error) {
      closed = error
    }
    if (!(closed instanceof sled.SledClosedError)) throw new Error(`use after close threw ${closed}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(`ok ${runtime()} ${process.platform}-${process.arch} via ${via}`)
}

function runtime() {
  if (typeof Bun !== 'undefined') return `bun ${Bun.version}`
  if (typeof Deno !== 'undefined') return `deno ${Deno.version.deno}`
  return `node ${process.version}`
}
