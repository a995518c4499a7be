// The database-wide facts of a Db: generateId (one increasing sequence per database),
// sizeOnDisk, wasRecovered and the canonical path.
import { Buffer } from 'node:buffer'
import { mkdirSync, realpathSync, symlinkSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { open } from 'sled-node'
import { dbPath, tempDir } from './helpers/tmp.js'

describe('generateId', () => {
  it('returns strictly increasing bigints, also across reopen', () => {
    const path = dbPath()
    const db = open(path)
    const ids: bigint[] = []
    for (let i = 0; i < 50; i++) ids.push(db.generateId())
    for (const id of ids) expect(typeof id).toBe('bigint')
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true)
    const last = ids[ids.length - 1]!
    db.close()
    const again = open(path)
    expect(again.generateId() > last).toBe(true)
    again.close()
  })

  it('two handles of one path share one id sequence', () => {
    const path = dbPath()
    const a = open(path)
    const b = open(path)
    const seen = new Set<bigint>()
    for (let i = 0; i < 20; i++) {
      seen.add(a.generateId())
      seen.add(b.generateId())
    }
    expect(seen.size).toBe(40)
    a.close()
    b.close()
  })
})

describe('sizeOnDisk', () => {
  it('is a positive number of bytes', () => {
    const db = open(dbPath())
    db.insert('k', Buffer.alloc(10_000, 1))
    db.flush()
    const size = db.sizeOnDisk()
    expect(typeof size).toBe('number')
    expect(Number.isInteger(size)).toBe(true)
    expect(size).toBeGreaterThan(0)
    db.close()
  })
})

describe('wasRecovered', () => {
  it('is false for a new database and true when existing data is opened', () => {
    const path = dbPath()
    const db = open(path)
    expect(db.wasRecovered).toBe(false)
    db.insert('k', 'v')
    db.close()
    const again = open(path)
    expect(again.wasRecovered).toBe(true)
    again.close()
  })
})

describe('path', () => {
  it('is absolute and canonical when opened through a relative path', () => {
    const dir = tempDir()
    const abs = join(dir, 'db')
    const rel = relative(process.cwd(), abs)
    expect(rel.startsWith('/')).toBe(false)
    const db = open(rel)
    expect(db.path).toBe(realpathSync(abs))
    db.close()
  })

  it("has no '..' or '.' segments or trailing slash", () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'sub'))
    const db = open(`${dir}/sub/../sub/./../db/`)
    expect(db.path).toBe(join(realpathSync(dir), 'db'))
    expect(db.path).not.toMatch(/(^|\/)\.\.?(\/|$)/)
    db.close()
  })

  it('resolves symlinks, so two spellings of one directory share one database', () => {
    const dir = tempDir()
    const real = join(dir, 'real')
    mkdirSync(real)
    symlinkSync(real, join(dir, 'link'))
    const a = open(join(dir, 'link'))
    const b = open(real)
    expect(a.path).toBe(realpathSync(real))
    expect(b.path).toBe(a.path)
    a.insert('k', 'v')
    expect(b.get('k')?.toString()).toBe('v')
    a.close()
    b.close()
  })
})
