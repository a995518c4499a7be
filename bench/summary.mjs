// What both RESULTS.md (report.mjs) and README's Benchmarks section (readme-section.mjs)
// say about a run: number formats, the sled-node ÷ contender table over every workload,
// the wins and losses read from it, the durability classes, and the RSS goal. Both
// documents take their numbers from here, so README can never quote a number RESULTS.md
// does not show.

import { WORKLOADS, CONTENDERS } from './plan.mjs'
import { evaluateTargets } from './targets.mjs'

export const fastest = new Set(CONTENDERS.filter((c) => c.fastest).map((c) => c.id))
export const contenderName = (id) => (fastest.has(id) ? `${id} †` : id)
export const fmtOps = (x) => Math.round(x).toLocaleString('en-US')
// ratios are truncated, never rounded up: a loss of 0.996 reads 0.99, and a target of 2 is
// never shown as met by a 1.996 printed as 2.00
const trunc = (x, digits) => (Math.floor(x * 10 ** digits) / 10 ** digits).toFixed(digits)
export const fmtRatio = (x) => (x >= 100 ? Math.floor(x).toLocaleString('en-US') : x >= 10 ? trunc(x, 1) : trunc(x, 2))
export const fmtMB = (b) => (b ? `${Math.round(b / 1e6).toLocaleString('en-US')} MB` : '–')

export function markdownTable(header, lines) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n')
}

/** The short class of a durability text: its words before the first ':' or ' (' (so that
 *  "write() per commit (…)" keeps its "write()"). */
