// README's Benchmarks section, generated from a results JSON so that every number in it
// is one RESULTS.md shows for the same run (both come from summary.mjs):
//   node bench/report.mjs bench/results/<name>.json --readme
// prints the section; paste it over README's "## Benchmarks" section.

import { ratioTable, reading, durabilityClasses, targetVerdicts, rssGoal, fmtMB } from './summary.mjs'

/** `json`: the results file the section is generated from, as the README names it. */
export function readmeSection(run, json) {
  const { missed, targets } = targetVerdicts(run)
  const rss = rssGoal(run)
  return [
    '## Benchmarks',
    '',
    '`npm run bench` runs ten workloads (fills, point reads, misses, scans, a mixed load, reads from two worker',
    'threads) against sled in Rust (as a Rust user calls it, copying every value out as a binding must, and with mimalloc, the allocator sled-node links), lmdb,',
    'LevelDB (classic-level), RocksDB, SQLite (better-sqlite3, node:sqlite) and two workarounds (an HTTP server around',
    'sled, a CLI process per call), each cell in a fresh process, repeated in a shuffled order. [bench/README.md](bench/README.md)',
    'states every rule in one place. The latest full run',
    `(${run.n.toLocaleString('en-US')} entries, of which the per-entry fills insert ${(run.fillN ?? run.n).toLocaleString('en-US')}; ${run.valueSize}-byte values; ${run.cores} cores; ${run.repeats ?? 1} repeats per cell, medians;`,
    `all tables, spreads, memory and disk in [bench/RESULTS.md](bench/RESULTS.md), raw data in \`${json}\`),`,
    'as sled-node ÷ the other (above 1: sled-node is faster; **bold**: sled-node is slower):',
    '',
    ratioTable(run),
    '',
    `† lmdb-nosync is lmdb's fastest allowed configuration (noSync, batched async puts, getBinaryFast): not durable. Every promise-based API keeps ${run.inFlight ?? 64} operations in flight (sled-http 4).`,
    '',
    `The stores do not promise the same thing when a write returns: ${durabilityClasses(run).map((d) => `${d.contenders.join(', ')}: ${d.class}`).join('; ')}.`,
    'Writes are not comparable across these classes: when a sled write returns, nothing has reached the OS yet; "write() per commit" stores have handed each commit to the OS; lmdb has committed it and fsyncs each commit, overlapping the next.',
    '',
    reading(run),
    `${missed} of the project's ${targets.length} performance targets were missed in this run (RESULTS.md lists each).`,
    rss.length ? `Peak memory of a 1,000,000-entry load: ${rss.map((g) => `${g.contender} ${fmtMB(g.peakRssBytes)} (goal ≤ 3 × cacheCapacity + 100 MB: ${g.met ? 'met' : 'not met'})`).join(', ')}.` : '',
    'Only ratios within one run mean anything: absolute numbers move between runs and machines.',
    '',
  ].filter((l, i, all) => l !== '' || all[i - 1] !== '').join('\n')
}
