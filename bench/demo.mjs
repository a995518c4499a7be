// A tour of sled-node on a temporary database: `npm run demo`.
import { open } from 'sled-node'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'sled-demo-'))
const db = open(join(dir, 'db'))
try {
  db.insert('user:1', JSON.stringify({ name: 'Ada' }))
  db.insert('user:2', JSON.stringify({ name: 'Linus' }))
  db.insert('visits', '0')
  console.log('get user:1 ->', db.get('user:1')?.toString())
  console.log('users ->', db.scanPrefix('user:').toArray().map(([k, v]) => `${k}=${v}`))
  db.updateAndFetch('visits', (old) => String(Number(old ?? 0) + 1))
  console.log('visits ->', db.get('visits')?.toString())
  console.log('cas ->', db.compareAndSwap('visits', '1', '2'), db.compareAndSwap('visits', '1', '3').ok)
  const events = db.openTree('events')
  for (let i = 0; i < 5; i++) events.insert(`2026-11-25T0${i}`, `event ${i}`)
  console.log('last 2 events ->', events.range({ reverse: true, limit: 2 }).toArray().map(([k]) => k.toString()))
  console.log('trees ->', db.treeNames().map(String), 'id ->', db.generateId())
  console.log('flushed bytes ->', db.flush())
} finally {
  db.close()
  rmSync(dir, { recursive: true, force: true })
}
