// KeyvSled against @keyv/test-suite (api, values, namespaces, iteration), with every
// store of the suite on one database path, plus namespace isolation between several
// KeyvSled on one path and persistence across a reopen.
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite'
import Keyv, { type KeyvOptions } from 'keyv'
import { open } from 'sled-node'
import { KeyvSled } from 'sled-node/keyv'
import * as vitest from 'vitest'
import { describe, expect, it, vi } from 'vitest'
import { dbPath } from './helpers/tmp.js'

/**
 * Keyv 5 wires `keyv.iterator()` only for stores whose `opts.dialect` is on its own
 * list (sqlite, postgres, mysql, mongo, redis, valkey, etcd); Keyv 6 wires it for any
 * store with an `iterator()`. This does what Keyv 6 does, with Keyv's own
 * generateIterator (its TTL and namespace handling), so the suite's iterator tests
 * run KeyvSled.iterator() and nothing else of ours.
 */
class IteratingKeyv extends Keyv {
  constructor(options?: KeyvOptions) {
    super(options)
    const store = this.store as Partial<KeyvSled>
    if (this.iterator === undefined && typeof store.iterator === 'function') {
      this.iterator = this.generateIterator(store.iterator.bind(store))
    }
  }
}

const shared = dbPath('keyv-suite')
const store = () => new KeyvSled(shared)

describe('@keyv/test-suite: api, values, namespaces', () => {
  keyvTestSuite(vitest, Keyv, store)
})

describe('@keyv/test-suite: iterator', () => {
  keyvIteratorTests(vitest, IteratingKeyv as typeof Keyv, store)
})

describe('namespaces on one path', () => {
  it('keep their keys apart: get, delete, clear and iterate see only their own', async () => {
    const path = dbPath()
    const a = new Keyv({ store: new KeyvSled(path), namespace: 'a' })
    const ab = new Keyv({ store: new KeyvSled(path), namespace: 'a:b' })
    const bare = new Keyv({ store: new KeyvSled(path), namespace: undefined })
    await a.set('k', 'from a')
    await ab.set('k', 'from a:b')
    await bare.set('k', 'bare')
    await bare.set('a:k', 'bare, prefixed like a')

    expect([await a.get('k'), await ab.get('k'), await bare.get('k')]).toEqual(['from a', 'from a:b', 'bare'])

    expect(await a.delete('k')).toBe(true)
    expect(await ab.get('k')).toBe('from a:b')
    expect(await bare.get('a:k')).toBe('bare, prefixed like a')

    await a.set('k2', 'again')
    await a.clear()
    expect(await ab.get('k')).toBe('from a:b')
    expect(await bare.get('k')).toBe('bare')

    // a Keyv without a namespace clears only the keys it wrote
    await bare.clear()
    expect(await bare.get('k')).toBeUndefined()
    expect(await ab.get('k')).toBe('from a:b')

    const abStore = ab.opts.store as KeyvSled
    const seen: string[] = []
    for await (const [key] of abStore.iterator()) seen.push(key)
    expect(seen).toEqual(['a:b:k'])
  })

  it('keeps data across a reopen, each namespace in its own tree', async () => {
    const path = dbPath()
    const store = new KeyvSled(path)
    const keyv = new Keyv({ store, namespace: 'users' })
    await keyv.set('ada', { born: 1815 })
    await store.disconnect()

    const again = new Keyv({ store: new KeyvSled(path), namespace: 'users' })
    expect(await again.get('ada')).toEqual({ born: 1815 })
    await (again.opts.store as KeyvSled).disconnect()

    const db = open(path)
    expect(db.treeNames().map(String)).toContain('keyv:users')
    db.close()
  })

  it('honours TTL through Keyv (the store keeps the expiry inside the value)', async () => {
    const keyv = new Keyv({ store: new KeyvSled(dbPath()) })
    await keyv.set('short', 'lived', 1000)
    expect(await keyv.has('short')).toBe(true)
    // only Date is faked: sled's async calls still complete on real timers
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 1001)
      expect(await keyv.has('short')).toBe(false)
      expect(await keyv.get('short')).toBeUndefined()
    } finally {
      vi.useRealTimers()
    }
  })

  it('rejects values that are not serialized strings', async () => {
    const store = new KeyvSled(dbPath())
    await expect(store.set('k', { not: 'serialized' })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  })
})
