// Options arguments are plain objects, read through their own enumerable properties only:
// an object inheriting its options, a Map, a Date or a class instance is ERR_INVALID_ARG_TYPE
// (and nothing is created); null-prototype objects and objects from another realm are fine;
// each option is read once.
import { existsSync } from 'node:fs'
import { runInNewContext } from 'node:vm'
import { open, openAsync } from 'sled-node'
import { describe, expect, it } from 'vitest'
import { caught } from './helpers/caught.js'
import { dbPath } from './helpers/tmp.js'

class Options {
  temporary = true
}

const notPlain: [string, () => unknown][] = [
  ['options inherited through a prototype', () => Object.create({ temporary: true, valueEncoding: 'utf8' })],
  ['a Map', () => new Map([['temporary', true]])],
  ['a Date', () => new Date()],
  ['a class instance', () => new Options()],
  ['an array', () => []],
]

describe('options that are not a plain object', () => {
  for (const [label, make] of notPlain) {
    it(`open(path, ${label}) is ERR_INVALID_ARG_TYPE and creates nothing`, async () => {
      const path = dbPath()
      expect(caught(() => open(path, make() as object))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
      await expect(openAsync(path, make() as object)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
      expect(existsSync(path)).toBe(false)
    })
  }

  it('range, scanPrefix, openTree and watchPrefix options too', () => {
    const db = open(dbPath(), { temporary: true })
    try {
      const inherited = Object.create({ limit: 1 }) as object
      expect(caught(() => db.range(inherited))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
      expect(caught(() => db.scanPrefix('', inherited))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
      expect(caught(() => db.openTree('t', Object.create({ valueEncoding: 'utf8' }) as object))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
      expect(caught(() => db.watchPrefix('', new Map() as object))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
    } finally {
      db.close()
    }
  })
})

describe('plain objects', () => {
  it('a null-prototype object and an object from another realm are accepted', () => {
    const bare = Object.assign(Object.create(null) as object, { valueEncoding: 'utf8' as const, temporary: true })
    const db = open(dbPath(), bare)
    db.insert('k', 'v')
    expect(db.get('k')).toBe('v')
    db.close()
    const foreign = runInNewContext('({ valueEncoding: "utf8", temporary: true })') as { valueEncoding: 'utf8'; temporary: boolean }
    const other = open(dbPath(), foreign)
    other.insert('k', 'v')
    expect(other.get('k')).toBe('v')
    other.close()
  })

  it('each option is read once, and only own enumerable properties count', () => {
    let reads = 0
    const options = {
      get valueEncoding() {
        reads++
        return 'utf8' as const
      },
      temporary: true,
    }
    Object.defineProperty(options, 'cacheCapacity', { value: 1, enumerable: false })
    const db = open(dbPath(), options)
    try {
      expect(reads).toBe(1)
      db.insert('k', 'v')
      expect(db.get('k')).toBe('v')
    } finally {
      db.close()
    }
  })
})
