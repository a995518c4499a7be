// sled-node/keyv: KeyvSled, a Keyv storage adapter over one sled database.
//
// Keyv gives the store keys already prefixed with its namespace (`ns:key`) and values
// already serialized (with the expiry inside, so Keyv itself handles TTL). Prefixes
// alone cannot keep namespaces apart in clear(): a Keyv without a namespace would
// clear every key, and namespace `a` would clear namespace `a:b`. So each namespace
// gets its own sled tree (`keyv` without a namespace, `keyv:<ns>` with one), and
// clear() and iterator() touch only that tree. Several KeyvSled on one path share one
// database and never see or clear each other's namespaces.
//
// Keyv 6 reads `store.capabilities` when it takes a store (the v6 storage contract's marker);
// Keyv 5 never does. KeyvSled declares no capabilities (so Keyv 6 wraps it in its bridge, as a
// store taking a relative ttl), but notes the read: from then on it serves Keyv 6, whose
// deleteMany returns one boolean per key and whose default namespace is `undefined`.

import { EventEmitter } from 'node:events'
import { type Db, open, type SledOptions, type Tree } from '../../index.js'
import { PendingCalls } from './pending-calls.js'

/** sled's settings for the database (encodings are the adapter's business: text). */
export type KeyvSledOptions = Omit<SledOptions, 'createNew'>

type TextTree = Tree<string, string>

/** Turns of the event loop disconnect() waits, at most, for calls on their way to the store. */
const DISCONNECT_TURNS = 3

/** Keyv's default namespace: Keyv 5's when none is given, and KeyvSled's for Keyv 6's `undefined`. */
const DEFAULT_NAMESPACE = 'keyv'

/** The tree holding one Keyv namespace (`undefined`: Keyv 5 instances made without one). */
function treeName(namespace: string | undefined): string {
  return namespace === undefined ? 'keyv' : `keyv:${namespace}`
}

function requireText(value: unknown, name: string): string {
  if (typeof value !== 'string') {
    const err = new TypeError(`KeyvSled stores Keyv's serialized strings: the "${name}" argument must be of type string. Received type ${typeof value}`)
    Object.defineProperty(err, 'code', { value: 'ERR_INVALID_ARG_TYPE', enumerable: true })
    throw err
  }
  return value
}

/**
 * Whether a value Keyv serialized carries an expiry that has passed: Keyv's JSON form
 * `{"value":…,"expires":<ms>}`. Another serializer, compression or encryption make it opaque:
 * then only Keyv's own read can tell, and this says no.
 */
function expired(serialized: string): boolean {
  if (!serialized.startsWith('{')) return false
  try {
    const { expires } = JSON.parse(serialized) as { expires?: unknown }
    return typeof expires === 'number' && expires <= Date.now()
  } catch {
    return false
  }
}

/** An entry of Keyv's `setMany`. */
export interface KeyvSledEntry {
  key: string
  value: unknown
  ttl?: number | undefined
}

/**
 * A Keyv store for Keyv 5 and Keyv 6: `new Keyv({ store: new KeyvSled(path) })`. Give each
 * Keyv its own KeyvSled (they may share a path): Keyv sets `store.namespace`, and a store
 * follows the namespace it was given last. Each namespace is a tree of its own.
 *
 * It has Keyv's whole storage surface, so Keyv 6 lets it manage its namespaces (keys reach
 * it without the namespace prefix) and wires `keyv.iterator()`. Keyv 5 prefixes the keys
 * and wires `keyv.iterator()` only for the dialects on its own list; with Keyv 5 do it
 * yourself: `keyv.iterator = keyv.generateIterator(store.iterator.bind(store))`.
 */
