// The `sled-node` bin, run as a user would (a child process of the built CLI): every
// command's output, the encodings, and the exit codes 0 / 2 (usage) / 1 (database),
// never with a stack trace.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { open } from 'sled-node'
import { describe, expect, it } from 'vitest'
import { dbPath, tempDir } from './helpers/tmp.js'

const require = createRequire(import.meta.url)
const pkgFile = require.resolve('sled-node/package.json')
const { bin } = JSON.parse(readFileSync(pkgFile, 'utf8')) as { bin: Record<string, string> }
// the file package.json's "bin" names, so the test also proves the bin entry
const cliFile = join(dirname(pkgFile), bin['sled-node'] as string)

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

function cli(args: string[], input?: string | Buffer): Run {
  const res = spawnSync(process.execPath, [cliFile, ...args], { encoding: 'utf8', input, timeout: 60_000 })
  return { status: res.status, stdout: res.stdout, stderr: res.stderr }
}

/** A database with a few entries in the default tree and in tree `t`. */
function seeded(): string {
  const path = dbPath()
  const db = open(path)
  db.insert('a1', 'one')
  db.insert('a2', 'two')
  db.insert('b1', 'three')
  db.openTree('t').insert('k', 'in t')
  db.close()
  return path
}

const noStack = (run: Run) => expect(run.stderr).not.toMatch(/\n\s+at /)

