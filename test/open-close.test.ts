import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { open, openAsync, SledClosedError } from 'sled-node'
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
