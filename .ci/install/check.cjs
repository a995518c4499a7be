// The smoke test each runtime runs against the installed package: open, insert, get, close,
// use after close. Prints one line naming the runtime, so CI logs show what ran where.
const { Buffer } = require('node:buffer')
const { mkdtempSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

module.exports = function check(sled, via) {
  const dir = mkdtempSync(join(tmpdir(), 'sled-node-smoke-'))
  try {
    const db = sled.open(join(dir, 'db'))
    db.insert('hello', 'world')
    const value = db.get('hello')
    if (!Buffer.isBuffer(value) || value.toString() !== 'world') throw new Error(`get returned ${value}`)
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
