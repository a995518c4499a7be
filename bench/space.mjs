// Disk and memory of a 1,000,000-entry load (the harness's shape: 16-byte keys, 100-byte
// values, batches of 1,000), for the README's limits section: sled-node's size on disk
// after the load and after close (flushed), and the process's peak RSS, against the raw
// data size and cacheCapacity; then the time of a db.backup() of it (no writers).
// Usage: node bench/space.mjs [entries] [cacheCapacityBytes]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from 'sled-node'

const entries = Number(process.argv[2] ?? 1_000_000)
const cacheCapacity = Number(process.argv[3] ?? 1024 ** 3)
const dir = mkdtempSync(join(tmpdir(), 'sled-node-space-'))
const path = join(dir, 'db')
const value = Buffer.alloc(100, 7)
const key = (i) => Buffer.from(String(i * 2654435761 % 4294967296).padStart(16, '0'))
let peakRss = 0
const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage.rss()))
const started = Date.now()
const db = open(path, { cacheCapacity })
for (let from = 0; from < entries; from += 1000) {
  const batch = db.batch()
  for (let i = from; i < Math.min(entries, from + 1000); i++) batch.insert(key(i), value)
  db.apply(batch)
  if (from % 50_000 === 0) sample()
}
db.flush()
sample()
const loaded = { sizeOnDisk: db.sizeOnDisk(), rss: process.memoryUsage.rss() }
const backup = await db.backup(join(dir, 'copy'))
sample()
db.close()
const du = Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0])
const raw = entries * (16 + 100)
const mb = (n) => `${(n / 1e6).toFixed(0)} MB`
console.log(JSON.stringify({ entries, cacheCapacity, raw, ...loaded, duAfterClose: du, peakRss, backup, seconds: (Date.now() - started) / 1000 }))
console.log(
  `${entries} entries (${mb(raw)} of keys and values), cacheCapacity ${mb(cacheCapacity)}: ` +
    `sizeOnDisk ${mb(loaded.sizeOnDisk)} (${(loaded.sizeOnDisk / raw).toFixed(1)}x), ` +
    `du after close ${mb(du)} (${(du / raw).toFixed(1)}x), peak RSS ${mb(peakRss)}; ` +
    `backup of it ${(backup.durationMs / 1000).toFixed(1)} s (pause ${backup.pauseMs.toFixed(2)} ms)`,
)
rmSync(dir, { recursive: true, force: true })
