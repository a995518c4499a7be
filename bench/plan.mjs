// What the harness runs: the workload and contender ids, in table order, and the rules
// every contender shares (operations in flight, repeats). Units differ by workload, so
// each says what one "op" is.

export const WORKLOADS = [
  { id: 'fill-seq', unit: 'puts/s', what: 'insert entries in key order, one call per entry' },
  { id: 'fill-rand', unit: 'puts/s', what: 'insert entries in random order, one call per entry' },
  { id: 'fill-batch', unit: 'entries/s', what: 'insert N entries in atomic batches of 1,000' },
  { id: 'read-rand', unit: 'gets/s', what: 'get random existing keys (warm cache)' },
  { id: 'read-many', unit: 'calls/s', what: 'getMany of 100 random keys per call' },
  { id: 'read-miss', unit: 'gets/s', what: 'get random missing keys, above the stored ones (N to 2N − 1): every lookup ends at the end of the key range, so this measures the call more than the search' },
  { id: 'scan-full', unit: 'entries/s', what: 'iterate all N entries in order' },
  { id: 'scan-range', unit: 'calls/s', what: '100 entries from a random start key, per call' },
  { id: 'mixed', unit: 'ops/s', what: '90 % get / 10 % insert of random keys' },
  { id: 'read-workers', unit: 'gets/s', what: 'read-rand from 2 worker threads on one shared database, wall-clock' },
]

/** Point operations of a promise API (put, get) in flight at once, for every such contender
 *  (sled-node-async, lmdb, lmdb-nosync, classic-level and RocksDB writes, RocksDB reads).
 *  Bulk calls (getMany, batch, a scan) run one at a time everywhere. */
export const IN_FLIGHT = 64

/** Each cell runs this many times, in a seeded shuffled order of contenders per workload. */
export const REPEATS = 3

// sled's write path, shared by every contender built on it (crates/sled-node, sled-http)
const SLED_DURABILITY = 'acknowledged before write(): kept in memory, written and synced (sync_file_range, not fsync) by the background flush every 500 ms (flushEveryMs)'

// `native` contenders are the Rust binaries of crates/sled-native (`copy`: every key and
// value read is copied out; `binary`: sled-native-mimalloc, the same with mimalloc);
// `fastest` ones form the labelled "fastest allowed" second table.
// The durability of the adapter-based contenders is the `durability` export of their
// adapter (contenders/*.mjs), next to the settings it describes.
export const CONTENDERS = [
  { id: 'sled-node' },
  { id: 'sled-node-async' },
  { id: 'sled-native', native: true, durability: SLED_DURABILITY, settings: 'sled 0.34.7 defaults, Rust; reads borrow sled\'s IVec (no copy)' },
  { id: 'sled-native-copy', native: true, copy: true, durability: SLED_DURABILITY, settings: 'sled 0.34.7 defaults, Rust; every key and value read copied out with to_vec()' },
  { id: 'sled-native-mimalloc', native: true, binary: 'sled-native-mimalloc', durability: SLED_DURABILITY, settings: 'sled 0.34.7 defaults, Rust, mimalloc as the global allocator (sled-node\'s addon links it); reads borrow sled\'s IVec (no copy)' },
  { id: 'lmdb' },
  { id: 'classic-level' },
  { id: 'rocksdb' },
  { id: 'better-sqlite3' },
  { id: 'node:sqlite', file: 'node-sqlite' },
  { id: 'sled-http' },
  { id: 'sled-cli' },
  { id: 'lmdb-nosync', fastest: true },
]

export { SLED_DURABILITY }

export const SEED = 42

/** The adapter module of a contender (the native ones have none: they are a Rust binary). */
export function adapterUrl(id) {
  const c = CONTENDERS.find((x) => x.id === id)
  return new URL(`./contenders/${c?.file ?? id}.mjs`, import.meta.url).href
}
