// Db export/import: export() yields one {type 'tree', name, entries} collection per
// tree (including __sled__default); import() into a fresh database reproduces it
// (same Db.checksum, same contents); exportTo/importFrom do the same through a file;
// import never overwrites; bad files, truncated files, unknown collection types and
// closed databases fail with the documented error classes.
import { Buffer } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  type Db,
  type ExportedCollection,
  open,
  SledClosedError,
  SledError,
  SledIoError,
  SledUnsupportedError,
} from 'sled-node'
import { caught, failureOf } from './helpers/caught.js'
import { dbPath, tempDir } from './helpers/tmp.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Every tree's name -> its entries, all as hex, tree names sorted. */
function snapshot(db: Db): Record<string, [string, string][]> {
  const out: Record<string, [string, string][]> = {}
  const names = db.treeNames().map(hex).sort()
  for (const name of names) {
    out[name] = db
      .openTree(Buffer.from(name, 'hex'))
      .iter()
      .toArray()
      .map(([k, v]) => [hex(k), hex(v)])
  }
  return out
}

/** A database with several trees: binary keys and names, empty keys and values, an empty tree, many entries, a large value. */
function populated(): { db: Db; path: string } {
  const path = dbPath()
  const db = open(path)
  db.insert('default-key', 'default value')
  db.insert(Buffer.from([0]), Buffer.alloc(0))
  const alpha = db.openTree('alpha')
  alpha.insert(Buffer.alloc(0), 'empty key')
  alpha.insert(Buffer.from([0x00]), Buffer.alloc(0))
  alpha.insert(Buffer.from([0xff, 0xff]), Buffer.from([0, 1, 2, 0xff]))
  alpha.insert('a', '')
  alpha.insert(Buffer.from([0x80, 0x00, 0x7f]), randomBytes(100))
  const binaryName = db.openTree(Buffer.from([0xff, 0x00, 0x01]))
  binaryName.insert('k', 'in a tree with a binary name')
  db.openTree('empty-tree')
  const many = db.openTree('many')
  for (let i = 0; i < 5_000; i++) many.insert(`k${String(i).padStart(5, '0')}`, randomBytes(i % 50))
  // larger than the 1 MiB pieces exportTo writes in
  db.openTree('big').insert('blob', randomBytes(3 * 1024 * 1024 + 17))
  return { db, path }
}

describe('export()', () => {
  it('yields {type: Buffer "tree", name, entries} for every tree, including __sled__default', () => {
    const { db } = populated()
    try {
      const it = db.export()
      expect(typeof it[Symbol.iterator]).toBe('function')
      expect(typeof it.next).toBe('function')
      const collections = [...it]
      const names = collections.map((c) => hex(c.name)).sort()
      expect(names).toEqual(db.treeNames().map(hex).sort())
      expect(names).toContain(hex(Buffer.from('__sled__default')))
      expect(names).toContain(hex(Buffer.from([0xff, 0x00, 0x01])))
      expect(names).toContain(hex(Buffer.from('empty-tree')))
      expect(collections).toHaveLength(6)
      for (const c of collections) {
        expect(Buffer.isBuffer(c.type)).toBe(true)
        expect(c.type.toString()).toBe('tree')
        expect(Buffer.isBuffer(c.name)).toBe(true)
        expect(typeof (c.entries as unknown as Iterator<Buffer[]>).next).toBe('function')
        const entries = [...(c.entries as Iterable<Buffer[]>)]
        for (const e of entries) {
          expect(e).toHaveLength(2)
          expect(Buffer.isBuffer(e[0])).toBe(true)
          expect(Buffer.isBuffer(e[1])).toBe(true)
        }
        const tree = db.openTree(c.name)
        expect(entries.map(([k, v]) => [hex(k!), hex(v!)])).toEqual(tree.iter().toArray().map(([k, v]) => [hex(k), hex(v)]))
      }
      const alpha = collections.find((c) => c.name.toString() === 'alpha')!
      expect(alpha).toBeDefined()
    } finally {
      db.close()
    }
  })

  it('entries are raw bytes even on a handle with encodings', () => {
    const path = dbPath()
    const db = open<string, { n: number }>(path, { keyEncoding: 'utf8', valueEncoding: 'json' })
    try {
      db.insert('k', { n: 1 })
      const def = [...db.export()].find((c) => c.name.toString() === '__sled__default')!
      const entries = [...(def.entries as Iterable<Buffer[]>)]
      expect(entries).toHaveLength(1)
      expect(Buffer.isBuffer(entries[0]![0])).toBe(true)
      expect(entries[0]![0]!.toString()).toBe('k')
      expect(JSON.parse(entries[0]![1]!.toString())).toEqual({ n: 1 })
    } finally {
      db.close()
    }
  })
})

