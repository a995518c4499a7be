// BENCH.md's targets, evaluated on one run: each is a ratio of two results of that run.
// Targets are measured here, never asserted in tests.

const T = (label, target, num, den) => ({ label, target, num, den })

export const TARGETS = [
  T('sled-node ÷ sled-native, fill-rand', 0.9, ['sled-node', 'fill-rand'], ['sled-native', 'fill-rand']),
  T('sled-node ÷ sled-native, mixed', 0.9, ['sled-node', 'mixed'], ['sled-native', 'mixed']),
  T('sled-node ÷ sled-native, read-rand', 0.8, ['sled-node', 'read-rand'], ['sled-native', 'read-rand']),
  T('sled-node ÷ sled-native, scan-full', 0.5, ['sled-node', 'scan-full'], ['sled-native', 'scan-full']),
  T('sled-node ÷ sled-native, fill-batch', 0.9, ['sled-node', 'fill-batch'], ['sled-native', 'fill-batch']),
  T('sled-node ÷ lmdb get(), read-rand', 1.2, ['sled-node', 'read-rand'], ['lmdb', 'read-rand']),
  T('sled-node ÷ lmdb getBinaryFast (lmdb-nosync), read-rand', 0.8, ['sled-node', 'read-rand'], ['lmdb-nosync', 'read-rand']),
  T('sled-node ÷ lmdb putSync noSync (lmdb-nosync), fill-rand', 1.2, ['sled-node', 'fill-rand'], ['lmdb-nosync', 'fill-rand']),
  ...['read-rand', 'scan-full', 'fill-rand'].flatMap((w) => [
    T(`sled-node ÷ classic-level, ${w}`, 2, ['sled-node', w], ['classic-level', w]),
    T(`sled-node ÷ better-sqlite3, ${w}`, 2, ['sled-node', w], ['better-sqlite3', w]),
  ]),
  T('sled-node ÷ sled-http, read-rand', 50, ['sled-node', 'read-rand'], ['sled-http', 'read-rand']),
  T('sled-node ÷ sled-http, fill-rand', 50, ['sled-node', 'fill-rand'], ['sled-http', 'fill-rand']),
  T('sled-node ÷ sled-cli, read-rand', 1000, ['sled-node', 'read-rand'], ['sled-cli', 'read-rand']),
  T('sled-node ÷ sled-cli, fill-rand', 1000, ['sled-node', 'fill-rand'], ['sled-cli', 'fill-rand']),
  T('sled-node-async (64 in flight) ÷ sled-node, read-rand', 0.5, ['sled-node-async', 'read-rand'], ['sled-node', 'read-rand']),
  T('sled-node-async (64 in flight) ÷ sled-node, fill-rand', 0.5, ['sled-node-async', 'fill-rand'], ['sled-node', 'fill-rand']),
  T('read-workers (2 workers) ÷ read-rand (1 thread), sled-node', 1.7, ['sled-node', 'read-workers'], ['sled-node', 'read-rand']),
]

/** [{ label, target, ratio | null, met | null }] for this run. */
export function evaluateTargets(results) {
  const ops = (c, w) => results.find((r) => r.contender === c && r.workload === w)?.opsPerSec
  return TARGETS.map((t) => {
    const a = ops(...t.num)
    const b = ops(...t.den)
    const ratio = a && b ? a / b : null
    return { label: t.label, target: t.target, ratio, met: ratio === null ? null : ratio >= t.target }
  })
}