describe('sled-node bin', () => {
  it('is the built file, with a node shebang', () => {
    expect(readFileSync(cliFile, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
  })

  it('prints help and its version with exit 0', () => {
    const help = cli(['--help'])
    expect(help.status).toBe(0)
    for (const command of ['get', 'put', 'del', 'scan', 'trees', 'stats', 'export', 'import', 'backup']) {
      expect(help.stdout).toContain(command)
    }
    expect(cli(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })
})

describe('get, put, del', () => {
  it('puts and gets UTF-8 text by default', () => {
    const path = dbPath()
    expect(cli(['put', path, 'greeting', 'héllo wörld'])).toMatchObject({ status: 0, stdout: '' })
    expect(cli(['get', path, 'greeting'])).toMatchObject({ status: 0, stdout: 'héllo wörld\n' })
    expect(JSON.parse(cli(['get', path, 'greeting', '--json']).stdout)).toEqual({ key: 'greeting', value: 'héllo wörld' })
  })

  it('takes the value from stdin when it is omitted, byte for byte', () => {
    const path = dbPath()
    expect(cli(['put', path, 'file'], 'line 1\nline 2\n').status).toBe(0)
    expect(cli(['get', path, 'file']).stdout).toBe('line 1\nline 2\n\n')
    // with hex or base64 the text on stdin is decoded (whitespace ignored)
    expect(cli(['put', path, '62696e', '--encoding', 'hex'], '00ff10\n').status).toBe(0)
    expect(cli(['get', path, '62696e', '--encoding', 'hex']).stdout).toBe('00ff10\n')
  })

  it('reads and writes keys and values as hex or base64', () => {
    const path = dbPath()
    expect(cli(['put', path, '6b', '0001', '--encoding', 'hex']).status).toBe(0)
    const db = open(path)
    expect(db.get('k')).toEqual(Buffer.from([0, 1]))
    db.close()
    expect(cli(['get', path, 'aw==', '--encoding', 'base64']).stdout).toBe('AAE=\n')
    expect(cli(['get', path, 'k']).stdout).toBe('\u0000\u0001\n')
  })

  it('deletes a key; a missing key is exit 1 naming NOT_FOUND', () => {
    const path = seeded()
    expect(cli(['del', path, 'a1'])).toMatchObject({ status: 0, stdout: '' })
    expect(JSON.parse(cli(['del', path, 'a1', '--json']).stdout)).toEqual({ key: 'a1', removed: false })
    const missing = cli(['get', path, 'a1'])
    expect(missing.status).toBe(1)
    expect(missing.stdout).toBe('')
    expect(missing.stderr).toMatch(/^sled-node: NOT_FOUND: /)
  })

  it('uses the tree --tree names; reading a missing tree is exit 1 and does not create it', () => {
    const path = seeded()
    expect(cli(['get', path, 'k', '--tree', 't']).stdout).toBe('in t\n')
    expect(cli(['put', path, 'x', 'y', '--tree', 'new']).status).toBe(0)
    const missing = cli(['get', path, 'k', '--tree', 'nope'])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toContain('SLED_COLLECTION_NOT_FOUND')
    expect((JSON.parse(cli(['trees', path, '--json']).stdout) as string[]).sort()).toEqual(['__sled__default', 'new', 't'])
  })
})

describe('scan', () => {
  it('prints key<TAB>value lines in key order, with --prefix, --limit and --reverse', () => {
    const path = seeded()
    expect(cli(['scan', path]).stdout).toBe('a1\tone\na2\ttwo\nb1\tthree\n')
    expect(cli(['scan', path, '--prefix', 'a']).stdout).toBe('a1\tone\na2\ttwo\n')
    expect(cli(['scan', path, '--reverse', '--limit', '2']).stdout).toBe('b1\tthree\na2\ttwo\n')
    expect(cli(['scan', path, '--limit', '0']).stdout).toBe('')
    expect(cli(['scan', path, '--tree', 't']).stdout).toBe('k\tin t\n')
  })

  it('prints a JSON array with --json, and hex with --encoding hex', () => {
    const path = seeded()
    expect(JSON.parse(cli(['scan', path, '--json', '--prefix', 'a']).stdout)).toEqual([
      { key: 'a1', value: 'one' },
      { key: 'a2', value: 'two' },
    ])
    expect(JSON.parse(cli(['scan', path, '--json', '--prefix', 'zz']).stdout)).toEqual([])
    expect(cli(['scan', path, '--encoding', 'hex', '--prefix', '62']).stdout).toBe('6231\t7468726565\n')
  })
})

describe('trees and stats', () => {
  it('lists every tree, including __sled__default', () => {
    expect(cli(['trees', seeded()]).stdout).toBe('__sled__default\nt\n')
  })

  it('reports len per tree, size on disk and the recovered flag', () => {
    const path = seeded()
    const stats = JSON.parse(cli(['stats', path, '--json']).stdout) as Record<string, unknown>
    expect(stats).toMatchObject({
      recovered: true,
      trees: [
        { name: '__sled__default', len: 3 },
        { name: 't', len: 1 },
      ],
    })
    expect(stats.sizeOnDisk).toBeGreaterThan(0)
    const text = cli(['stats', path])
    expect(text.status).toBe(0)
    expect(text.stdout).toMatch(/recovered: true/)
    expect(text.stdout).toMatch(/size on disk: \d+ bytes/)
    expect(text.stdout).toMatch(/__sled__default\s+3\n/)
  })
})

describe('export and import', () => {
  it('copies every tree to a new database; importing again is exit 1 (never overwrites)', () => {
    const path = seeded()
    const file = join(tempDir(), 'dump.sled')
    expect(cli(['export', path, file]).status).toBe(0)
    const copy = dbPath()
    expect(cli(['import', copy, file]).status).toBe(0)
    expect(cli(['scan', copy]).stdout).toBe(cli(['scan', path]).stdout)
    expect(cli(['scan', copy, '--tree', 't']).stdout).toBe('k\tin t\n')
    const again = cli(['import', copy, file])
    expect(again.status).toBe(1)
    expect(again.stderr).toMatch(/^sled-node: SLED_UNSUPPORTED: /)
    noStack(again)
  })

  it('a missing file is exit 1 and leaves no database behind', () => {
    const copy = dbPath()
    const run = cli(['import', copy, join(tempDir(), 'absent')])
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/ENOENT/)
    expect(cli(['trees', copy]).stderr).toMatch(/NOT_FOUND: no sled database/)
  })
})

describe('usage errors: exit 2, no stack trace', () => {
  const path = dbPath()
  const cases: [string, string[]][] = [
    ['no command', []],
    ['an unknown command', ['frobnicate', path]],
    ['a missing argument', ['get', path]],
    ['an unknown option', ['get', path, 'k', '--nope']],
    ['a negative --limit', ['scan', path, '--limit', '-1']],
    ['a fractional --limit', ['scan', path, '--limit', '1.5']],
    ['an unknown --encoding', ['get', path, 'k', '--encoding', 'latin1']],
    ['a key that is not hex', ['get', path, 'xyz', '--encoding', 'hex']],
    ['a value that is not base64', ['put', path, 'k', '!!', '--encoding', 'base64']],
    ['--tree on a command without trees', ['stats', path, '--tree', 't']],
  ]
  for (const [what, args] of cases) {
    it(`for ${what}`, () => {
      const run = cli(args)
      expect(run.status).toBe(2)
      expect(run.stderr.length).toBeGreaterThan(0)
      noStack(run)
    })
  }
})

describe('database errors: exit 1 naming the code, no stack trace', () => {
  it('refuses a database another process holds, with SLED_LOCKED', () => {
    const path = seeded()
    const held = open(path)
    try {
      for (const args of [['get', path, 'a1'], ['put', path, 'k', 'v'], ['stats', path]]) {
        const run = cli(args)
        expect(run.status).toBe(1)
        expect(run.stderr).toMatch(/^sled-node: SLED_LOCKED: /)
        noStack(run)
      }
    } finally {
      held.close()
    }
    expect(cli(['get', path, 'a1']).stdout).toBe('one\n')
  })

  it('reading a path with no database is exit 1 and creates nothing', () => {
    const path = dbPath()
    const run = cli(['get', path, 'k'])
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/^sled-node: NOT_FOUND: no sled database at /)
    expect(cli(['scan', path]).status).toBe(1)
  })

  it('a path that is a file is exit 1 with SLED_IO', () => {
    const file = join(tempDir(), 'plain-file')
    spawnSync(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(file)}, 'x')`])
    const run = cli(['put', file, 'k', 'v'])
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/^sled-node: SLED_IO: /)
    noStack(run)
  })
})

describe('backup', () => {
  it('copies the database into a new one and prints what it did', () => {
    const path = seeded()
    const dest = join(tempDir(), 'copy')
    const run = cli(['backup', path, dest])
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(new RegExp(`^backed up 2 trees, 4 entries \\(\\d+ bytes\\) to ${dest} in \\d+ ms \\(writes paused \\d+\\.\\d\\d ms\\); the copy was verified\\n$`))
    const copy = open(dest)
    expect(copy.get('a2')?.toString()).toBe('two')
    expect(copy.openTree('t').get('k')?.toString()).toBe('in t')
    copy.close()
  })

  it('--json prints the result object', () => {
    const run = cli(['backup', seeded(), join(tempDir(), 'copy'), '--json'])
    expect(run.status).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ trees: 2, entries: 4, bytes: 22, durationMs: expect.any(Number), pauseMs: expect.any(Number) })
  })

  it('an existing destination is exit 1 SLED_IO and stays as it was; a missing database is exit 1 and creates nothing', () => {
    const path = seeded()
    const used = tempDir()
    writeFileSync(join(used, 'mine'), 'x')
    const refused = cli(['backup', path, used])
    expect(refused.status).toBe(1)
    expect(refused.stderr).toMatch(/^sled-node: SLED_IO: backup on .*File exists.*\n$/)
    noStack(refused)
    expect(readdirSync(used)).toEqual(['mine'])
    const dest = join(tempDir(), 'copy')
    const missing = cli(['backup', join(tempDir(), 'nothing'), dest])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toMatch(/^sled-node: NOT_FOUND: no sled database at /)
    expect(existsSync(dest)).toBe(false)
  })

  it('without a destination is a usage error (exit 2)', () => {
    const run = cli(['backup', seeded()])
    expect(run.status).toBe(2)
    expect(run.stderr).toMatch(/missing required argument 'destination'/)
  })
})
