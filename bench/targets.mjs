// The targets, evaluated on one run: each is a ratio of two results of that run (the
// median of its repeats). Targets are measured here, never asserted in tests. `source`
// says who set the target: BENCH.md (the project's first benchmark plan) or issue 12 (the
// boundary issue; its async targets are the sled-node-async ÷ sled-native ratios of the
// committed run 2026-11-25-full.json, which async variants must not fall below).

const T = (source, label, target, num, den) => ({ source, label, target, num, den })
const vsNative = (source, w, target, who = 'sled-node') =>
  T(source, `${who} ÷ sled-native, ${w}`, target, [who, w], ['sled-native', w])

// sled-node-async ÷ sled-native in 2026-11-25-full.json, rounded down (read-workers left
// out: that run timed it as the slower worker's block, not wall-clock)
const ASYNC_BEFORE = {
  'fill-seq': 0.61, 'fill-rand': 0.89, 'fill-batch': 1.05, 'read-rand': 0.62, 'read-many': 0.63,
  'read-miss': 0.21, 'scan-full': 0.29, 'scan-range': 0.17, mixed: 0.27,
}

export const TARGETS = [
  ...Object.entries({ 'read-rand': 0.85, 'read-miss': 0.7, 'scan-full': 0.6, 'scan-range': 0.6, 'fill-seq': 0.9, 'fill-rand': 0.9, mixed: 0.85 })
    .map(([w, t]) => vsNative('issue 12', w, t)),
  ...Object.entries(ASYNC_BEFORE).map(([w, t]) => vsNative('issue 12 (not slower than before)', w, t, 'sled-node-async')),
  ...Object.entries({ 'fill-rand': 0.9, mixed: 0.9, 'read-rand': 0.8, 'scan-full': 0.5, 'fill-batch': 0.9 }).map(([w, t]) => vsNative('BENCH.md', w, t)),
  T('BENCH.md', 'sled-node ÷ lmdb get(), read-rand', 1.2, ['sled-node', 'read-rand'], ['lmdb', 'read-rand']),
  T('BENCH.md', 'sled-node ÷ lmdb getBinaryFast (lmdb-nosync), read-rand', 0.8, ['sled-node', 'read-rand'], ['lmdb-nosync', 'read-rand']),
  T('BENCH.md', 'sled-node ÷ lmdb noSync async put (lmdb-nosync), fill-rand', 1.2, ['sled-node', 'fill-rand'], ['lmdb-nosync', 'fill-rand']),
  ...['read-rand', 'scan-full', 'fill-rand'].flatMap((w) => [
    T('BENCH.md', `sled-node ÷ classic-level, ${w}`, 2, ['sled-node', w], ['classic-level', w]),
    T('BENCH.md', `sled-node ÷ better-sqlite3, ${w}`, 2, ['sled-node', w], ['better-sqlite3', w]),
  ]),
  T('BENCH.md', 'sled-node ÷ sled-http, read-rand', 50, ['sled-node', 'read-rand'], ['sled-http', 'read-rand']),
  T('BENCH.md', 'sled-node ÷ sled-http, fill-rand', 50, ['sled-node', 'fill-rand'], ['sled-http', 'fill-rand']),
  T('BENCH.md', 'sled-node ÷ sled-cli, read-rand', 1000, ['sled-node', 'read-rand'], ['sled-cli', 'read-rand']),
  T('BENCH.md', 'sled-node ÷ sled-cli, fill-rand', 1000, ['sled-node', 'fill-rand'], ['sled-cli', 'fill-rand']),
  T('BENCH.md', 'sled-node-async (64 in flight) ÷ sled-node, read-rand', 0.5, ['sled-node-async', 'read-rand'], ['sled-node', 'read-rand']),
  T('BENCH.md', 'sled-node-async (64 in flight) ÷ sled-node, fill-rand', 0.5, ['sled-node-async', 'fill-rand'], ['sled-node', 'fill-rand']),
  T('BENCH.md', 'read-workers (2 workers, wall-clock) ÷ read-rand (1 thread), sled-node', 1.7, ['sled-node', 'read-workers'], ['sled-node', 'read-rand']),
]

/** [{ source, label, target, ratio | null, met | null }] for this run. */
export function evaluateTargets(results) {
  const ops = (c, w) => results.find((r) => r.contender === c && r.workload === w)?.opsPerSec
  return TARGETS.map((t) => {
    const a = ops(...t.num)
    const b = ops(...t.den)
    const ratio = a && b ? a / b : null
    return { source: t.source, label: t.label, target: t.target, ratio, met: ratio === null ? null : ratio >= t.target }
  })
}
