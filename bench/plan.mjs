// What the harness runs: the workload and contender ids of BENCH.md, in table order.
// Units differ by workload, so each says what one "op" is.

export const WORKLOADS = [
  { id: 'fill-seq', unit: 'puts/s', what: 'insert N entries in key order, one call per entry' },
  { id: 'fill-rand', unit: 'puts/s', what: 'insert N entries in random order, one call per entry' },
  { id: 'fill-batch', unit: 'entries/s', what: 'insert N entries in atomic batches of 1,000' },
  { id: 'read-rand', unit: 'gets/s', what: 'get random existing keys (hot cache)' },
  { id: 'read-many', unit: 'calls/s', what: 'getMany of 100 random keys per call' },
  { id: 'read-miss', unit: 'gets/s', what: 'get random missing keys' },
  { id: 'scan-full', unit: 'entries/s', what: 'iterate all N entries in order' },
  { id: 'scan-range', unit: 'calls/s', what: '100 entries from a random start key, per call' },
  { id: 'mixed', unit: 'ops/s', what: '90 % get / 10 % insert of random keys' },
  { id: 'read-workers', unit: 'gets/s', what: 'read-rand from 2 worker threads on one shared database' },
]

// `fastest` contenders are the "fastest allowed" second table of BENCH.md: not durable.
export const CONTENDERS = [
  { id: 'sled-node' },
  { id: 'sled-node-async' },
  { id: 'sled-native' },
  { id: 'lmdb' },
  { id: 'classic-level' },
  { id: 'rocksdb' },
  { id: 'better-sqlite3' },
  { id: 'node:sqlite', file: 'node-sqlite' },
  { id: 'sled-http' },
  { id: 'sled-cli' },
  { id: 'lmdb-nosync', fastest: true },
]

export const SEED = 42

/** The adapter module of a contender (sled-native has none: it is a Rust binary). */
export function adapterUrl(id) {
  const c = CONTENDERS.find((x) => x.id === id)
  return new URL(`./contenders/${c?.file ?? id}.mjs`, import.meta.url).href
}
