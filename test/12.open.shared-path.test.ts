// One path opened several times in one process shares one sled database; options
// that disagree with the open database are refused; the file lock is released on the
// last close, and another process gets SledLockedError while this one holds it.
import { spawn } from 'node:child_process'
import { realpathSync } from 'node:fs'
import os from 'node:os'
import { describe, expect, it } from 'vitest'
import { open, openAsync, SledError, SledLockedError } from 'sled-node'
import { entry, runChild } from './helpers/child.js'
import { caught } from './helpers/caught.js'
import { dbPath } from './helpers/tmp.js'

function expectConflict(err: unknown, option: string): void {
  expect(err).toBeInstanceOf(SledError)
  expect((err as SledError).code).toBe('SLED_OPTIONS_CONFLICT')
  expect((err as SledError).message).toContain(option)
}

/** A child that opens `path`, reads `key`, writes `wrote`=yes, and prints JSON. */
const OPEN_IN_CHILD = `
  const [path, key] = process.argv.slice(1)
  try {
    const db = sled.open(path)
    const value = db.get(key)
    db.insert('wrote', 'yes')
    db.close()
    console.log(JSON.stringify({ ok: true, value: value === undefined ? null : value.toString() }))
  } catch (e) {
    console.log(JSON.stringify({ ok: false, name: e.name, code: e.code, message: e.message,
      locked: e instanceof sled.SledLockedError, io: e instanceof sled.SledIoError, errno: e.errno, kind: e.kind }))
  }
`

describe('the same path opened twice in one thread', () => {
  it('shares data both ways, in the default tree and in named trees', () => {
    const path = dbPath()
    const a = open(path)
    const b = open(path)
    expect(b.path).toBe(a.path)
    a.insert('from-a', '1')
    b.insert('from-b', '2')
    expect(b.get('from-a')?.toString()).toBe('1')
    expect(a.get('from-b')?.toString()).toBe('2')
    a.openTree('t').insert('x', 'y')
    expect(b.openTree('t').get('x')?.toString()).toBe('y')
    expect(b.compareAndSwap('from-a', '1', '3')).toEqual({ ok: true })
    expect(a.get('from-a')?.toString()).toBe('3')
    a.close()
    b.close()
  })

  it('closing one handle leaves the other working, trees included', async () => {
    const path = dbPath()
    const a = open(path)
    const b = open(path)
    const bTree = b.openTree('t')
    a.insert('k', 'v')
    a.close()
    expect(a.closed).toBe(true)
    expect(b.closed).toBe(false)
    expect(b.get('k')?.toString()).toBe('v')
    b.insert('k2', 'v2')
    bTree.insert('t', '1')
    expect(bTree.get('t')?.toString()).toBe('1')
    expect(await b.getAsync('k2')).toEqual(Buffer.from('v2'))
    expect(b.flush()).toBeGreaterThanOrEqual(0)
    b.close()
    const c = open(path)
    expect(c.get('k2')?.toString()).toBe('v2')
    expect(c.openTree('t').get('t')?.toString()).toBe('1')
    c.close()
  })

  it('the lock is held until the last handle closes, then released', () => {
    const path = dbPath()
    const a = open(path)
    const b = open(path)
    a.insert('k', 'v')
    a.close()
    const whileOpen = runChild(OPEN_IN_CHILD, [path, 'k'])
    expect(JSON.parse(whileOpen.stdout)).toMatchObject({ ok: false, code: 'SLED_LOCKED' })
    b.close()
    const afterClose = runChild(OPEN_IN_CHILD, [path, 'k'])
    expect(JSON.parse(afterClose.stdout)).toEqual({ ok: true, value: 'v' })
  })
})

