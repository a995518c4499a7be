// Hostile and damaged export files: every single-byte flip and every truncation of a small
// valid export, huge length fields in every position, bytes after the end marker, through
// importFrom and the CLI (every case; the CLI into an existing database one case in four). The process survives each
// one, each rejects with SledIoError or SledUnsupportedError, and the target database is
// unchanged afterwards (same trees, same checksum() of every tree). Also: v1 files are still
// read, with only what v1 can detect refused; input from a FIFO is checked and imported.
import { Buffer } from 'node:buffer'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { type Db, open, SledError, SledIoError, SledUnsupportedError } from 'sled-node'
import { describe, expect, it } from 'vitest'
import { dbPath, tempDir } from './helpers/tmp.js'

const require = createRequire(import.meta.url)
const pkgFile = require.resolve('sled-node/package.json')
const cliFile = join(dirname(pkgFile), (JSON.parse(readFileSync(pkgFile, 'utf8')) as { bin: Record<string, string> }).bin['sled-node'] as string)

/** The small valid export every case starts from: two trees, three entries. */
async function smallExport(): Promise<Buffer> {
  const src = open(dbPath())
  try {
    src.insert('a', 'one')
    const t = src.openTree('t')
    t.insert('k1', 'v')
    t.insert(Buffer.from([0xff]), Buffer.alloc(0))
    const file = join(tempDir(), 'small.exp')
    await src.exportTo(file)
    return readFileSync(file)
  } finally {
    src.close()
  }
}

/** The offsets of every u32 length field of a v2 (checksums) or v1 file. */
function lengthFields(bytes: Buffer, checksums: boolean): number[] {
  const out: number[] = []
  let at = 20
  for (;;) {
    const tag = bytes[at++]
    if (tag === 0) return out
    for (let field = 0; field < 2; field++) {
      out.push(at)
      at += 4 + bytes.readUInt32LE(at)
    }
    if (checksums) at += 4
  }
}

/** The same content in format v1 (no checksums), as sled-node wrote it before v2. */
function asV1(v2: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from('sled-node export v1\n')]
  let at = 20
  for (;;) {
    const start = at
    const tag = v2[at++]
    if (tag === 0) {
      parts.push(Buffer.from([0]))
      return Buffer.concat(parts)
    }
    for (let field = 0; field < 2; field++) at += 4 + v2.readUInt32LE(at)
    parts.push(v2.subarray(start, at))
    at += 4 // the checksum
  }
}

interface State {
  trees: string[]
  sums: Record<string, number>
}

function state(db: Db): State {
  const trees = db
    .treeNames()
    .map((n) => n.toString('hex'))
    .sort()
  const sums: Record<string, number> = {}
  for (const name of trees) sums[name] = db.openTree(Buffer.from(name, 'hex')).checksum()
  return { trees, sums }
}

/** A target with data of its own, in the default tree and in a tree the export also has. */
function target(): Db {
  const db = open(dbPath())
  db.insert('zz', 'mine')
  db.openTree('t').insert('k0', 'mine too')
  db.openTree('other').insert('x', 'y')
  return db
}

interface Case {
  label: string
  bytes: Buffer
}

function damagedCases(valid: Buffer, checksums: boolean): { flips: Case[]; cuts: Case[]; lengths: Case[]; trailing: Case[] } {
  const flips: Case[] = []
  for (let i = 0; i < valid.length; i++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bytes = Buffer.from(valid)
      bytes[i] = (bytes[i] as number) ^ mask
      flips.push({ label: `byte ${i} ^ 0x${mask.toString(16)}`, bytes })
    }
  }
  const cuts: Case[] = []
  for (let n = 0; n < valid.length; n++) cuts.push({ label: `cut to ${n} bytes`, bytes: valid.subarray(0, n) })
  const lengths: Case[] = []
  for (const at of lengthFields(valid, checksums)) {
    for (const n of [0x7fffffff, 0x80000000, 0xffffffff]) {
      const bytes = Buffer.from(valid)
      bytes.writeUInt32LE(n, at)
      lengths.push({ label: `length 0x${n.toString(16)} at byte ${at}`, bytes })
    }
  }
  const trailing: Case[] = [
    { label: 'one byte after the end marker', bytes: Buffer.concat([valid, Buffer.from([0])]) },
    { label: 'the end marker twice', bytes: Buffer.concat([valid, valid.subarray(checksums ? -5 : -1)]) },
    { label: 'the file twice', bytes: Buffer.concat([valid, valid]) },
  ]
  return { flips, cuts, lengths, trailing }
}

