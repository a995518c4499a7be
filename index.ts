// sled-node: the public entry point (CommonJS; the ESM entry src/esm.mts re-exports
// this module, so both share one copy and one set of error classes).

export { type Bytes, type Mode, type SledOptions } from './src/args.js'
export { type BackupOptions, type BackupProgress, type BackupResult } from './src/backup.js'
export { Db, open, openAsync, type OpenOptions } from './src/db.js'
export { type Codec, type Decoded, type Encoding, type EncodingOptions, type OrderedKey, type OrderedScalar } from './src/encodings.js'
export {
  SledClosedError,
  SledCollectionNotFoundError,
  SledCorruptionError,
  SledError,
  SledIoError,
  SledLockedError,
  SledPanicError,
  SledReportableBugError,
  SledUnsupportedError,
} from './src/errors.js'
export { type Entry, EntryIterator } from './src/iterator.js'
export { type RangeOptions, type ScanOptions } from './src/range-options.js'
export { Batch } from './src/batch.js'
export { type ExportedCollection } from './src/export-format.js'
export { type Event, Subscriber, type WatchOptions } from './src/subscriber.js'
export { transaction, type TransactionalTrees } from './src/transaction.js'
export { TransactionalTree } from './src/transactional-tree.js'
export { type CompareAndSwapResult, type MergeOperator, Tree, type UpdateFn } from './src/tree.js'