describe('import()', () => {
  it('into a fresh path gives an equal Db.checksum() and equal contents for every tree', () => {
    const { db: src } = populated()
    const dst = open(dbPath())
    try {
      dst.import(src.export())
      expect(dst.checksum()).toBe(src.checksum())
      expect(dst.treeNames().map(hex).sort()).toEqual(src.treeNames().map(hex).sort())
      expect(snapshot(dst)).toEqual(snapshot(src))
      // spot checks: binary keys, empty keys and values, the binary tree name
      const alpha = dst.openTree('alpha')
      expect(alpha.get(Buffer.alloc(0))?.toString()).toBe('empty key')
      expect(alpha.get(Buffer.from([0x00]))).toEqual(Buffer.alloc(0))
      expect(alpha.get('a')).toEqual(Buffer.alloc(0))
      expect(dst.openTree(Buffer.from([0xff, 0x00, 0x01])).get('k')?.toString()).toBe('in a tree with a binary name')
      expect(dst.openTree('many').len()).toBe(5_000)
      expect(dst.openTree('empty-tree').len()).toBe(0)
    } finally {
      src.close()
      dst.close()
    }
  })

  it('the imported database survives a reopen', () => {
    const { db: src } = populated()
    const path = dbPath()
    const dst = open(path)
    dst.import(src.export())
    const expected = snapshot(src)
    const sum = src.checksum()
    src.close()
    dst.close()
    const again = open(path)
    try {
      expect(again.checksum()).toBe(sum)
      expect(snapshot(again)).toEqual(expected)
    } finally {
      again.close()
    }
  })

  it('accepts hand-made collections (arrays as entries)', () => {
    const db = open(dbPath())
    try {
      db.import([
        { type: Buffer.from('tree'), name: Buffer.from('made'), entries: [[Buffer.from('k1'), Buffer.from('v1')], [Buffer.from([0]), Buffer.alloc(0)]] },
        { type: Buffer.from('tree'), name: Buffer.from('__sled__default'), entries: [[Buffer.from('d'), Buffer.from('dv')]] },
      ] as unknown as ExportedCollection[])
      expect(db.openTree('made').get('k1')?.toString()).toBe('v1')
      expect(db.openTree('made').get(Buffer.from([0]))).toEqual(Buffer.alloc(0))
      expect(db.get('d')?.toString()).toBe('dv')
    } finally {
      db.close()
    }
  })

  it('importing twice throws SledUnsupportedError and overwrites nothing', () => {
    const { db: src } = populated()
    const dst = open(dbPath())
    try {
      dst.import(src.export())
      const before = snapshot(dst)
      const thrown = caught(() => dst.import(src.export()))
      expect(thrown).toBeInstanceOf(SledUnsupportedError)
      expect((thrown as SledError).code).toBe('SLED_UNSUPPORTED')
      expect(snapshot(dst)).toEqual(before)
      // an existing key with a different value is not overwritten either
      const other = open(dbPath())
      try {
        other.openTree('alpha').insert('a', 'kept')
        expect(() => other.import(src.export())).toThrow(SledUnsupportedError)
        expect(other.openTree('alpha').get('a')?.toString()).toBe('kept')
      } finally {
        other.close()
      }
    } finally {
      src.close()
      dst.close()
    }
  })

  it("a collection of type 'other' throws SledUnsupportedError", () => {
    const db = open(dbPath())
    try {
      const thrown = caught(() => db.import([{ type: Buffer.from('other'), name: Buffer.from('x'), entries: [[Buffer.from('k'), Buffer.from('v')]] }] as unknown as ExportedCollection[]))
      expect(thrown).toBeInstanceOf(SledUnsupportedError)
      expect((thrown as SledError).code).toBe('SLED_UNSUPPORTED')
      expect(db.treeNames().map((n) => n.toString())).not.toContain('x')
    } finally {
      db.close()
    }
  })

  it('a non-iterable argument is a TypeError', () => {
    const db = open(dbPath())
    try {
      expect(() => db.import(undefined as unknown as ExportedCollection[])).toThrow(TypeError)
      expect(() => db.import({} as unknown as ExportedCollection[])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
      // async entries belong to importFrom(); import() says so before creating the tree
      async function* entries(): AsyncGenerator<Buffer[]> {
        yield [Buffer.from('k'), Buffer.from('v')]
      }
      const asyncEntries = [{ type: Buffer.from('tree'), name: Buffer.from('x'), entries: entries() }] as unknown as ExportedCollection[]
      expect(() => db.import(asyncEntries)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }))
      expect(db.treeNames().map((n) => n.toString())).not.toContain('x')
    } finally {
      db.close()
    }
  })
})

