// KeyvSled with stock Keyv 6 (npm:keyv@6 as `keyv6`; Keyv 6 needs Node >= 22.19, so this file
// runs in CI's Node 24 run and is skipped on older Nodes): @keyv/test-suite, and what Keyv 6
// makes of a full storage adapter (its own namespaces, keyv.iterator()).
import { describe, expect, it } from 'vitest'
import { open } from 'sled-node'
import { KeyvSled } from 'sled-node/keyv'
import { keyvSuites } from './helpers/keyv-suite.js'
import { dbPath } from './helpers/tmp.js'

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
const supported = major > 22 || (major === 22 && minor >= 19)

if (!supported) {
  describe.skip(`Keyv 6 needs Node >= 22.19 (this is ${process.version})`, () => {
    it('runs in the Node 24 run', () => {})
  })
} else {
  const { default: Keyv } = await import('keyv6')

  keyvSuites('Keyv 6', Keyv, {
    // @keyv/test-suite 2.1 still expects Keyv 5's single boolean; Keyv 6's deleteMany returns
    // one boolean per key, and [false, false, false] is truthy
    '.deleteMany([keys]) with nonexistent keys resolves to false': "Keyv 6's deleteMany returns an array (a suite written for Keyv 5)",
  })

  describe('Keyv 6 with KeyvSled', () => {
    it('lets the store manage its namespaces: each in its own tree, keys without the prefix', async () => {
      const path = dbPath()
      const users = new Keyv({ store: new KeyvSled(path), namespace: 'users' })
      const posts = new Keyv({ store: new KeyvSled(path), namespace: 'posts' })
      await users.set('ada', { born: 1815 })
      await posts.set('ada', 'a post')
      await users.clear()
      expect(await users.get('ada')).toBeUndefined()
      expect(await posts.get('ada')).toBe('a post')
      const seen: unknown[] = []
      for await (const entry of posts.iterator()) seen.push(entry)
      expect(seen).toEqual([['ada', 'a post']])
      await users.disconnect()
      await posts.disconnect()

      const db = open(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
      expect(db.treeNames().map(String).sort()).toEqual(expect.arrayContaining(['keyv:posts', 'keyv:users']))
      expect(db.openTree('keyv:posts').iter().toArray().map(([k]) => k)).toEqual(['ada'])
      db.close()
    })

    it('has, hasMany, setMany and deleteMany through Keyv 6, TTL honoured', async () => {
      const keyv = new Keyv({ store: new KeyvSled(dbPath()), namespace: 'n' })
      expect(await keyv.setMany([{ key: 'a', value: 1 }, { key: 'b', value: 2, ttl: 1 }])).toEqual([true, true])
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(await keyv.hasMany(['a', 'b', 'c'])).toEqual([true, false, false])
      expect(await keyv.has('a')).toBe(true)
      expect(await keyv.deleteMany(['a'])).toEqual([true])
      expect(await keyv.get('a')).toBeUndefined()
      await keyv.disconnect()
    })

    it('deleteMany answers per key: whether each key existed', async () => {
      const keyv = new Keyv({ store: new KeyvSled(dbPath()), namespace: 'n' })
      await keyv.set('d1', 1)
      await keyv.set('d2', 2)
      expect(await keyv.deleteMany(['d1', 'nope'])).toEqual([true, false])
      expect(await keyv.deleteMany(['d2', 'd2', 'd1'])).toEqual([true, false, false])
      expect(await keyv.delete(['nope', 'nope2'])).toEqual([false, false])
      await keyv.disconnect()
    })

    it("Keyv's default namespace uses the tree keyv:keyv, as with Keyv 5", async () => {
      const path = dbPath()
      const keyv = new Keyv({ store: new KeyvSled(path) })
      expect(keyv.namespace).toBeUndefined()
      await keyv.set('k', 'v')
      await keyv.disconnect()
      const db = open(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
      expect(db.treeNames().map(String)).toContain('keyv:keyv')
      expect(db.treeNames().map(String)).not.toContain('keyv')
      expect(db.openTree('keyv:keyv').iter().toArray().map(([k]) => k)).toEqual(['k'])
      db.close()
      // a KeyvSled used on its own, without a namespace, still uses the tree keyv
      const bare = new KeyvSled(path)
      await bare.set('own', 'x')
      expect(await bare.get('k')).toBeUndefined()
      await bare.disconnect()
    })

    it('shares each tree with Keyv 5: get does not find Keyv 5 keys, iterator and clear see them', async () => {
      const { default: Keyv5 } = await import('keyv')
      const path = dbPath()
      const five = new Keyv5({ store: new KeyvSled(path), namespace: 'users' })
      const six = new Keyv({ store: new KeyvSled(path), namespace: 'users' })
      await five.set('ada', 'from 5')
      await six.set('bob', 'from 6')
      expect(await six.get('ada')).toBeUndefined()
      const seen: unknown[] = []
      for await (const [key] of six.iterator()) seen.push(key)
      expect(seen).toEqual(['bob', 'users:ada'])
      await six.clear()
      expect(await five.get('ada')).toBeUndefined()
      await five.disconnect()
      await six.disconnect()
    })
  })
}