/** Runs importFrom on each case's file; returns the cases that resolved (none, for v2). */
async function importEach(db: Db, cases: Case[]): Promise<string[]> {
  const dir = tempDir()
  const accepted: string[] = []
  for (const [i, c] of cases.entries()) {
    const file = join(dir, `case-${i}.exp`)
    writeFileSync(file, c.bytes)
    const before = state(db)
    let thrown: unknown
    try {
      await db.importFrom(file)
      accepted.push(c.label)
    } catch (e) {
      thrown = e
    }
    if (thrown !== undefined) {
      expect(thrown instanceof SledIoError || thrown instanceof SledUnsupportedError, `${c.label}: ${String(thrown)}`).toBe(true)
      expect(state(db), c.label).toEqual(before)
    }
  }
  return accepted
}

describe('importFrom: a damaged v2 export changes nothing', () => {
  it('every single-byte flip, truncation, huge length field and trailing garbage rejects, the database unchanged', async () => {
    const valid = await smallExport()
    expect(valid.subarray(0, 20).toString()).toBe('sled-node export v2\n')
    expect(valid.length).toBeLessThan(140)
    const { flips, cuts, lengths, trailing } = damagedCases(valid, true)
    expect(lengths.length).toBe(5 * 2 * 3)
    const db = target()
    try {
      const original = state(db)
      for (const cases of [flips, cuts, lengths, trailing]) expect(await importEach(db, cases)).toEqual([])
      expect(state(db)).toEqual(original)
      // the control: the undamaged file imports
      const file = join(tempDir(), 'valid.exp')
      writeFileSync(file, valid)
      await db.importFrom(file)
      expect(db.get('a')?.toString()).toBe('one')
      expect(db.openTree('t').get('k1')?.toString()).toBe('v')
    } finally {
      db.close()
    }
  })

  it('damage says where: SledIoError with kind InvalidData (or UnexpectedEof for a cut) and the byte offset', async () => {
    const valid = await smallExport()
    const dir = tempDir()
    const db = open(dbPath())
    try {
      const flipped = Buffer.from(valid)
      flipped[valid.length - 7] = (flipped[valid.length - 7] as number) ^ 1 // inside the last entry's value
      writeFileSync(join(dir, 'flip.exp'), flipped)
      const flip = await db.importFrom(join(dir, 'flip.exp')).catch((e: unknown) => e)
      expect(flip).toBeInstanceOf(SledIoError)
      expect(flip).toMatchObject({ code: 'SLED_IO', kind: 'InvalidData' })
      expect((flip as Error).message).toMatch(/damaged export file at byte \d+: checksum mismatch/)
      // cut before the end marker; a cut inside a field reads as a length past the end (InvalidData)
      writeFileSync(join(dir, 'cut.exp'), valid.subarray(0, valid.length - 5))
      expect(await db.importFrom(join(dir, 'cut.exp')).catch((e: unknown) => e)).toMatchObject({ code: 'SLED_IO', kind: 'UnexpectedEof' })
      writeFileSync(join(dir, 'v9.exp'), Buffer.concat([Buffer.from('sled-node export v9\n'), valid.subarray(20)]))
      const v9 = await db.importFrom(join(dir, 'v9.exp')).catch((e: unknown) => e)
      expect(v9).toBeInstanceOf(SledUnsupportedError)
      expect((v9 as SledError).message).toMatch(/format v9 is not supported/)
      expect(db.treeNames().map(String)).toEqual(['__sled__default'])
    } finally {
      db.close()
    }
  })

  it('an unknown collection type in a file with valid checksums is refused before any write', async () => {
    // a valid v2 file whose second collection has type 'other': the first one must not be imported
    const { crc32c } = require('@node-rs/crc32') as typeof import('@node-rs/crc32')
    const u32 = (n: number) => Buffer.from(Uint32Array.of(n).buffer)
    const parts: Buffer[] = [Buffer.from('sled-node export v2\n')]
    let crc = crc32c(parts[0] as Buffer)
    const record = (...fields: Buffer[]) => {
      for (const f of fields) {
        crc = crc32c(f, crc)
        parts.push(f)
      }
      parts.push(u32(crc))
    }
    const sized = (s: string) => [u32(Buffer.byteLength(s)), Buffer.from(s)]
    record(Buffer.from([1]), ...sized('tree'), ...sized('first'))
    record(Buffer.from([2]), ...sized('k'), ...sized('v'))
    record(Buffer.from([1]), ...sized('other'), ...sized('second'))
    record(Buffer.from([0]))
    const file = join(tempDir(), 'other.exp')
    writeFileSync(file, Buffer.concat(parts))
    const db = open(dbPath())
    try {
      await expect(db.importFrom(file)).rejects.toBeInstanceOf(SledUnsupportedError)
      expect(db.treeNames().map(String)).toEqual(['__sled__default'])
    } finally {
      db.close()
    }
  })
})

