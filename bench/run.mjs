// `npm run bench [-- --quick] [--only ids] [--value-size bytes] [--time ms]`
// Runs every (contender × workload) of BENCH.md, each in a fresh child process with a
// fresh directory under os.tmpdir(), prints a table per workload, writes
// bench/results/<date>-<quick|full>.json, the SVG chart beside it and bench/RESULTS.md.

import { parseArgs } from 'node:util'
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir, loadavg } from 'node:os'
import { join } from 'node:path'
import { WORKLOADS, CONTENDERS, SEED } from './plan.mjs'
import { loadAdapter } from './adapter.mjs'
import { ensureBinary } from './binaries.mjs'
import { runChild } from './spawn.mjs'
import { runNative } from './native.mjs'
import { machine } from './meta.mjs'
import { progress } from './progress.mjs'
import { printTables, writeReport } from './report.mjs'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'value-size': { type: 'string', default: '100' },
    time: { type: 'string' },
    note: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (flags.help) {
  console.log(`usage: npm run bench -- [--quick] [--only <ids,…>] [--value-size <bytes>] [--time <ms>]
  --quick        N = 100,000 entries instead of 1,000,000
  --only         comma-separated contender and/or workload ids
                 contenders: ${CONTENDERS.map((c) => c.id).join(', ')}
                 workloads:  ${WORKLOADS.map((w) => w.id).join(', ')}
  --value-size   value bytes (default 100; BENCH.md also uses 1024 and 16384)
  --time         ms of timed work per task (default 500 quick, 1000 full)
  --note         text saved with the results and shown in RESULTS.md (e.g. machine conditions)`)
  process.exit(0)
}

const quick = flags.quick
const n = quick ? 100_000 : 1_000_000
const valueSize = Number(flags['value-size'])
// short tasks keep the run within budget (quick < 10 min, full ~40 min on 2 busy cores):
// loading N entries per cell, not the timed part, is most of a cell's time
const time = Number(flags.time ?? (quick ? 500 : 1000))
if (!(valueSize > 0) || !(time > 0)) throw new Error('--value-size and --time must be positive numbers')
const only = flags.only?.split(',').map((s) => s.trim()).filter(Boolean) ?? []
const known = new Set([...WORKLOADS.map((w) => w.id), ...CONTENDERS.map((c) => c.id)])
for (const id of only) if (!known.has(id)) throw new Error(`--only: unknown id ${id}`)
const pick = (list) => (list.some((x) => only.includes(x.id)) ? list.filter((x) => only.includes(x.id)) : list)
const workloads = pick(WORKLOADS)
const contenders = pick(CONTENDERS)
// a cell that takes longer than this is stuck, not slow
const timeoutMs = (quick ? 3 : 15) * 60_000

const started = Date.now()
const skipped = []
const results = []
const available = []
console.error(`sled-node benchmark: N=${n}, value ${valueSize} B, ${time} ms per task, ${quick ? 'quick' : 'full'} run`)
for (const c of contenders) {
  const reason = c.id === 'sled-native' ? ensureBinary('sled-native') : await (await loadAdapter(c.id)).probe()
  if (reason) {
    console.error(`skipped ${c.id}: ${reason}`)
    skipped.push({ contender: c.id, reason })
  } else available.push(c)
}

const cells = workloads.flatMap((w) => available.map((c) => ({ workload: w.id, contender: c.id })))
const bar = progress(cells.length)
const root = mkdtempSync(join(tmpdir(), 'sled-bench-'))
try {
  for (const cell of cells) {
    const label = `${cell.contender} × ${cell.workload}`
    bar.cell(label)
    const dir = mkdtempSync(join(root, 'cell-'))
    const cfg = { ...cell, n, valueSize, seed: SEED, time, dir: join(dir, 'db') }
    const cellStart = Date.now()
    const outcome = cell.contender === 'sled-native' ? await runNative(cfg, timeoutMs) : await runChild(cfg, timeoutMs, bar.phase)
    rmSync(dir, { recursive: true, force: true })
    if (outcome.type === 'result') {
      // cellSeconds: the whole cell (process, load, warmup, timing), for planning run times;
      // load1: the machine's 1-minute load average as the cell ends — on a shared machine,
      // a cell that ran while others were busy shows it here
      const cellSeconds = Math.round((Date.now() - cellStart) / 100) / 10
      const load1 = Math.round(loadavg()[0] * 10) / 10
      results.push({ contender: cell.contender, workload: cell.workload, ...outcome.result, cellSeconds, load1 })
      bar.finish(label, `${Math.round(outcome.result.opsPerSec).toLocaleString('en-US')} ops/s`)
    } else {
      const reason = outcome.type === 'skip' ? outcome.reason : `failed: ${outcome.reason}`
      skipped.push({ ...cell, reason })
      bar.log(`skipped ${label}: ${reason}`)
      bar.finish(label, 'skipped')
    }
  }
} finally {
  bar.stop()
  rmSync(root, { recursive: true, force: true })
}

const date = new Date()
const run = {
  date: date.toISOString().replace(/\.\d+Z$/, 'Z'),
  ...machine(),
  quick,
  n,
  valueSize,
  timePerTaskMs: time,
  seconds: Math.round((Date.now() - started) / 1000),
  only: only.length ? only : undefined,
  note: flags.note,
  results,
  skipped,
}
printTables(run)
const dirOut = new URL('./results/', import.meta.url).pathname
mkdirSync(dirOut, { recursive: true })
const suffix = [quick ? 'quick' : 'full', valueSize !== 100 ? `v${valueSize}` : '', only.length ? 'partial' : ''].filter(Boolean).join('-')
const jsonPath = join(dirOut, `${run.date.slice(0, 10)}-${suffix}.json`)
writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`)
await writeReport(jsonPath)
console.error(`\n${results.length} results, ${skipped.length} skipped, ${run.seconds} s; wrote ${jsonPath} (+ .svg, bench/RESULTS.md)`)
