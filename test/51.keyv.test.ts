// KeyvSled with stock Keyv 5 against @keyv/test-suite (api, values, namespaces, iteration),
// every store of the suite on one database path, plus namespace isolation between several
// KeyvSled on one path, persistence across a reopen, and the store's own methods.
import { readFileSync } from 'node:fs'
import Keyv from 'keyv'
import { open } from 'sled-node'
import { KeyvSled } from 'sled-node/keyv'
import { describe, expect, it, vi } from 'vitest'
import { keyvSuites } from './helpers/keyv-suite.js'
import { dbPath } from './helpers/tmp.js'

// Keyv 5 wires keyv.iterator() only for stores whose opts.dialect is on its own list (sqlite,
// postgres, mysql, mongo, redis, valkey, etcd): for any other store keyv.iterator is undefined
const unwired = 'Keyv 5 wires keyv.iterator() only for the dialects on its own list'
keyvSuites('Keyv 5', Keyv, {
  '.iterator() returns an asyncIterator': unwired,
  'iterator() iterates over all values': unwired,
  "iterator() doesn't yield values from other namespaces": unwired,
  "iterator() doesn't yield expired values, and deletes them": unwired,
})

describe('keyv.iterator() wired by hand with Keyv 5, as docs/api.md shows', () => {
  it("yields the namespace's entries, deserialized, without the prefix", async () => {
    const store = new KeyvSled(dbPath())
    const keyv = new Keyv({ store, namespace: 'users' })
    await keyv.set('ada', { born: 1815 })
    const seen: unknown[] = []
    const console = { log: (...entry: unknown[]) => seen.push(entry) }
    // verbatim from docs/api.md (checked below), so that the snippet type-checks as written
    keyv.iterator = keyv.generateIterator(store.iterator.bind(store))
    for await (const [key, value] of keyv.iterator(undefined)) console.log(key, value)   // ada { born: 1815 }
    expect(seen).toEqual([['ada', { born: 1815 }]])
    const docs = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8')
    expect(docs).toContain(
      'keyv.iterator = keyv.generateIterator(store.iterator.bind(store))\n' +
        'for await (const [key, value] of keyv.iterator(undefined)) console.log(key, value)   // ada { born: 1815 }\n',
    )
    await store.disconnect()
  })
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

    const abStore = ab.opts.store as unknown as KeyvSled
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
    await (again.opts.store as unknown as KeyvSled).disconnect()

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

  it('has/hasMany honour the expiry inside the serialized value; setMany/deleteMany', async () => {
    const store = new KeyvSled(dbPath())
    const keyv = new Keyv({ store, namespace: 'n' })
    await keyv.set('short', 'lived', 1)
    await keyv.set('long', 'lived')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await keyv.has('short')).toBe(false)
    expect(await keyv.has('long')).toBe(true)
    expect(await keyv.hasMany(['short', 'long', 'none'])).toEqual([false, true, false])
    expect(await keyv.setMany([{ key: 'x', value: 1 }, { key: 'y', value: 2 }])).toEqual([true, true])
    expect(await keyv.getMany(['x', 'y'])).toEqual([1, 2])
    expect(await keyv.deleteMany(['x', 'y'])).toBe(true)
    expect(await keyv.deleteMany(['x'])).toBe(false)
    await store.disconnect()
  })

  it('getMany and hasMany read after the sets made before them, awaited or not', async () => {
    const store = new KeyvSled(dbPath())
    const sets = [store.set('a', '"1"'), store.set('b', '"2"')]
    expect(await store.getMany(['a', 'none', 'b'])).toEqual(['"1"', undefined, '"2"'])
    expect(await store.hasMany(['a', 'none', 'b'])).toEqual([true, false, true])
    await Promise.all(sets)
    await store.disconnect()
  })

  it.each([
    ['delete, then set', (s: KeyvSled) => [s.delete('k'), s.set('k', '"new"')], '"new"'],
    ['set, then delete', (s: KeyvSled) => [s.set('k', '"new"'), s.delete('k')], undefined],
    ['set, then setMany', (s: KeyvSled) => [s.set('k', '"new"'), s.setMany([{ key: 'k', value: '"many"' }])], '"many"'],
    ['setMany, then deleteMany', (s: KeyvSled) => [s.setMany([{ key: 'k', value: '"many"' }]), s.deleteMany(['k'])], undefined],
  ])('unawaited writes land in call order: %s', async (_order, writes, expected) => {
    const store = new KeyvSled(dbPath())
    let wrong = 0
    for (let i = 0; i < 200; i++) {
      await store.set('k', '"old"')
      const pending = writes(store)
      if ((await store.get('k')) !== expected) wrong++
      await Promise.all(pending)
    }
    expect(wrong).toBe(0)
    await store.disconnect()
  })

  it('disconnect() lets the unawaited calls made before it land', async () => {
    const path = dbPath()
    const store = new KeyvSled(path)
    await store.set('gone', '"x"')
    const calls = [store.set('b', '"b"'), store.delete('gone'), store.setMany([{ key: 'a', value: '"a"' }]), store.deleteMany(['none'])]
    await store.disconnect()
    expect(await Promise.all(calls)).toEqual([true, true, [true], false])
    const again = new KeyvSled(path)
    expect(await again.getMany(['gone', 'a', 'b'])).toEqual([undefined, '"a"', '"b"'])
    await again.disconnect()
  })

  it.each([
    ['set', (keyv: Keyv) => keyv.set('k', 'new'), { k: 'new', gone: 'x' }],
    ['delete', (keyv: Keyv) => keyv.delete('gone'), { k: undefined, gone: undefined }],
  ])('keyv.disconnect() lets an unawaited keyv.%s() made before it land, though Keyv awaits its serializer first', async (_name, write, expected) => {
    const path = dbPath()
    const keyv = new Keyv({ store: new KeyvSled(path), namespace: 'n' })
    await keyv.set('gone', 'x')
    const errors: unknown[] = []
    keyv.on('error', (error) => errors.push(error))
    const call = write(keyv)
    await keyv.disconnect()
    expect(await call).toBe(true)
    expect(errors).toEqual([])
    const again = new Keyv({ store: new KeyvSled(path), namespace: 'n' })
    expect({ k: await again.get('k'), gone: await again.get('gone') }).toEqual(expected)
    await again.disconnect()
  })

  it("an unawaited delete through one store is never overtaken by a later set through another store on the path (@keyv/test-suite's pattern)", async () => {
    const path = dbPath()
    const [first, second] = [new KeyvSled(path), new KeyvSled(path)]
    let lost = 0
    for (let i = 0; i < 300; i++) {
      void first.delete('foo')
      await second.set('foo', '"bar"')
      if (!(await second.delete('foo'))) lost++
    }
    expect(lost).toBe(0)
    await Promise.all([first.disconnect(), second.disconnect()])
  })

  it('setMany and deleteMany with a key that is not a string write nothing', async () => {
    const store = new KeyvSled(dbPath())
    await store.set('e', '"e"')
    await expect(store.setMany([{ key: 'a', value: '"a"' }, { key: 1 as never, value: '"b"' }])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
    await expect(store.deleteMany(['e', 2 as never])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
    expect(await store.getMany(['a', 'e'])).toEqual([undefined, '"e"'])
    await store.disconnect()
  })

  it('deleteMany with a key given twice: Keyv 5 gets whether every key existed', async () => {
    const store = new KeyvSled(dbPath())
    await store.set('a', '"1"')
    expect(await store.deleteMany(['a', 'a'])).toBe(true)
    expect(await store.deleteMany(['a', 'b'])).toBe(false)
    await store.disconnect()
  })

  it('rejects values that are not serialized strings', async () => {
    const store = new KeyvSled(dbPath())
    await expect(store.set('k', { not: 'serialized' })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  })
})
