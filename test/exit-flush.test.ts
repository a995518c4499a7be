// Open databases are flushed when the process ends, whether by process.exit() or by
// the natural end of the script, without close() or flush(). The child opens with the
// background flush off (flushEveryMs: null) so only the exit flush can save the write.
import { describe, expect, it } from 'vitest'
import { open } from 'sled-node'
import { expectCleanExit, runChild } from './helpers/child.js'
import { dbPath } from './helpers/tmp.js'

const endings = [
  ['process.exit(0)', 'process.exit(0)', 0],
  ['process.exit(3)', 'process.exit(3)', 3],
  ['process.exitCode = 0 and the natural end of the script', 'process.exitCode = 0', 0],
  ['the natural end of the script', '', 0],
  ['the end of the event loop after a timer', "setTimeout(() => db.insert('late', 'timer'), 20)", 0],
] as const

const openOptions = [
  ['flushEveryMs: null', '{ flushEveryMs: null }'],
  ['default options', '{}'],
] as const

describe.each(openOptions)('with %s', (_label, options) => {
  it.each(endings)('a write survives %s without close', (_ending, end, status) => {
    const path = dbPath()
    const res = runChild(
      `const db = sled.open(process.argv[1], ${options})
       db.insert('k', 'written before exit')
       db.openTree('t').insert('tk', 'tree value')
       ${end}`,
      [path],
    )
    expectCleanExit(res, status)

    const db = open(path)
    expect(db.wasRecovered).toBe(true)
    expect(db.get('k')?.toString()).toBe('written before exit')
    expect(db.openTree('t').get('tk')?.toString()).toBe('tree value')
    if (end.includes('late')) expect(db.get('late')?.toString()).toBe('timer')
    db.close()
  })
})

describe('exit flush', () => {
  it('flushes every open database of the process, and a second handle of one', () => {
    const [a, b] = [dbPath(), dbPath()]
    const res = runChild(
      `const [a, b] = process.argv.slice(1)
       const one = sled.open(a, { flushEveryMs: null })
       const two = sled.open(b, { flushEveryMs: null })
       const again = sled.open(a)
       one.insert('k', 'a')
       two.insert('k', 'b')
       again.insert('k2', 'a2')
       process.exit(0)`,
      [a, b],
    )
    expectCleanExit(res)
    const dbA = open(a)
    const dbB = open(b)
    expect(dbA.get('k')?.toString()).toBe('a')
    expect(dbA.get('k2')?.toString()).toBe('a2')
    expect(dbB.get('k')?.toString()).toBe('b')
    dbA.close()
    dbB.close()
  })

  it('writes made by async tasks that finished before exit survive', () => {
    const path = dbPath()
    const res = runChild(
      `const db = sled.open(process.argv[1], { flushEveryMs: null })
       Promise.all([db.insertAsync('a', '1'), db.insertAsync('b', '2')]).then(() => process.exit(0))`,
      [path],
    )
    expect(res.status).toBe(0)
    const db = open(path)
    expect(db.get('a')?.toString()).toBe('1')
    expect(db.get('b')?.toString()).toBe('2')
    db.close()
  })

  it('exiting after some handles were closed and others not flushes the open ones', () => {
    const path = dbPath()
    const res = runChild(
      `const first = sled.open(process.argv[1], { flushEveryMs: null })
       const second = sled.open(process.argv[1])
       first.insert('k1', 'v1')
       first.close()
       second.insert('k2', 'v2')
       process.exit(0)`,
      [path],
    )
    expectCleanExit(res)
    const db = open(path)
    expect(db.get('k1')?.toString()).toBe('v1')
    expect(db.get('k2')?.toString()).toBe('v2')
    db.close()
  })

  it('an uncaught exception ends the process with its error, and the writes still survive', () => {
    const path = dbPath()
    const res = runChild(
      `const db = sled.open(process.argv[1], { flushEveryMs: null })
       db.insert('k', 'v')
       throw new Error('deliberate')`,
      [path],
    )
    expect(res.status).toBe(1)
    expect(res.stderr).toContain('deliberate')
    const db = open(path)
    expect(db.get('k')?.toString()).toBe('v')
    db.close()
  })
})
