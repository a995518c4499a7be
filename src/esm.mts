// The ESM entry: re-exports the CommonJS build so `import` and `require` share one
// copy of the facade (one SledError class per process). The gate loads it first, so that a
// failure to load is an ordinary, catchable rejection on every Node (src/esm-gate.mts).
import './esm-load-index.mjs'
// named, not `export *`: that would also export the `__esModule` marker of the CommonJS
// build (test/load-failure.test.ts checks this list against the CommonJS exports)
export type * from '../index.js'
export {
  Batch,
  Db,
  EntryIterator,
  open,
  openAsync,
  SledClosedError,
  SledCollectionNotFoundError,
  SledCorruptionError,
  SledError,
  SledIoError,
  SledLockedError,
  SledPanicError,
  SledReportableBugError,
  SledUnsupportedError,
  Subscriber,
  transaction,
  TransactionalTree,
  Tree,
} from '../index.js'