describe('importFrom: v1 files', () => {
  it('a valid v1 file still imports', async () => {
    const v1 = asV1(await smallExport())
    const file = join(tempDir(), 'v1.exp')
    writeFileSync(file, v1)
    const db = open(dbPath())
    try {
      await db.importFrom(file)
      expect(db.get('a')?.toString()).toBe('one')
      expect(db.openTree('t').get(Buffer.from([0xff]))).toEqual(Buffer.alloc(0))
    } finally {
      db.close()
    }
  })

  it('every truncation, huge length field and trailing garbage rejects unchanged; no flip crashes, and a refused flip changes nothing', async () => {
    const v1 = asV1(await smallExport())
    const { flips, cuts, lengths, trailing } = damagedCases(v1, false)
    const db = target()
    try {
      for (const cases of [cuts, lengths, trailing]) expect(await importEach(db, cases)).toEqual([])
    } finally {
      db.close()
    }
    // v1 has no checksums: a flip inside a name, key or value (or a length that still parses)
    // imports changed data, so each flip goes to a database of its own
    let accepted = 0
    for (const c of flips) {
      const fresh = open(dbPath(), { temporary: true })
      try {
        accepted += (await importEach(fresh, [c])).length
      } finally {
        fresh.close()
      }
    }
    expect(accepted).toBeGreaterThan(0)
    expect(accepted).toBeLessThan(flips.length)
  })
})

describe('importFrom through a FIFO', () => {
  it('a valid export imports, a damaged one changes nothing, and the temporary copy is removed', async () => {
    const valid = await smallExport()
    const dir = tempDir()
    const spools = () => readdirSync(tmpdir()).filter((n) => n.startsWith('sled-node-import-')).length
    const before = spools()
    const viaFifo = async (db: Db, bytes: Buffer): Promise<unknown> => {
      const source = join(dir, `source-${Math.random()}`)
      writeFileSync(source, bytes)
      const fifo = join(dir, `fifo-${Math.random()}`)
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
      const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', source, fifo], { stdio: 'ignore' })
      const done = new Promise((resolve) => writer.on('exit', resolve))
      const result = await db.importFrom(fifo).catch((e: unknown) => e)
      await done
      return result
    }
    const db = target()
    try {
      const original = state(db)
      const flipped = Buffer.from(valid)
      flipped[valid.length - 2] = (flipped[valid.length - 2] as number) ^ 0x40
      expect(await viaFifo(db, flipped)).toBeInstanceOf(SledIoError)
      expect(await viaFifo(db, valid.subarray(0, valid.length - 1))).toBeInstanceOf(SledIoError)
      expect(state(db)).toEqual(original)
      expect(await viaFifo(db, valid)).toBeUndefined()
      expect(db.get('a')?.toString()).toBe('one')
      expect(spools()).toBe(before)
    } finally {
      db.close()
    }
  })
})

describe('sled-node import of damaged files', () => {
  it('every flip, cut, huge length and trailing case: exit 1 with one line, no database created, an existing one unchanged', async () => {
    const valid = await smallExport()
    const { flips, cuts, lengths, trailing } = damagedCases(valid, true)
    const cases = [...flips, ...cuts, ...lengths, ...trailing]
    const dir = tempDir()
    const existing = join(dir, 'existing')
    const seeded = open(existing)
    seeded.insert('zz', 'mine')
    const original = state(seeded)
    seeded.close()
    // into a new path: every case, a few processes at a time (each is a whole CLI start)
    let next = 0
    const failures: string[] = []
    const importInto = (path: string, file: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [cliFile, 'import', path, file], { stdio: ['ignore', 'ignore', 'pipe'] })
        let stderr = ''
        child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
        child.on('close', (code, signal) => resolve({ code, signal, stderr }))
      })
    const lane = async (): Promise<void> => {
      for (let i = next++; i < cases.length; i = next++) {
        const c = cases[i] as (typeof cases)[number]
        const file = join(dir, `case-${i}.exp`)
        writeFileSync(file, c.bytes)
        const fresh = join(dir, `fresh-${i}`)
        const run = await importInto(fresh, file)
        if (run.signal !== null || run.code !== 1 || !/^sled-node: SLED_(IO|UNSUPPORTED): importFrom [^\n]*\n$/.test(run.stderr) || existsSync(fresh)) {
          failures.push(`${c.label}: ${run.signal ?? run.code} ${JSON.stringify(run.stderr)} created=${existsSync(fresh)}`)
        }
      }
    }
    await Promise.all([lane(), lane(), lane()])
    expect(failures).toEqual([])
    // into an existing database: one case in four, one at a time (they share the path)
    for (let i = 0; i < cases.length; i += 4) {
      const run = await importInto(existing, join(dir, `case-${i}.exp`))
      expect(run.signal, cases[i]?.label).toBeNull()
      expect(run.code, cases[i]?.label).toBe(1)
    }
    const after = open(existing)
    try {
      expect(state(after)).toEqual(original)
    } finally {
      after.close()
    }
  }, 300_000)
})
