// Micro-benchmark: full-scan entries/s through sled-node's chunked iterator, next to
// the same scan in Rust directly on sled (crates/sled-native). Prints the ratio.
// Usage: node bench/scan.mjs [n=100000] [rounds=7]

import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from 'sled-node'
import { key, value } from './data.mjs'

const n = Number(process.argv[2] ?? 100_000)
const rounds = Number(process.argv[3] ?? 7)
const seed = 42
const native = new URL('../target/release/sled-native', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'sled-scan-'))

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

try {
  const db = open(join(dir, 'node'))
  for (let i = 0; i < n; i++) db.insert(key(i), value(seed, i, 100))
  const syncRates = []
  const asyncRates = []
  for (let r = 0; r < rounds; r++) {
    let t = process.hrtime.bigint()
    let count = 0
    for (const _ of db.iter()) count++
    syncRates.push(count / (Number(process.hrtime.bigint() - t) / 1e9))
    t = process.hrtime.bigint()
    count = 0
    for await (const _ of db.iter()) count++
    asyncRates.push(count / (Number(process.hrtime.bigint() - t) / 1e9))
    if (count !== n) throw new Error(`scan saw ${count} entries, expected ${n}`)
  }
  db.close()
  const nativeRates = []
  for (let r = 0; r < rounds; r++) {
    const out = execFileSync(native, ['scan-full', join(dir, `native-${r}`), String(n)], { encoding: 'utf8' })
    nativeRates.push(JSON.parse(out).opsPerSec)
  }
  const [s, a, nat] = [median(syncRates), median(asyncRates), median(nativeRates)]
  const fmt = (x) => `${(x / 1e6).toFixed(2)} M entries/s`
  console.log(`scan-full, n=${n}, median of ${rounds}`)
  console.log(`  sled-native          ${fmt(nat)}`)
  console.log(`  sled-node for…of     ${fmt(s)}   ratio ${(s / nat).toFixed(2)}`)
  console.log(`  sled-node for await  ${fmt(a)}   ratio ${(a / nat).toFixed(2)}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
