// `npm run bench [-- --quick] [--only ids] [--value-size bytes] [--time ms] [--repeats k] [--fill-n n]`
// Runs every (contender × workload), each cell in a fresh child process with a fresh
// directory under os.tmpdir(), REPEATS times in a seeded shuffled order of contenders, prints
// a table per workload, writes bench/results/<date>-<quick|full>.json (-2, -3, … for a later
// run of the same day), the SVG chart beside it and bench/RESULTS.md. The rules are
// explained in bench/README.md.

import { parseArgs } from 'node:util'
import { existsSync, mkdtempSync, rmSync, mkdirSync, writeFileSync, cpSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WORKLOADS, CONTENDERS, SEED, IN_FLIGHT, REPEATS } from './plan.mjs'
import { loadAdapter } from './adapter.mjs'
import { ensureBinary } from './binaries.mjs'
import { runChild } from './spawn.mjs'
import { runNative } from './native.mjs'
import { machine } from './meta.mjs'
import { progress } from './progress.mjs'
import { printTables, writeReport } from './report.mjs'
import { cellOrder, aggregate } from './repeats.mjs'
import { diskBytes } from './usage.mjs'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    n: { type: 'string' },
    only: { type: 'string' },
    'value-size': { type: 'string', default: '100' },
    time: { type: 'string' },
    repeats: { type: 'string', default: String(REPEATS) },
    'fill-n': { type: 'string' },
    'order-seed': { type: 'string' },
    note: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (flags.help) {
  console.log(`usage: npm run bench -- [--quick] [--only <ids,…>] [--value-size <bytes>] [--time <ms>] [--repeats <k>] [--fill-n <n>]
  --quick        N = 100,000 entries instead of 1,000,000
  --n            N, any number of entries (for trying the harness out; not a comparable run)
  --only         comma-separated contender and/or workload ids
                 contenders: ${CONTENDERS.map((c) => c.id).join(', ')}
                 workloads:  ${WORKLOADS.map((w) => w.id).join(', ')}
  --value-size   value bytes (default 100; also try 1024 and 16384)
  --time         ms of timed work per task (default 300)
  --repeats      runs of each cell, in a shuffled order of contenders (default ${REPEATS})
  --fill-n       entries fill-seq and fill-rand insert, the same for every contender (default: N, at most 250,000)
  --order-seed   seed of the shuffled order (default: drawn from the clock; saved in the results)
  --note         text saved with the results and shown in RESULTS.md (e.g. machine conditions)`)
  process.exit(0)
}

