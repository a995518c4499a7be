// What SledLevel adds beyond abstract-level's own suite (test/level-suite.cjs): where
// its data lives in sled, how sled's open errors reach level users, sled options, and
// one class for `import` and `require`.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { constants } from 'node:os'
import { open, SledIoError } from 'sled-node'
import { SledLevel } from 'sled-node/level'
import { describe, expect, it } from 'vitest'
import { runNode } from './helpers/child.js'
import { dbPath } from './helpers/tmp.js'

const require = createRequire(import.meta.url)
const levelEntry = require.resolve('sled-node/level')

describe('SledLevel', () => {
  it('is one class for import and require (in plain Node)', () => {
    const child = runNode(
      `import { SledLevel } from 'sled-node/level'
       import { createRequire } from 'node:module'
       const required = createRequire(import.meta.url)('sled-node/level').SledLevel
       console.log(typeof SledLevel, SledLevel === required)`,
      [],
      ['--input-type=module'],
    )
    expect(child.stdout.trim()).toBe('function true')
  })

  it("keeps its data in sled's default tree, sublevels as key prefixes", async () => {
    const path = dbPath()
    const db = new SledLevel<string, object>(path, { valueEncoding: 'json' })
    await db.put('top', { n: 1 })
    // sublevels take their own encodings, as in every level store
    await db.sublevel<string, object>('users', { valueEncoding: 'json' }).put('ada', { born: 1815 })
    await db.close()

    const sled = open(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    expect(sled.iter().toArray()).toEqual([
      ['!users!ada', '{"born":1815}'],
      ['top', '{"n":1}'],
    ])
    expect(sled.treeNames().map(String)).toEqual(['__sled__default'])
    sled.close()
  })

  it('writes a batch across sublevels atomically, in one sled batch', async () => {
    const db = new SledLevel(dbPath())
    const a = db.sublevel('a')
    await db.batch([
      { type: 'put', key: 'root', value: '1' },
      { type: 'put', key: 'k', value: '2', sublevel: a },
    ])
    expect(await db.keys().all()).toEqual(['!a!k', 'root'])
    await db.close()
  })

  it('getMany, has and hasMany read after the put() and del() calls made before them, awaited or not', async () => {
    const db = new SledLevel<string, string>(dbPath())
    await db.put('gone', 'x')
    const writes = [db.put('a', '1'), db.put('b', '2'), db.del('gone')]
    expect(await db.getMany(['a', 'gone', 'b', 'none'])).toEqual(['1', undefined, '2', undefined])
    writes.push(db.put('c', '3'), db.del('a'))
    const [has, hasMany] = [db.has('c'), db.hasMany(['a', 'b', 'c'])]
    expect(await has).toBe(true)
    expect(await hasMany).toEqual([false, true, true])
    await Promise.all(writes)
    await db.close()
  })

  it('batch(), a chained batch and clear() run after the calls made before them, awaited or not (and batches before the later ones)', async () => {
    const db = new SledLevel<string, string>(dbPath())
    // a chained batch is made synchronously, which level allows once open
    await db.open()
    for (let round = 0; round < 100; round++) {
      const calls: Promise<unknown>[] = [db.put('a', 'put'), db.batch([{ type: 'del', key: 'a' }])]
      const afterBatch = db.get('a')
      calls.push(db.put('b', 'put'), db.batch().put('b', 'chained').write())
      const afterChained = db.get('b')
      calls.push(db.put('c', 'put'))
      // clear() is not atomic: a call made while it runs may run before its deletes, so
      // the reads come after it has finished
      await db.clear()
      expect(await afterBatch).toBeUndefined()
      expect(await afterChained).toBe('chained')
      expect(await db.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, undefined])
      await Promise.all(calls)
      expect(await db.keys().all()).toEqual([])
    }
    await db.close()
  })

  it('with a prewrite hook (every put() and del() a batch), reads still see the writes made before them', async () => {
    const db = new SledLevel<string, string>(dbPath())
    db.hooks.prewrite.add(() => {})
    for (let round = 0; round < 100; round++) {
      const writes = [db.put(`k${round}`, 'v'), db.del(`k${round - 1}`)]
      expect(await db.get(`k${round}`)).toBe('v')
      expect(await db.has(`k${round - 1}`)).toBe(false)
      await Promise.all(writes)
    }
    await db.close()
  })

  it('close() lets the calls made before it land first, awaited or not', async () => {
    type Level = SledLevel<string, string>
    const cases: [string, (db: Level) => Promise<unknown>[], [string, string | undefined][]][] = [
      ['put', (db) => [db.put('k', 'v')], [['k', 'v']]],
      ['del', (db) => [db.del('gone')], [['gone', undefined]]],
      ['batch', (db) => [db.batch([{ type: 'put', key: 'b', value: 'v' }])], [['b', 'v']]],
      ['chained batch', (db) => [db.batch().put('c', 'v').write()], [['c', 'v']]],
      ['clear', (db) => [db.clear()], [['gone', undefined]]],
      [
        'a mix with a read',
        (db) => [...Array.from({ length: 20 }, (_, i) => db.put(`p${i}`, 'v')), db.del('gone'), db.batch().put('c', 'v').write(), db.get('gone')],
        [['p19', 'v'], ['gone', undefined], ['c', 'v']],
      ],
    ]
    for (const [name, make, expected] of cases) {
      for (let round = 0; round < 5; round++) {
        const path = dbPath()
        const seed = new SledLevel<string, string>(path)
        await seed.put('gone', 'x')
        await seed.close()
        const db = new SledLevel<string, string>(path)
        await db.open()
        const settled = Promise.allSettled(make(db))
        await db.close()
        // none of them was refused with the closed database's error
        expect((await settled).filter((c) => c.status === 'rejected'), name).toEqual([])
        const again = new SledLevel<string, string>(path)
        expect(await again.getMany(expected.map(([key]) => key)), name).toEqual(expected.map(([, value]) => value))
        await again.close()
      }
    }
  })

  it("passes sled's options on to sled (temporary removes the database on close)", async () => {
    const path = dbPath()
    const db = new SledLevel(path, { temporary: true, cacheCapacity: 1 << 20 })
    await db.put('k', 'v')
    expect(existsSync(path)).toBe(true)
    await db.close()
    expect(existsSync(path)).toBe(false)
  })

  it('createIfMissing / errorIfExists failures are LEVEL_IO_ERROR caused by a SledIoError; createNew is refused', async () => {
    const missing = new SledLevel(dbPath(), { createIfMissing: false })
    const notOpen = await missing.open().then(() => undefined, (e: unknown) => e)
    expect(notOpen).toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: { code: 'LEVEL_IO_ERROR' } })
    const cause = (notOpen as { cause: { cause: unknown } }).cause.cause
    expect(cause).toBeInstanceOf(SledIoError)
    expect(cause).toMatchObject({ code: 'SLED_IO', kind: 'NotFound', errno: constants.errno.ENOENT })

    const path = dbPath()
    const first = new SledLevel(path)
    await first.open()
    await first.close()
    const exists = await new SledLevel(path, { errorIfExists: true }).open().then(() => undefined, (e: unknown) => e)
    expect((exists as { cause: { cause: unknown } }).cause.cause).toMatchObject({ code: 'SLED_IO', kind: 'AlreadyExists', errno: constants.errno.EEXIST })

    // refused before anything opens: the path stays free
    const refused = dbPath()
    expect(() => new SledLevel(refused, { createNew: true } as never)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => new SledLevel('')).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(existsSync(refused)).toBe(false)
  })

  it('reports a database another process holds as LEVEL_LOCKED, caused by SledLockedError', () => {
    const path = dbPath()
    const held = open(path)
    try {
      const child = runNode(`
        const { SledLevel } = require(${JSON.stringify(levelEntry)})
        new SledLevel(${JSON.stringify(path)}).open().then(
          () => console.log('opened'),
          (err) => console.log(JSON.stringify([err.code, err.cause.code, err.cause.cause.name, err.cause.cause.code])))
      `)
      expect(JSON.parse(child.stdout)).toEqual(['LEVEL_DATABASE_NOT_OPEN', 'LEVEL_LOCKED', 'SledLockedError', 'SLED_LOCKED'])
    } finally {
      held.close()
    }
  })
})
