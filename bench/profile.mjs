// Where sled-node's time goes on one hot path: runs a workload loop under --cpu-prof in a
// child process and prints the functions with the most self time. Native code shows as
// the JS function that entered it (and "(program)" for time in V8/N-API itself); use
// `perf record -g node --perf-basic-prof bench/profile.mjs --child …` for native frames.
// Usage: node bench/profile.mjs [read-rand|read-miss|mixed|fill-rand|scan-full] [seconds=3] [n=100000]

import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const self = fileURLToPath(import.meta.url)
const [mode, ...rest] = process.argv.slice(2)

async function child(workload, seconds, n) {
  const { open } = await import('sled-node')
  const { key, value, pool, shuffled, mixedPool, POOL } = await import('./data.mjs')
  const dir = mkdtempSync(join(tmpdir(), 'sled-prof-'))
  const db = open(join(dir, 'db'))
  if (workload !== 'fill-rand') {
    for (let s = 0; s < n; s += 1000) {
      const b = db.batch()
      for (let i = s; i < Math.min(s + 1000, n); i++) b.insert(key(i), value(42, i, 100))
      db.apply(b)
    }
  }
  const keys = Array.from(pool(44, n, workload === 'read-miss' ? n : 0, POOL), key)
  const { index, write } = mixedPool(42, n, POOL)
  const until = performance.now() + seconds * 1000
  let ops = 0
  if (workload === 'fill-rand') {
    const order = shuffled(42, n)
    const values = order.map((i) => value(42, i, 100))
    const ks = order.map(key)
    for (; ops < n && performance.now() < until; ops++) db.insert(ks[ops], values[ops])
  } else if (workload === 'scan-full') {
    while (performance.now() < until) for (const _ of db.iter()) ops++
  } else if (workload === 'mixed') {
    const v = value(42, 0, 100)
    for (; performance.now() < until; ) for (let j = 0; j < 1000; j++, ops++) {
      const s = ops & (POOL - 1)
      if (write[s]) db.insert(key(index[s]), v)
      else db.get(keys[s])
    }
  } else {
    for (; performance.now() < until; ) for (let j = 0; j < 1000; j++, ops++) db.get(keys[ops & (POOL - 1)])
  }
  db.close()
  rmSync(dir, { recursive: true, force: true })
  console.error(`${workload}: ${Math.round(ops / seconds).toLocaleString('en-US')} ops/s under the profiler`)
}

function summarize(profileFile, top = 15) {
  const { nodes, samples, timeDeltas } = JSON.parse(readFileSync(profileFile, 'utf8'))
  const byId = new Map(nodes.map((node) => [node.id, node]))
  const self = new Map()
  let total = 0
  samples.forEach((id, i) => {
    const { callFrame: f } = byId.get(id)
    const name = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(/^.*\/(dist|bench|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : ''}`
    self.set(name, (self.get(name) ?? 0) + timeDeltas[i])
    total += timeDeltas[i]
  })
  console.log('self time  function')
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(8)}%  ${name}`)
  }
}

if (mode === '--child') {
  await child(rest[0], Number(rest[1]), Number(rest[2]))
} else {
  const [workload = 'read-rand', seconds = '3', n = '100000'] = [mode, ...rest]
  const dir = mkdtempSync(join(tmpdir(), 'sled-cpuprof-'))
  execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, self, '--child', workload, seconds, n], { stdio: 'inherit' })
  summarize(join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))))
  rmSync(dir, { recursive: true, force: true })
}
