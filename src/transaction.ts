// Transactions: transaction([treeA, treeB], fn) and TransactionalTree. fn runs
// synchronously inside sled's transaction (which holds sled's process-wide lock),
// may run more than once on conflicts, and aborts everything by throwing.

import type { Buffer } from 'node:buffer'
import { type Bytes, invalidValue, requireArray, requireFunction } from './args.js'
import { Batch } from './batch.js'
import { argError, SledError } from './errors.js'
import { inTransaction, type NativeTxTree, runTransaction } from './native.js'
import { CONSTRUCT } from './token.js'
import { type Tree, treeInternals } from './tree.js'
import type { Coders } from './encodings.js'

export class TransactionalTree<K = Buffer, V = Buffer> {
  readonly #native: NativeTxTree
  readonly #coders: Coders

  /** @internal handed to transaction callbacks */
  constructor(token: symbol, native: NativeTxTree, coders: Coders) {
    if (token !== CONSTRUCT) throw argError('ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: use transaction()')
    this.#native = native
    this.#coders = coders
  }

  #decode(bytes: Buffer | undefined): V | undefined {
    const coder = this.#coders.value
    return (bytes === undefined || coder.raw ? bytes : coder.decode(bytes)) as V | undefined
  }

  static #of(self: unknown): NativeTxTree {
    if (typeof self !== 'object' || self === null || !(#native in self)) {
      throw argError('ERR_INVALID_THIS', 'Value of "this" must be of type TransactionalTree')
    }
    return (self as TransactionalTree<unknown, unknown>).#native
  }

  get(key: K | Bytes): V | undefined {
    const native = TransactionalTree.#of(this)
    return this.#decode(native.get(this.#coders.key.encode(key, 'key')))
  }

  insert(key: K | Bytes, value: V | Bytes): V | undefined {
    const native = TransactionalTree.#of(this)
    return this.#decode(native.insert(this.#coders.key.encode(key, 'key'), this.#coders.value.encode(value, 'value')))
  }

  remove(key: K | Bytes): V | undefined {
    const native = TransactionalTree.#of(this)
    return this.#decode(native.remove(this.#coders.key.encode(key, 'key')))
  }

  apply(batch: Batch<K, V>): void {
    TransactionalTree.#of(this).apply(Batch.pack(batch))
  }

  generateId(): bigint {
    return TransactionalTree.#of(this).generateId()
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/**
 * SLED_TRANSACTION_MISUSE if a transaction callback is running on this thread. Native
 * entry points check this themselves; this is for calls whose native part runs later
 * (getAsync reads in the next tick, when the callback has returned).
 */
export function refuseInTransaction(op: string): void {
  if (inTransaction()) {
    throw new SledError(
      `${op} was called inside a transaction callback; use the TransactionalTree passed to the callback (sled would deadlock)`,
      'SLED_TRANSACTION_MISUSE',
    )
  }
}

/**
 * A TransactionalTree for each Tree of `Trees`, with that tree's key and value types:
 * `transaction([names, points], ([n, p]) => …)` types `n` and `p` apart.
 */
export type TransactionalTrees<Trees extends readonly object[]> = {
  -readonly [I in keyof Trees]: Trees[I] extends Tree<infer K, infer V> ? TransactionalTree<K, V> : never
}

/**
 * Runs `fn` as one atomic transaction over `trees` (all from one database). `fn` must
 * be synchronous and free of side effects outside the transaction: sled re-runs it on
 * conflicts. If it throws, nothing is written and its error is rethrown unchanged.
 */
export function transaction<const Trees extends readonly object[], T>(trees: Trees, fn: (txs: TransactionalTrees<Trees>) => T): T
/** The earlier form, with the key and value types (and the result type) spelled out. */
export function transaction<K, V, T>(trees: readonly Tree<K, V>[], fn: (txs: TransactionalTree<K, V>[]) => T): T
export function transaction<T>(trees: readonly object[], fn: (txs: TransactionalTree<unknown, unknown>[]) => T): T {
  const list = requireArray(trees, 'trees')
  if (list.length === 0) throw invalidValue('trees', 'must contain at least one tree', trees)
  const internals = list.map((tree, i) => treeInternals(tree, `trees[${i}]`))
  const body = requireFunction<(txs: TransactionalTree<unknown, unknown>[]) => T>(fn, 'fn')
  // what fn threw, kept here so it is rethrown as the very same value (any value,
  // not only Errors) rather than whatever crossing the native layer makes of it
  let thrown: { value: unknown } | undefined
  // process.exit() inside fn, deferred until sled's lock is released (see exitAfterwards)
  let exit: { code: Parameters<typeof process.exit>[0] } | undefined
  const realExit = process.exit
  try {
    return runTransaction(
      internals.map((t) => t.native),
      (txs) => {
        thrown = undefined
        process.exit = (code) => {
          exit = { code }
          throw EXIT_REQUESTED
        }
        try {
          const result = checkedResult(body(txs.map((tx, i) => new TransactionalTree<unknown, unknown>(CONSTRUCT, tx, (internals[i] as { coders: Coders }).coders))))
          // fn caught the exit request and returned: it is abandoned all the same
          if (exit !== undefined) throw EXIT_REQUESTED
          return result
        } catch (error) {
          thrown = { value: error }
          throw error
        } finally {
          process.exit = realExit
        }
      },
    ) as T
  } catch (error) {
    if (exit !== undefined) realExit.call(process, exit.code)
    if (thrown !== undefined) throw thrown.value
    throw error
  }
}

/**
 * What `process.exit()` throws inside a transaction callback. The callback runs while this
 * thread holds sled's process-wide lock; exiting there would leave it held while Node
 * stops the workers, and a worker waiting for that lock (a write, a flush, a close) could
 * then never stop: the process would hang. So the exit is deferred: the callback unwinds
 * (the transaction is abandoned, nothing of it is written), the lock is released, and then
 * the process (or worker) exits with the code given.
 */
const EXIT_REQUESTED: unknown = Object.freeze(
  Object.assign(new Error('process.exit() inside a transaction callback: the process exits once the transaction is abandoned'), {
    code: 'SLED_EXIT_REQUESTED',
  }),
)

/** A transaction callback must return synchronously. */
function checkedResult<T>(result: T): T {
  if (isThenable(result)) {
    // the promise's later steps fail on the ended transaction; keep that from
    // becoming an unhandled rejection on top of the error thrown here
    Promise.resolve(result).then(undefined, () => undefined)
    throw new SledError(
      'transaction: the callback returned a Promise; transactions are synchronous (sled holds its lock while the callback runs)',
      'SLED_TRANSACTION_MISUSE',
    )
  }
  return result
}
