import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { open, openAsync, SledClosedError, SledUnsupportedError } from 'sled-node'
import { dbPath } from './helpers/tmp.js'

describe('open and close', () => {
  it('opens, writes, closes and reopens with the data', () => {
    const path = dbPath()
    const db = open(path)
    expect(db.closed).toBe(false)
    expect(db.wasRecovered).toBe(false)
    db.insert('k', 'v')
    db.close()
    expect(db.closed).toBe(true)
    const again = open(path)
    expect(again.wasRecovered).toBe(true)
    expect(again.get('k')?.toString()).toBe('v')
    again.close()
  })

  it('reopens with the segmentSize and compression it was created with when they are left out; a different value is refused', async () => {
    const path = dbPath()
    const created = open(path, { segmentSize: 65536, compression: { factor: 3 } })
    created.insert('k', 'v'.repeat(1000))
    created.close()
    // left out: taken from the database (sled would refuse its own defaults here)
    const plain = open(path)
    expect(plain.get('k')?.toString()).toBe('v'.repeat(1000))
    plain.close()
    const viaAsync = await openAsync(path, { cacheCapacity: 1 << 20 })
    expect(viaAsync.containsKey('k')).toBe(true)
    // the same values given explicitly are fine too
    const same = open(path, { segmentSize: 65536, compression: true })
    // and a later handle of the open path that gives a different value is a conflict
    expect(() => open(path, { compression: false })).toThrow(expect.objectContaining({ code: 'SLED_OPTIONS_CONFLICT' }))
    same.close()
    viaAsync.close()
    // given and different: sled refuses, as documented
    expect(() => open(path, { compression: false })).toThrow(SledUnsupportedError)
    expect(() => open(path, { segmentSize: 1 << 20 })).toThrow(expect.objectContaining({ code: 'SLED_UNSUPPORTED' }))
    // and the refusals changed nothing
    const after = open(path)
    expect(after.get('k')?.toString()).toBe('v'.repeat(1000))
    after.close()
  })

  it('close twice is a no-op and later calls throw SledClosedError', () => {
    const db = open(dbPath())
    db.close()
    expect(() => db.close()).not.toThrow()
    expect(() => db.get('k')).toThrow(SledClosedError)
  })

  it('openAsync resolves to a working Db', async () => {
    const db = await openAsync(dbPath())
    db.insert('a', '1')
    expect(db.get('a')?.toString()).toBe('1')
    await db.closeAsync()
    expect(db.closed).toBe(true)
  })

  it('temporary databases leave nothing on disk', () => {
    const path = dbPath()
    const db = open(path, { temporary: true })
    db.insert('x', 'y')
    db.flush()
    expect(existsSync(path)).toBe(true)
    db.close()
    expect(existsSync(path)).toBe(false)
  })

  it('Symbol.dispose closes', () => {
    const path = dbPath()
    let seen
    {
      using db = open(path)
      seen = db
      db.insert('a', 'b')
    }
    expect(seen.closed).toBe(true)
  })
})
