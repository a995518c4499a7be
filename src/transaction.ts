// transaction([treeA, treeB], fn): one atomic transaction over several trees of a database.
// fn runs synchronously inside sled's transaction (which holds sled's process-wide lock),
// may run more than once on conflicts, and aborts everything by throwing.

import { invalidValue, requireArray, requireFunction } from './args.js'
import type { Tree } from './tree.js'
import { memberOf, runOn, type TransactionalTree } from './transactional-tree.js'

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
  const internals = list.map((tree, i) => memberOf(tree, `trees[${i}]`))
  const body = requireFunction<(txs: TransactionalTree<unknown, unknown>[]) => T>(fn, 'fn')
  return runOn(internals, body)
}