describe('options of a path that is already open', () => {
  it('a different cacheCapacity throws SLED_OPTIONS_CONFLICT', () => {
    const path = dbPath()
    const db = open(path, { cacheCapacity: 1 << 20 })
    expectConflict(
      caught(() => open(path, { cacheCapacity: 1 << 21 })),
      'cacheCapacity',
    )
    db.close()
  })

  it('createNew: true on an open path throws SLED_OPTIONS_CONFLICT', () => {
    const path = dbPath()
    const db = open(path)
    expectConflict(
      caught(() => open(path, { createNew: true })),
      'createNew',
    )
    db.close()
  })

  it('a value differing from the default that the open database took', () => {
    const path = dbPath()
    const db = open(path)
    expectConflict(
      caught(() => open(path, { flushEveryMs: 100 })),
      'flushEveryMs',
    )
    expectConflict(
      caught(() => open(path, { flushEveryMs: null })),
      'flushEveryMs',
    )
    expectConflict(
      caught(() => open(path, { temporary: true })),
      'temporary',
    )
    db.close()
  })

  it('compression: true or {} means factor 5: it conflicts with another factor and matches 5', () => {
    const path = dbPath()
    const db = open(path, { compression: { factor: 3 } })
    // `{}` is refused by the type (it wants `factor`) but accepted at run time
    for (const compression of [true, {} as { factor: number }, { factor: 5 }]) {
      expectConflict(
        caught(() => open(path, { compression })),
        'compression.factor',
      )
    }
    const same = open(path, { compression: { factor: 3 } })
    expect(same.closed).toBe(false)
    same.close()
    db.close()
    const five = dbPath()
    const other = open(five, { compression: { factor: 5 } })
    for (const compression of [true, {} as { factor: number }]) {
      const joined = open(five, { compression })
      expect(joined.closed).toBe(false)
      joined.close()
    }
    expectConflict(
      caught(() => open(five, { compression: false })),
      'compression',
    )
    other.close()
  })

  it('openAsync rejects with the same conflict', async () => {
    const path = dbPath()
    const db = open(path, { cacheCapacity: 1 << 20 })
    const err = await openAsync(path, { cacheCapacity: 1 << 22 }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expectConflict(err, 'cacheCapacity')
    db.close()
  })

  it('the same options, a subset of them, or none at all are fine', () => {
    const path = dbPath()
    const opts = { cacheCapacity: 1 << 20, flushEveryMs: 200, mode: 'highThroughput' as const }
    const first = open(path, opts)
    first.insert('k', 'v')
    const handles = [
      open(path, opts),
      open(path, { cacheCapacity: 1 << 20 }),
      open(path, {}),
      open(path),
      open(path, { createNew: false }),
    ]
    for (const h of handles) expect(h.get('k')?.toString()).toBe('v')
    for (const h of handles) h.close()
    first.close()
  })

  it("options equal to sled's defaults match a database opened without them", () => {
    const path = dbPath()
    const first = open(path)
    const second = open(path, { cacheCapacity: 1024 * 1024 * 1024, flushEveryMs: 500, temporary: false })
    second.insert('k', 'v')
    expect(first.get('k')?.toString()).toBe('v')
    second.close()
    first.close()
  })

  it('a refused open changes nothing: the open handle works and the path reopens later with the new options', () => {
    const path = dbPath()
    const db = open(path, { cacheCapacity: 1 << 20 })
    db.insert('k', 'v')
    caught(() => open(path, { cacheCapacity: 1 << 21 }))
    caught(() => open(path, { createNew: true }))
    expect(db.get('k')?.toString()).toBe('v')
    db.insert('k2', 'v2')
    db.close()
    const again = open(path, { cacheCapacity: 1 << 21 })
    expect(again.get('k2')?.toString()).toBe('v2')
    again.close()
  })

  it('createNew: true on an existing but closed database fails; on a fresh path it works', () => {
    const path = dbPath()
    const fresh = open(path, { createNew: true })
    fresh.insert('k', 'v')
    fresh.close()
    const err = caught(() => open(path, { createNew: true }))
    expect(err).toBeInstanceOf(SledError)
    const again = open(path)
    expect(again.get('k')?.toString()).toBe('v')
    again.close()
  })
})

describe('reopening', () => {
  it('immediately after close, many times, in this process', () => {
    const path = dbPath()
    for (let i = 0; i < 50; i++) {
      const db = open(path)
      expect(db.get('n')?.toString()).toBe(i === 0 ? undefined : String(i - 1))
      db.insert('n', String(i))
      db.close()
    }
  })

  it('immediately after close, with openAsync and closeAsync', async () => {
    const path = dbPath()
    for (let i = 0; i < 20; i++) {
      const db = await openAsync(path)
      db.insert('n', String(i))
      await db.closeAsync()
    }
    const db = open(path)
    expect(db.get('n')?.toString()).toBe('19')
    db.close()
  })

  it('from a child process right after close', () => {
    const path = dbPath()
    const db = open(path)
    db.insert('k', 'parent')
    db.close()
    const res = runChild(OPEN_IN_CHILD, [path, 'k'])
    expect(res.status).toBe(0)
    expect(JSON.parse(res.stdout)).toEqual({ ok: true, value: 'parent' })
    const again = open(path)
    expect(again.get('wrote')?.toString()).toBe('yes')
    again.close()
  })
})

describe('another process', () => {
  it('gets SledLockedError naming the path while this process holds it, and succeeds after close', () => {
    const path = dbPath()
    const db = open(path)
    db.insert('k', 'v')
    const locked = runChild(OPEN_IN_CHILD, [path, 'k'])
    expect(locked.status).toBe(0)
    const err = JSON.parse(locked.stdout)
    expect(err).toMatchObject({ ok: false, name: 'SledLockedError', code: 'SLED_LOCKED', locked: true, io: true })
    // flock's EWOULDBLOCK (11 on Linux), as the other SledIoErrors carry theirs
    expect(err).toMatchObject({ kind: 'WouldBlock', errno: os.constants.errno.EWOULDBLOCK })
    expect(err.message).toContain(db.path)
    // the failed attempt did not disturb this process's handle
    expect(db.get('k')?.toString()).toBe('v')
    db.close()
    const ok = runChild(OPEN_IN_CHILD, [path, 'k'])
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, value: 'v' })
  })

  it('gets a rejected openAsync with SledLockedError', () => {
    const path = dbPath()
    const db = open(path)
    const res = runChild(
      `sled.openAsync(process.argv[1]).then(
        () => console.log('opened'),
        (e) => console.log(JSON.stringify({ code: e.code, locked: e instanceof sled.SledLockedError })))`,
      [path],
    )
    expect(JSON.parse(res.stdout)).toEqual({ code: 'SLED_LOCKED', locked: true })
    db.close()
  })

  it('while a child holds the lock, this process gets SledLockedError, and opens after the child exits', async () => {
    const path = dbPath()
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const sled = require(${JSON.stringify(entry)})
         const db = sled.open(process.argv[1])
         db.insert('k', 'child')
         db.flush()
         console.log('ready')
         process.stdin.once('data', () => { db.close(); process.exit(0) })`,
        '--',
        path,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    )
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
        child.on('exit', () => reject(new Error('child exited before it was ready')))
      })
      const err = caught(() => open(path))
      expect(err).toBeInstanceOf(SledLockedError)
      expect((err as SledLockedError).code).toBe('SLED_LOCKED')
      expect((err as SledLockedError).message).toContain(realpathSync(path))
      const asyncErr = await openAsync(path).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(asyncErr).toBeInstanceOf(SledLockedError)
    } finally {
      child.stdin.end('go\n')
    }
    expect(await exited).toBe(0)
    // the failed opens left nothing behind in this process's registry
    const db = open(path)
    expect(db.get('k')?.toString()).toBe('child')
    db.close()
  })
})