export class KeyvSled extends EventEmitter {
  /** Keyv reads `opts.dialect`/`opts.url` to describe the store. */
  readonly opts: { dialect: 'sled'; url: string } & KeyvSledOptions
  /** Set by Keyv: the namespace whose tree the next calls use. */
  namespace?: string | undefined
  readonly #db: Db<string, string>
  readonly #trees = new Map<string, TextTree>()
  /** Whether a Keyv 6 has taken this store (it read `capabilities`). */
  #keyv6 = false
  /** The store's calls not yet settled: disconnect() lets them land before it closes. */
  readonly #pending = new PendingCalls()
  /** This store's unawaited …Async calls, by tree and key (a count each). */
  readonly #inFlight = new Map<TextTree, Map<string, number>>()

  constructor(path: string, options?: KeyvSledOptions) {
    super()
    this.#db = open(path, { ...options, keyEncoding: 'utf8', valueEncoding: 'utf8' })
    this.opts = { ...options, dialect: 'sled', url: `sled://${this.#db.path}` }
  }

  /**
   * Read by Keyv 6, never by Keyv 5, when it takes the store: KeyvSled declares no
   * capabilities of the v6 storage contract (`undefined`: Keyv 6 wraps it in its bridge), and
   * from then on serves Keyv 6 (per-key deleteMany, `undefined` namespace as Keyv's default).
   * @internal
   */
  get capabilities(): undefined {
    this.#keyv6 = true
    return undefined
  }

  #tree(namespace = this.namespace): TextTree {
    // Keyv 6 has no default namespace: `new Keyv({ store })` is namespace `undefined`, where
    // Keyv 5's is 'keyv'. Both use the tree `keyv:keyv`.
    const name = treeName(namespace === undefined && this.#keyv6 ? DEFAULT_NAMESPACE : namespace)
    let tree = this.#trees.get(name)
    if (tree === undefined || tree.closed) {
      tree = this.#db.openTree<string, string>(name)
      this.#trees.set(name, tree)
    }
    return tree
  }

