// Subscriber throughput: events/s delivered to a `for await` consumer while one
// writer inserts under the watched prefix, next to the same writes with no subscriber.
// Usage: node bench/subscriber.mjs [n=100000]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from 'sled-node'

const n = Number(process.argv[2] ?? 100_000)
const dir = mkdtempSync(join(tmpdir(), 'sled-sub-'))
const value = Buffer.alloc(100, 1)
const key = (i) => Buffer.from(`e:${String(i).padStart(12, '0')}`)

try {
  const db = open(join(dir, 'db'))
  let t = process.hrtime.bigint()
  for (let i = 0; i < n; i++) db.insert(key(i), value)
  const plain = n / (Number(process.hrtime.bigint() - t) / 1e9)
  db.clear()

  const sub = db.watchPrefix('e:', { highWaterMark: n + 1 })
  t = process.hrtime.bigint()
  const consumed = (async () => {
    let seen = 0
    for await (const _ of sub) if (++seen === n) break
    return seen
  })()
  // write in slices so the consumer runs concurrently, as it would in an app
  for (let i = 0; i < n; ) {
    for (const end = Math.min(n, i + 1000); i < end; i++) db.insert(key(i), value)
    await new Promise((r) => setImmediate(r))
  }
  const writeSecs = Number(process.hrtime.bigint() - t) / 1e9
  const seen = await consumed
  const totalSecs = Number(process.hrtime.bigint() - t) / 1e9
  db.close()
  console.log(`n=${n}`)
  console.log(`  inserts without a subscriber   ${(plain / 1e3).toFixed(0)}k/s`)
  console.log(`  inserts with a subscriber      ${(n / writeSecs / 1e3).toFixed(0)}k/s   ratio ${(n / writeSecs / plain).toFixed(2)}`)
  console.log(`  events delivered to for-await  ${(seen / totalSecs / 1e3).toFixed(0)}k/s (${seen} events)`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