describe('exportTo(file) / importFrom(file)', () => {
  it('round-trip through a file: equal checksum and contents', async () => {
    const { db: src } = populated()
    const file = join(tempDir(), 'export.bin')
    const dst = open(dbPath())
    try {
      await expect(src.exportTo(file)).resolves.toBeUndefined()
      expect(statSync(file).size).toBeGreaterThan(3 * 1024 * 1024)
      await expect(dst.importFrom(file)).resolves.toBeUndefined()
      expect(dst.checksum()).toBe(src.checksum())
      expect(snapshot(dst)).toEqual(snapshot(src))
    } finally {
      src.close()
      dst.close()
    }
  })

  it('exportTo replaces an existing file', async () => {
    const file = join(tempDir(), 'export.bin')
    writeFileSync(file, Buffer.alloc(10 * 1024 * 1024, 0x55))
    const src = open(dbPath())
    const dst = open(dbPath())
    try {
      src.insert('k', 'v')
      await src.exportTo(file)
      expect(statSync(file).size).toBeLessThan(1024)
      await dst.importFrom(file)
      expect(dst.checksum()).toBe(src.checksum())
    } finally {
      src.close()
      dst.close()
    }
  })

  it('importFrom twice rejects with SledUnsupportedError and overwrites nothing', async () => {
    const { db: src } = populated()
    const file = join(tempDir(), 'export.bin')
    const dst = open(dbPath())
    try {
      await src.exportTo(file)
      await dst.importFrom(file)
      const before = snapshot(dst)
      await expect(dst.importFrom(file)).rejects.toBeInstanceOf(SledUnsupportedError)
      expect(snapshot(dst)).toEqual(before)
    } finally {
      src.close()
      dst.close()
    }
  })

  it('importFrom a file that is not an export rejects with SledUnsupportedError', async () => {
    const dir = tempDir()
    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'These are some notes, and certainly not a sled-node export file.\n'.repeat(20))
    const random = join(dir, 'random.bin')
    writeFileSync(random, randomBytes(4096))
    // a sled database's own data file is a typical mistake
    const { db: src, path: srcPath } = populated()
    src.flush()
    const dst = open(dbPath())
    try {
      for (const file of [text, random, join(srcPath, 'db')]) {
        await expect(dst.importFrom(file), file).rejects.toBeInstanceOf(SledUnsupportedError)
      }
      expect(dst.treeNames().map((n) => n.toString())).toEqual(['__sled__default'])
      expect(dst.len()).toBe(0)
    } finally {
      src.close()
      dst.close()
    }
  })

  it('a truncated export file rejects with SledIoError', async () => {
    const { db: src } = populated()
    const dir = tempDir()
    const file = join(dir, 'export.bin')
    try {
      await src.exportTo(file)
    } finally {
      src.close()
    }
    const full = readFileSync(file)
    // just after the header, in the middle (inside the large value), and without the end marker
    for (const length of [25, Math.floor(full.length / 2), full.length - 1]) {
      const cut = join(dir, `cut-${length}.bin`)
      writeFileSync(cut, full)
      truncateSync(cut, length)
      const dst = open(dbPath())
      try {
        const thrown = await failureOf(() => dst.importFrom(cut))
        expect(thrown, `truncated at ${length} of ${full.length}`).toBeInstanceOf(SledIoError)
        expect((thrown as SledError).code).toBe('SLED_IO')
      } finally {
        dst.close()
      }
    }
  })

  it('a missing file or directory is a SledIoError (not a raw Node error)', async () => {
    const dir = tempDir()
    const db = open(dbPath())
    try {
      await expect(db.importFrom(join(dir, 'does-not-exist.bin'))).rejects.toBeInstanceOf(SledIoError)
      await expect(db.exportTo(join(dir, 'no-such-dir', 'export.bin'))).rejects.toBeInstanceOf(SledIoError)
    } finally {
      db.close()
    }
  })

  it('bad file arguments are TypeErrors', async () => {
    const db = open(dbPath())
    try {
      await expect(db.exportTo(1 as unknown as string)).rejects.toBeInstanceOf(TypeError)
      await expect(db.importFrom(undefined as unknown as string)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
    } finally {
      db.close()
    }
  })
})

describe('closed databases', () => {
  it('export() of a closed db throws SledClosedError', () => {
    const { db } = populated()
    db.close()
    expect(() => db.export()).toThrow(SledClosedError)
  })

  it('iterating an export of a closed db throws SledClosedError', () => {
    const { db } = populated()
    db.close()
    expect(() => [...db.export()]).toThrow(SledClosedError)
  })

  it('an export iterated after its db closed throws SledClosedError', () => {
    const { db } = populated()
    const collections = db.export()
    const first = collections.next().value as ExportedCollection
    db.close()
    expect(() => [...(first.entries as Iterable<Buffer[]>)]).toThrow(SledClosedError)
    expect(() => collections.next()).toThrow(SledClosedError)
  })

  it('exportTo / importFrom / import on a closed db fail with SledClosedError', async () => {
    const { db: src } = populated()
    const file = join(tempDir(), 'export.bin')
    await src.exportTo(file)
    const closed = open(dbPath())
    closed.close()
    try {
      await expect(closed.exportTo(join(tempDir(), 'x.bin'))).rejects.toBeInstanceOf(SledClosedError)
      await expect(closed.importFrom(file)).rejects.toBeInstanceOf(SledClosedError)
      expect(() => closed.import(src.export())).toThrow(SledClosedError)
    } finally {
      src.close()
    }
  })
})