  async get(key: string): Promise<string | undefined> {
    const tree = this.#tree()
    return this.#ordered(tree, [key], tree.getAsync(key))
  }

  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    const tree = this.#tree()
    return this.#ordered(tree, keys, tree.getManyAsync(keys))
  }

  /** Whether the key holds a value whose expiry (inside Keyv's JSON) has not passed. */
  async has(key: string): Promise<boolean> {
    const tree = this.#tree()
    const value = await this.#ordered(tree, [key], tree.getAsync(key))
    return value !== undefined && !expired(value)
  }

  /** `has` for each key, in order. */
  async hasMany(keys: string[]): Promise<boolean[]> {
    const tree = this.#tree()
    const values = await this.#ordered(tree, keys, tree.getManyAsync(keys))
    return values.map((value) => value !== undefined && !expired(value))
  }

  /** Keyv keeps the expiry inside the serialized value, so `ttl` needs no work here. */
  async set(key: string, value: unknown, _ttl?: number): Promise<boolean> {
    const tree = this.#tree()
    await this.#ordered(tree, [key], tree.insertAsync(key, requireText(value, 'value')))
    return true
  }

  /**
   * `true` for each entry. Written at once on the calling thread, in one atomic batch, so no
   * later call overtakes it; but when one of its keys has an unawaited write of this store
   * pending, each entry goes through insertAsync after that write instead (not atomic then).
   */
  async setMany(entries: KeyvSledEntry[]): Promise<boolean[]> {
    const tree = this.#tree()
    // every entry checked before any is written
    const keys = entries.map(({ key }) => requireText(key, 'key'))
    const values = entries.map(({ value }) => requireText(value, 'value'))
    if (this.#pendingCall(tree, keys)) {
      await this.#ordered(tree, keys, Promise.all(keys.map((key, i) => tree.insertAsync(key, values[i]!))))
    } else {
      const batch = tree.batch()
      keys.forEach((key, i) => batch.insert(key, values[i]!))
      tree.apply(batch)
    }
    return entries.map(() => true)
  }

  /**
   * Whether the key existed. Removed at once on the calling thread, so no later call overtakes
   * it (@keyv/test-suite's unawaited `keyv.delete('foo')`, made through another KeyvSled on
   * the same path, before the next test's set and delete); but after an unawaited write of the
   * same key by this store, with removeAsync, so that it lands after that write.
   */
  async delete(key: string): Promise<boolean> {
    const tree = this.#tree()
    if (!this.#pendingCall(tree, [key])) return tree.remove(key) !== undefined
    return (await this.#ordered(tree, [key], tree.removeAsync(key))) !== undefined
  }

  /**
   * Removes the keys as delete does: at once in one atomic batch, or, when one of them has an
   * unawaited write of this store pending, each with removeAsync after it. For Keyv 5 one
   * boolean, whether every key existed (Keyv 5 returns it to its caller unchanged); once a
   * Keyv 6 has taken the store, one boolean per key, whether it existed (a key given twice:
   * only its first time), which Keyv 6 returns as it is.
   */
  async deleteMany(keys: string[]): Promise<boolean | boolean[]> {
    const tree = this.#tree()
    for (const key of keys) requireText(key, 'key')
    let removed: (string | undefined)[]
    if (this.#pendingCall(tree, keys)) {
      // in order, so a key given twice is found by its first removal only
      removed = await this.#ordered(tree, keys, Promise.all(keys.map((key) => tree.removeAsync(key))))
    } else {
      const seen = new Set<string>()
      removed = tree.getMany(keys).map((value, i) => (seen.has(keys[i]!) ? undefined : (seen.add(keys[i]!), value)))
      const batch = tree.batch()
      for (const key of keys) batch.remove(key)
      tree.apply(batch)
    }
    const existed = new Map<string, boolean>()
    keys.forEach((key, i) => {
      if (!existed.has(key)) existed.set(key, removed[i] !== undefined)
    })
    if (!this.#keyv6) return keys.every((key) => existed.get(key))
    return removed.map((value) => value !== undefined)
  }

  /** Whether one of `keys` of `tree` has an unawaited call of this store pending (a read too: it must not see a later delete). */
  #pendingCall(tree: TextTree, keys: string[]): boolean {
    const pending = this.#inFlight.get(tree)
    return pending !== undefined && keys.some((key) => pending.has(key))
  }

  /** `call`, an ordered …Async call on `keys` of `tree`: counted as pending per key until it settles. */
  #ordered<T>(tree: TextTree, keys: string[], call: Promise<T>): Promise<T> {
    let pending = this.#inFlight.get(tree)
    if (pending === undefined) this.#inFlight.set(tree, (pending = new Map()))
    const counts = pending
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1)
    const done = () => {
      for (const key of keys) {
        const left = (counts.get(key) ?? 1) - 1
        if (left === 0) counts.delete(key)
        else counts.set(key, left)
      }
      if (counts.size === 0 && this.#inFlight.get(tree) === counts) this.#inFlight.delete(tree)
    }
    call.then(done, done)
    return this.#pending.track(call)
  }

  /** Removes this namespace's keys only. */
  async clear(): Promise<void> {
    this.#tree().clear()
  }

  /** This namespace's `[key, serialized value]` pairs, in key order. */
  async *iterator(namespace: string | undefined = this.namespace): AsyncGenerator<[string, string], void> {
    for await (const entry of this.#tree(namespace).iter()) yield entry
  }

  /**
   * Closes this store's handle on the database (flushing it when it was the last), once the
   * calls made before it have settled: an unawaited set or delete still lands. Keyv awaits its
   * serializer and hooks before it calls set or delete, but calls disconnect at once, so this
   * first lets a few turns of the event loop pass for such calls to arrive (a bounded number:
   * calls that keep coming must not hold the close off for ever).
   */
  async disconnect(): Promise<void> {
    for (let turn = 0; turn < DISCONNECT_TURNS; turn++) {
      await new Promise((resolve) => setImmediate(resolve))
      if (this.#pending.size === 0) break
      await this.#pending.settled()
    }
    await this.#db.closeAsync()
  }
}
