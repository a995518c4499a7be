// Transactions: transaction([treeA, treeB], fn) and TransactionalTree. fn runs
// synchronously inside sled's transaction (which holds sled's process-wide lock),
// may run more than once on conflicts, and aborts everything by throwing.

import type { Buffer } from 'node:buffer'
import { type Bytes, invalidValue, requireArray, requireFunction, toBytes } from './args.js'
import { Batch } from './batch.js'
import { argError, SledError } from './errors.js'
import { type NativeTxTree, runTransaction } from './native.js'
import { CONSTRUCT } from './token.js'
import { nativeTreeOf, type Tree } from './tree.js'

export class TransactionalTree<K = Buffer, V = Buffer> {
  readonly #native: NativeTxTree

  /** @internal handed to transaction callbacks */
  constructor(token: symbol, native: NativeTxTree) {
    if (token !== CONSTRUCT) throw argError('ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: use transaction()')
    this.#native = native
  }

  static #of(self: unknown): NativeTxTree {
    if (typeof self !== 'object' || self === null || !(#native in self)) {
      throw argError('ERR_INVALID_THIS', 'Value of "this" must be of type TransactionalTree')
    }
    return (self as TransactionalTree<unknown, unknown>).#native
  }

  get(key: K | Bytes): V | undefined {
    return TransactionalTree.#of(this).get(toBytes(key, 'key')) as V | undefined
  }

  insert(key: K | Bytes, value: V | Bytes): V | undefined {
    return TransactionalTree.#of(this).insert(toBytes(key, 'key'), toBytes(value, 'value')) as V | undefined
  }

  remove(key: K | Bytes): V | undefined {
    return TransactionalTree.#of(this).remove(toBytes(key, 'key')) as V | undefined
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
 * Runs `fn` as one atomic transaction over `trees` (all from one database). `fn` must
 * be synchronous and free of side effects outside the transaction: sled re-runs it on
 * conflicts. If it throws, nothing is written and its error is rethrown unchanged.
 */
export function transaction<K, V, T>(trees: readonly Tree<K, V>[], fn: (txs: TransactionalTree<K, V>[]) => T): T {
  const list = requireArray(trees, 'trees')
  if (list.length === 0) throw invalidValue('trees', 'must contain at least one tree', trees)
  const natives = list.map((tree) => nativeTreeOf(tree))
  const body = requireFunction<(txs: TransactionalTree<K, V>[]) => T>(fn, 'fn')
  return runTransaction(natives, (txs) => {
    const result = body(txs.map((tx) => new TransactionalTree<K, V>(CONSTRUCT, tx)))
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
  }) as T
}
