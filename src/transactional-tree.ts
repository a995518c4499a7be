// TransactionalTree and the transaction runner: what a transaction callback gets, and the
// run of one callback inside sled's transaction (which holds sled's process-wide lock). Tree
// (src/tree.ts) and transaction() (src/transaction.ts) both build on this module; it imports
// neither, so the two stay free of each other.

import type { Buffer } from 'node:buffer'
import { type Bytes, invalidType } from './args.js'
import { Batch } from './batch.js'
import type { Coders } from './encodings.js'
import { argError, SledError } from './errors.js'
import { inTransaction, type NativeTree, type NativeTxTree, runTransaction } from './native.js'
import { CONSTRUCT } from './token.js'

/** What a transaction needs of a Tree: its native handle and its coders. */
export interface Member {
  native: NativeTree
  coders: Coders
}

// the Trees that can join a transaction, each with what the transaction needs of it; a Tree
// enlists itself when it is constructed, so nothing else can pass for one
const members = new WeakMap<object, Member>()

/** @internal called by Tree's constructor */
export function enlist(tree: object, member: Member): void {
  members.set(tree, member)
}

/**
 * The native handle and coders behind a Tree; anything else is an argument error
 * (ERR_INVALID_ARG_TYPE naming `name`), as `transaction([tree, notATree], fn)` is.
 */
export function memberOf(tree: unknown, name: string): Member {
  const member = typeof tree === 'object' && tree !== null ? members.get(tree) : undefined
  if (member === undefined) throw invalidType(name, 'an instance of Tree', tree)
  return member
}

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
 * Runs `body` as one sled transaction over `trees`: checks that it returns synchronously,
 * rethrows what it threw as the very same value, and defers a process.exit() called inside
 * it until sled's lock is released.
 */
export function runOn<T>(trees: readonly Member[], body: (txs: TransactionalTree<unknown, unknown>[]) => T): T {
  // what body threw, kept here so it is rethrown as the very same value (any value,
  // not only Errors) rather than whatever crossing the native layer makes of it
  let thrown: { value: unknown } | undefined
  // process.exit() inside body, deferred until sled's lock is released (see EXIT_REQUESTED)
  let exit: { code: Parameters<typeof process.exit>[0] } | undefined
  const realExit = process.exit
  try {
    return runTransaction(
      trees.map((t) => t.native),
      (txs) => {
        thrown = undefined
        process.exit = (code) => {
          exit = { code }
          throw EXIT_REQUESTED
        }
        try {
          const result = checkedResult(body(txs.map((tx, i) => new TransactionalTree<unknown, unknown>(CONSTRUCT, tx, (trees[i] as Member).coders))))
          // body caught the exit request and returned: it is abandoned all the same
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
