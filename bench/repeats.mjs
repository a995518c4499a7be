// Repeats: every cell runs REPEATS times; the order of contenders within a workload is
// shuffled afresh for each repeat by a seeded generator (the seed is saved in the
// results), so no contender always runs first, last, or right after the same neighbour.
// A result keeps every repeat; its opsPerSec is their median, shown with min–max.

import { Rng } from './data.mjs'

/** The cells of a run: for each repeat, for each workload, the contenders shuffled. */
export function cellOrder(workloads, contenders, repeats, seed) {
  const rng = new Rng(seed)
  const cells = []
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const w of workloads) {
      const order = [...contenders]
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.below(i + 1)
        ;[order[i], order[j]] = [order[j], order[i]]
      }
      for (const c of order) cells.push({ repeat, workload: w, contender: c })
    }
  }
  return cells
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** One result per (contender, workload) from its repeats: median, min, max of ops/s;
 *  the highest peak RSS; the median disk size; the notes of any repeat. */
export function aggregate(contender, workload, repeats) {
  const ops = repeats.map((r) => r.opsPerSec)
  const notes = [...new Set(repeats.map((r) => r.note).filter(Boolean))]
  const disk = repeats.map((r) => r.diskBytes).filter((x) => x !== undefined)
  return {
    contender,
    workload,
    opsPerSec: median(ops),
    min: Math.min(...ops),
    max: Math.max(...ops),
    inFlight: repeats[0].inFlight,
    peakRssBytes: Math.max(...repeats.map((r) => r.peakRssBytes ?? 0)),
    ...(disk.length ? { diskBytes: median(disk) } : {}),
    ...(notes.length ? { note: notes.join('; ') } : {}),
    repeats,
  }
}