export const durabilityClass = (text) => (text ?? 'not stated').split(/:| \(/)[0].trim()

export const workloadsOf = (run) =>
  WORKLOADS.filter((w) => run.results.some((r) => r.workload === w.id) || run.skipped.some((s) => s.workload === w.id))

export const opsOf = (run, contender, workload) => run.results.find((r) => r.contender === contender && r.workload === workload)?.opsPerSec

/** Contenders with results in this run, other than sled-node, in plan order. */
export const othersOf = (run) => CONTENDERS.map((c) => c.id).filter((id) => id !== 'sled-node' && run.results.some((r) => r.contender === id))

/** sled-node ÷ contender on workload, or null where either is missing. */
export function ratioOf(run, contender, workload) {
  const node = opsOf(run, 'sled-node', workload)
  const other = opsOf(run, contender, workload)
  return node && other ? node / other : null
}

/** The sled-node ÷ each contender table: a row per workload, a column per contender;
 *  ratios below 1 (sled-node slower) in bold. */
export function ratioTable(run) {
  const others = othersOf(run)
  const lines = workloadsOf(run).map((w) => [
    w.id,
    ...others.map((c) => {
      const r = ratioOf(run, c, w.id)
      return r === null ? '–' : r < 1 ? `**${fmtRatio(r)}**` : fmtRatio(r)
    }),
  ])
  return markdownTable(['sled-node ÷', ...others.map(contenderName)], lines)
}

/** Kinds of contender, for reading the table: the Rust limits, the other embedded stores,
 *  the IPC workarounds. sled-node-async is sled-node's own second API. */
const KIND = { 'sled-native': 'limit', 'sled-native-copy': 'limit', 'sled-native-mimalloc': 'limit-alloc', 'sled-node-async': 'self', 'sled-http': 'ipc', 'sled-cli': 'ipc' }
const kindOf = (id) => KIND[id] ?? 'embedded'

/** { wins, losses } of sled-node against the embedded stores and the IPC workarounds:
 *  [{ contender, workload, ratio }], and the range of ratios per kind. */
export function standing(run) {
  const cells = othersOf(run).flatMap((c) =>
    workloadsOf(run).map((w) => ({ contender: c, workload: w.id, kind: kindOf(c), ratio: ratioOf(run, c, w.id) })),
  ).filter((x) => x.ratio !== null)
  const range = (kind) => {
    const rs = cells.filter((x) => x.kind === kind).map((x) => x.ratio)
    return rs.length ? [Math.min(...rs), Math.max(...rs)] : null
  }
  return {
    cells,
    losses: cells.filter((x) => (x.kind === 'embedded' || x.kind === 'ipc') && x.ratio < 1),
    wins: cells.filter((x) => (x.kind === 'embedded' || x.kind === 'ipc') && x.ratio >= 1),
    range,
  }
}

/** One paragraph: where sled-node wins and where it does not, every loss named. */
export function reading(run) {
  const s = standing(run)
  const embedded = s.cells.filter((x) => x.kind === 'embedded')
  const embeddedWins = embedded.filter((x) => x.ratio >= 1).length
  const byWorkload = new Map(workloadsOf(run).map((w) => [w.id, []]))
  for (const x of s.losses) byWorkload.set(x.workload, [...(byWorkload.get(x.workload) ?? []), `${contenderName(x.contender)} ${fmtRatio(x.ratio)}`])
  const lossList = [...byWorkload].filter(([, list]) => list.length).map(([w, list]) => `${w} (${list.join(', ')})`).join('; ')
  const limit = s.range('limit')
  const sameAlloc = s.range('limit-alloc')
  const ipc = s.range('ipc')
  return [
    `Against the other embedded stores sled-node is faster in ${embeddedWins} of ${embedded.length} (workload, store) pairs of this run and slower in ${embedded.length - embeddedWins}.`,
    s.losses.length ? `Every loss, by workload (sled-node ÷ the other, below 1): ${lossList}.` : 'It loses no pair.',
    limit
      ? `Against sled itself in Rust it reaches ${fmtRatio(limit[0])}–${fmtRatio(limit[1])} of its speed with this run's ${run.n.toLocaleString('en-US')} entries of ${run.valueSize}-byte values (both baselines with Rust's default allocator: borrowing and copying${sameAlloc && limit[1] > 1 ? '; above 1 only because of the allocator and its huge pages, see below' : ''}); larger values lower it, as each value read is copied out.`
      : '',
    sameAlloc
      ? `sled-node's addon allocates with mimalloc, its arena on transparent huge pages on Linux, which makes sled itself faster than with Rust's default allocator: against sled in Rust with mimalloc too (sled-native-mimalloc, whose arena mimalloc puts on huge pages by itself), it reaches ${fmtRatio(sameAlloc[0])}–${fmtRatio(sameAlloc[1])}.`
      : '',
    ipc ? `Against the IPC workarounds the ratio runs from ${fmtRatio(ipc[0])} to ${fmtRatio(ipc[1])}.` : '',
  ].filter(Boolean).join(' ')
}

/** Durability classes of this run: [{ class, contenders }], in plan order. */
export function durabilityClasses(run) {
  const classes = new Map()
  for (const [id, c] of Object.entries(run.contenders ?? {})) {
    if (!run.results.some((r) => r.contender === id)) continue
    const k = durabilityClass(c.durability)
    classes.set(k, [...(classes.get(k) ?? []), id])
  }
  return [...classes].map(([k, ids]) => ({ class: k, contenders: ids }))
}

// The RSS goal of issue 12: peak RSS of the 1,000,000-entry load at most
// 3 × cacheCapacity + 100 MB; the harness runs sled with its default cacheCapacity.
const CACHE_CAPACITY = 2 ** 30
export const RSS_GOAL_BYTES = 3 * CACHE_CAPACITY + 100e6

/** [{ contender, peakRssBytes, met }] for the sled-node loads, or [] when none ran at N = 1 M. */
export function rssGoal(run) {
  if (run.n !== 1_000_000) return []
  return (run.loads ?? [])
    .filter((l) => l.contender.startsWith('sled-node'))
    .map((l) => ({ contender: l.contender, peakRssBytes: l.peakRssBytes, met: l.peakRssBytes <= RSS_GOAL_BYTES }))
}

/** Targets with their verdict, and how many were missed or not measured. */
export function targetVerdicts(run) {
  const ts = evaluateTargets(run.results)
  return { targets: ts, missed: ts.filter((t) => t.met === false).length, unmeasured: ts.filter((t) => t.met === null).length }
}
