// Flip or truncate bytes in each file of a closed database (fixed seed, many
// positions); reopening must either succeed with consistent data or throw
// SledCorruptionError / SledIoError — never crash, hang or abort on a panic.
// Each reopen runs in a child process, so a crash would show as a signal, not kill
// the runner. The outcome counts are printed (CI: 8 per file; SLED_SOAK=1: 60 per file).
import { spawnSync } from 'node:child_process'
import { cpSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { open } from 'sled-node'
import { entry } from './helpers/child.js'
import { seededRandom } from './helpers/seeded.js'
import { tempDir } from './helpers/tmp.js'

const CASES_PER_FILE = process.env.SLED_SOAK ? 60 : 8
const seed = Number(process.env.FC_SEED ?? 11)
const N = 3000
const value = (i: number): string => `v${i}:${'y'.repeat(i % 97)}`

const READER = `
const sled = require(${JSON.stringify(entry)})
const value = (i) => 'v' + i + ':' + 'y'.repeat(i % 97)
let out
try {
  const db = sled.open(process.argv[1])
  let present = 0, wrong = 0
  for (const [k, v] of db.iter()) {
    present++
    if (v.toString() !== value(Number(k.toString().slice(1)))) wrong++
  }
  db.close()
  out = { outcome: 'opened', present, wrong }
} catch (e) {
  out = { outcome: 'error', code: e.code, name: e.name, message: String(e.message).slice(0, 200) }
}
process.stdout.write(JSON.stringify(out))
`

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile() && statSync(f).size > 0)
}

describe('corrupted files', () => {
  it('reopen succeeds consistently or fails with SledCorruptionError/SledIoError', () => {
    const base = join(tempDir(), 'db')
    const db = open(base)
    for (let i = 0; i < N; i++) db.insert('k' + String(i).padStart(6, '0'), value(i))
    db.close()

    const targets = files(base)
    // three draws per case: the position, truncate or flip, the bit
    const random = seededRandom(seed, targets.length * CASES_PER_FILE * 3)
    const outcomes = new Map<string, number>()
    const failures: string[] = []
    for (const file of targets) {
      const name = relative(base, file)
      for (let c = 0; c < CASES_PER_FILE; c++) {
        const dir = join(tempDir(), 'db')
        cpSync(base, dir, { recursive: true })
        const target = join(dir, name)
        const size = statSync(target).size
        const at = Math.floor(random() * size)
        const truncate = random() < 0.3
        if (truncate) truncateSync(target, at)
        else {
          const bytes = readFileSync(target)
          bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(random() * 8))
          writeFileSync(target, bytes)
        }
        const what = `${truncate ? 'truncate' : 'flip'} ${name}@${at}`
        const res = spawnSync(process.execPath, ['-e', READER, '--', dir], { encoding: 'utf8', timeout: 30_000 })
        let key: string
        if (res.error || res.signal) {
          key = res.signal ? `killed by ${res.signal}` : `hang/${res.error?.message}`
          failures.push(`${what}: ${key} ${res.stderr.slice(-300)}`)
        } else {
          const r = JSON.parse(res.stdout) as { outcome: string; code?: string; present?: number; wrong?: number; message?: string }
          key = r.outcome === 'opened' ? (r.present === N ? 'opened, all data' : 'opened, data missing') : `error ${r.code}`
          if (r.outcome === 'opened' && r.wrong !== 0) failures.push(`${what}: ${r.wrong} wrong values`)
          if (r.outcome === 'error' && r.code !== 'SLED_CORRUPTION' && r.code !== 'SLED_IO') failures.push(`${what}: ${r.code} ${r.message}`)
        }
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
      }
    }
    console.log('corruption outcomes:', Object.fromEntries(outcomes))
    expect(failures).toEqual([])
  }, 600_000)
})