const quick = flags.quick
const n = Number(flags.n ?? (quick ? 100_000 : 1_000_000))
const valueSize = Number(flags['value-size'])
// short tasks keep a full run of 3 repeats near 30 min on 2 cores; loads and fills, not
// the timed part of the read cells, are most of a run's time
const time = Number(flags.time ?? 300)
const repeats = Number(flags.repeats)
// per-entry fills of 1,000,000 entries × 3 repeats × 10 contenders alone would take ~20 min
// on 2 cores: they insert the first 250,000 entries of their order unless told otherwise
const fillN = flags['fill-n'] === undefined ? Math.min(n, 250_000) : Number(flags['fill-n'])
const orderSeed = flags['order-seed'] === undefined ? Date.now() % 2 ** 32 : Number(flags['order-seed'])
if (!(time > 0)) throw new Error('--time must be a positive number')
for (const [name, v] of Object.entries({ '--n': n, '--value-size': valueSize, '--repeats': repeats, '--fill-n': fillN })) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer`)
}
if (!Number.isInteger(orderSeed) || orderSeed < 0) throw new Error('--order-seed must be a non-negative integer')
const only = flags.only?.split(',').map((s) => s.trim()).filter(Boolean) ?? []
// a run with a custom N or a subset is saved but does not replace RESULTS.md
const partial = only.length > 0 || flags.n !== undefined
const known = new Set([...WORKLOADS.map((w) => w.id), ...CONTENDERS.map((c) => c.id)])
for (const id of only) if (!known.has(id)) throw new Error(`--only: unknown id ${id}`)
const pick = (list) => (list.some((x) => only.includes(x.id)) ? list.filter((x) => only.includes(x.id)) : list)
const workloads = pick(WORKLOADS)
const contenders = pick(CONTENDERS)
// a cell that takes longer than this is stuck, not slow
const timeoutMs = (quick ? 3 : 15) * 60_000

const started = Date.now()
const skipped = []
const available = []
const described = {}
console.error(
  `sled-node benchmark: N=${n}, value ${valueSize} B, ${time} ms per task, ${repeats} repeats, fills of ${fillN}, order seed ${orderSeed}, ${quick ? 'quick' : 'full'} run`,
)
for (const c of contenders) {
  const a = c.native ? null : await loadAdapter(c.id)
  const reason = c.native ? ensureBinary('sled-native') : await a.probe()
  described[c.id] = { durability: c.durability ?? a.durability, settings: c.settings ?? a.settings }
  if (reason) {
    console.error(`skipped ${c.id}: ${reason}`)
    skipped.push({ contender: c.id, reason })
  } else available.push(c)
}

/** Runs one cell of contender `c` in `dir`; resolves to the child's outcome. */
function runCell(c, cfg, phase) {
  return c.native ? runNative(cfg, timeoutMs, c) : runChild(cfg, timeoutMs, phase)
}

const base = { n, valueSize, seed: SEED, time, fillN: fillN < n ? fillN : undefined }
const root = mkdtempSync(join(tmpdir(), 'sled-bench-'))
const repeatsOf = new Map() // `${contender} ${workload}` -> [result of each repeat]
const loads = []
try {
  // 1. the loaded store of each contender, filled once (untimed) and copied into the
  //    fresh directory of each of its read cells; the copy baseline reads sled-native's
  const readWorkloads = workloads.filter((w) => !w.id.startsWith('fill-'))
  const loaders = readWorkloads.length ? available.filter((c) => !c.copy) : []
  const templates = new Map()
  const loadBar = progress(loaders.length)
  for (const c of loaders) {
    const dir = join(root, `load-${c.id.replace(/[^a-z0-9-]/gi, '_')}`)
    const cfg = { ...base, contender: c.id, workload: 'load', dir }
    loadBar.cell(`${c.id} load`)
    const t = Date.now()
    const outcome = await runCell(c, cfg, loadBar.phase)
    if (outcome.type === 'result') {
      const seconds = Math.round((Date.now() - t) / 100) / 10
      loads.push({ contender: c.id, seconds, peakRssBytes: outcome.result.peakRssBytes, diskBytes: diskBytes(dir) })
      templates.set(c.id, dir)
      loadBar.finish(`${c.id} load`, `${seconds} s`)
    } else {
      skipped.push({ contender: c.id, workload: 'load', reason: `load ${outcome.type === 'skip' ? 'skipped' : 'failed'}: ${outcome.reason}` })
      loadBar.log(`load of ${c.id} failed: ${outcome.reason}`)
      loadBar.finish(`${c.id} load`, 'failed')
    }
  }
  loadBar.stop()
  const copyOf = (c) => templates.get(c.copy ? 'sled-native' : c.id)

  // 2. the cells, repeat by repeat, contenders shuffled per workload
  const cells = cellOrder(workloads.map((w) => w.id), available, repeats, orderSeed)
  const bar = progress(cells.length)
  const skippedCell = new Set()
  for (const { repeat, workload, contender: c } of cells) {
    const id = `${c.id} ${workload}`
    const label = `${c.id} × ${workload} #${repeat + 1}`
    bar.cell(label)
    const fill = workload.startsWith('fill-')
    const skip = (reason) => {
      if (!skippedCell.has(id)) skipped.push({ contender: c.id, workload, reason })
      skippedCell.add(id)
      bar.finish(label, 'skipped')
    }
    if (skippedCell.has(id)) {
      bar.finish(label, 'skipped')
      continue
    }
    if (c.copy && fill) {
      skip('writes are the same code as in sled-native (sled copies what it is given)')
      continue
    }
    if (!fill && !copyOf(c)) {
      skip('its loaded store could not be built (see the load entry)')
      continue
    }
    const dir = mkdtempSync(join(root, 'cell-'))
    const db = join(dir, 'db')
    if (!fill) cpSync(copyOf(c), db, { recursive: true })
    const cfg = { ...base, contender: c.id, workload, dir: db, loaded: !fill || undefined }
    const cellStart = Date.now()
    const outcome = await runCell(c, cfg, bar.phase)
    if (outcome.type === 'result') {
      // cellSeconds: the whole cell (process, copy or fill, warm-up, timing), for planning run times
      const cellSeconds = Math.round((Date.now() - cellStart) / 100) / 10
      const result = { repeat: repeat + 1, ...outcome.result, cellSeconds, diskBytes: diskBytes(db) }
      repeatsOf.set(id, [...(repeatsOf.get(id) ?? []), result])
      bar.finish(label, `${Math.round(result.opsPerSec).toLocaleString('en-US')} ops/s`)
    } else if (outcome.type === 'skip') {
      skip(outcome.reason)
    } else {
      skipped.push({ contender: c.id, workload, repeat: repeat + 1, reason: `failed: ${outcome.reason}` })
      bar.log(`failed ${label}: ${outcome.reason}`)
      bar.finish(label, 'failed')
    }
    rmSync(dir, { recursive: true, force: true })
  }
  bar.stop()
} finally {
  rmSync(root, { recursive: true, force: true })
}

const results = []
for (const w of workloads) {
  for (const c of available) {
    const rs = repeatsOf.get(`${c.id} ${w.id}`)
    if (rs) results.push(aggregate(c.id, w.id, rs))
  }
}

const date = new Date()
const run = {
  date: date.toISOString().replace(/\.\d+Z$/, 'Z'),
  ...machine(),
  quick,
  n,
  valueSize,
  timePerTaskMs: time,
  repeats,
  orderSeed,
  inFlight: IN_FLIGHT,
  fillN,
  seconds: Math.round((Date.now() - started) / 1000),
  only: only.length ? only : undefined,
  partial: partial || undefined,
  note: flags.note,
  contenders: Object.fromEntries(contenders.map((c) => [c.id, described[c.id]])),
  loads,
  results,
  skipped,
}
printTables(run)
const dirOut = new URL('./results/', import.meta.url).pathname
mkdirSync(dirOut, { recursive: true })
const suffix = [quick ? 'quick' : 'full', flags.n !== undefined ? `n${n}` : '', valueSize !== 100 ? `v${valueSize}` : '', partial ? 'partial' : ''].filter(Boolean).join('-')
// a later run of the same day gets its own file (-2, -3, …), never the earlier one's
const stem = join(dirOut, `${run.date.slice(0, 10)}-${suffix}`)
let jsonPath = `${stem}.json`
for (let k = 2; existsSync(jsonPath); k++) jsonPath = `${stem}-${k}.json`
writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`)
await writeReport(jsonPath)
console.error(`\n${results.length} results, ${skipped.length} skipped, ${run.seconds} s; wrote ${jsonPath} (+ .svg${partial ? '' : ', bench/RESULTS.md'})`)
