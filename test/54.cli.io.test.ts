// The `sled-node` bin's input and output through real pipes, FIFOs and devices: `put` reads
// a value from a slow pipe, a 100 MB pipe, a FIFO, a file and hex/base64 text of any length
// byte for byte; a value over the limit is INPUT_TOO_LARGE; a write error on stdout (/dev/full)
// is one line and exit 1, a closed pipe a quiet exit 0; arguments that are not valid UTF-8 are
// refused with exit 2; `import` of something that is not an export creates nothing. Also:
// --tree compares names as bytes (--tree-encoding for any name), base64 must be canonical,
// stdin that is a directory, closed or /dev/null stores nothing, `export` refuses the
// database's own directory and writes to pipes, FIFOs and /dev/null, `import --max-trees`,
// SIGINT/SIGTERM remove an import's temporary copy, and control characters in messages.
import { Buffer } from 'node:buffer'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { open as openFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { open } from 'sled-node'
import { describe, expect, it } from 'vitest'
import { dbPath, tempDir } from './helpers/tmp.js'

const require = createRequire(import.meta.url)
const pkgFile = require.resolve('sled-node/package.json')
const cliFile = join(dirname(pkgFile), (JSON.parse(readFileSync(pkgFile, 'utf8')) as { bin: Record<string, string> }).bin['sled-node'] as string)

interface Run {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A bash script with `$CLI` as the bin (node and the script), extra arguments as $1, $2… */
function sh(script: string, ...args: string[]): Run {
  const res = spawnSync('bash', ['-c', `CLI=("$NODE" "$CLI_FILE"); ${script}`, 'cli-io', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NODE: process.execPath, CLI_FILE: cliFile },
  })
  return { status: res.status, signal: res.signal, stdout: res.stdout, stderr: res.stderr }
}

/** The bin with stdout on `fd` (e.g. /dev/full). */
function cliTo(fd: number, args: string[]): Run {
  const res = spawnSync(process.execPath, [cliFile, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 60_000 })
  return { status: res.status, signal: res.signal, stdout: '', stderr: res.stderr }
}

function stored(path: string, key: string | Buffer): Buffer | undefined {
  const db = open(path)
  try {
    return db.get(key)
  } finally {
    db.close()
  }
}

const oneLine = /^sled-node: [^\n]+\n$/

describe('put: the value from stdin', () => {
  it('from a slow writer on a pipe', () => {
    const path = dbPath()
    const run = sh('(sleep 0.5; printf hi; sleep 0.3; printf " there") | "${CLI[@]}" put "$1" k', path)
    expect(run).toMatchObject({ status: 0, stderr: '' })
    expect(stored(path, 'k')?.toString()).toBe('hi there')
  })

  it('100 MB through a pipe, a FIFO and a file, byte for byte', () => {
    const dir = tempDir()
    const source = join(dir, 'big.bin')
    const bytes = randomBytes(100_000_000)
    writeFileSync(source, bytes)
    const path = dbPath()
    expect(sh('cat "$2" | "${CLI[@]}" put "$1" pipe', path, source)).toMatchObject({ status: 0, stderr: '' })
    expect(sh('mkfifo "$3" && { cat "$2" > "$3" & } && "${CLI[@]}" put "$1" fifo < "$3"', path, source, join(dir, 'fifo'))).toMatchObject({ status: 0, stderr: '' })
    expect(sh('"${CLI[@]}" put "$1" file < "$2"', path, source)).toMatchObject({ status: 0, stderr: '' })
    const db = open(path)
    try {
      for (const key of ['pipe', 'fifo', 'file']) expect(db.get(key)?.equals(bytes), key).toBe(true)
    } finally {
      db.close()
    }
  })

  it('hex and base64 text of several MB, with line breaks, decoded piece by piece', () => {
    const dir = tempDir()
    const bytes = randomBytes(3_000_001)
    const hexFile = join(dir, 'value.hex')
    writeFileSync(hexFile, bytes.toString('hex').replace(/.{61}/g, '$&\n'))
    const b64File = join(dir, 'value.b64')
    writeFileSync(b64File, bytes.toString('base64').replace(/.{76}/g, '$&\r\n'))
    const path = dbPath()
    expect(sh('cat "$2" | "${CLI[@]}" put "$1" 6878 --encoding hex', path, hexFile)).toMatchObject({ status: 0, stderr: '' })
    expect(sh('cat "$2" | "${CLI[@]}" put "$1" YjY0 --encoding base64', path, b64File)).toMatchObject({ status: 0, stderr: '' })
    expect(stored(path, 'hx')?.equals(bytes)).toBe(true)
    expect(stored(path, 'b64')?.equals(bytes)).toBe(true)
    for (const [text, encoding] of [
      ['abc', 'hex'],
      ['0g', 'hex'],
      ['AA==AA==', 'base64'],
      ['AAA', 'base64'],
    ] as const) {
      const key = encoding === 'hex' ? '00' : 'AA=='
      const run = sh('printf %s "$2" | "${CLI[@]}" put "$1" "$4" --encoding "$3"', path, text, encoding, key)
      expect(run.status, text).toBe(2)
      expect(run.stderr, text).toMatch(/^sled-node: the value on stdin is not valid /)
    }
  })

  it('a value over 4294967295 bytes is INPUT_TOO_LARGE, exit 1, before it is read', () => {
    const file = join(tempDir(), 'sparse.bin')
    writeFileSync(file, '')
    truncateSync(file, 2 ** 32) // sparse: takes no space
    const path = dbPath()
    const run = sh('"${CLI[@]}" put "$1" k < "$2"', path, file)
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/^sled-node: INPUT_TOO_LARGE: the value on stdin is 4294967296 bytes, more than the 4294967295 bytes a value can have\n$/)
    expect(existsSync(path)).toBe(false)
  })
})

describe('write errors on stdout', () => {
  it('scan, get, trees and stats (text and --json) to /dev/full: one line, exit 1', () => {
    const path = dbPath()
    const db = open(path)
    db.insert('k', 'v')
    for (let i = 0; i < 2000; i++) db.insert(`key${i}`, 'x'.repeat(100))
    db.close()
    const full = openSync('/dev/full', 'w')
    try {
      for (const args of [
        ['scan', path],
        ['scan', path, '--json'],
        ['get', path, 'k'],
        ['get', path, 'k', '--json'],
        ['trees', path],
        ['trees', path, '--json'],
        ['stats', path],
        ['stats', path, '--json'],
        ['--help'],
      ]) {
        const run = cliTo(full, args)
        expect(run.status, args.join(' ')).toBe(1)
        expect(run.signal).toBeNull()
        expect(run.stderr, args.join(' ')).toMatch(oneLine)
        expect(run.stderr).toMatch(/^sled-node: ENOSPC: /)
      }
    } finally {
      closeSync(full)
    }
  })

  it('a pipe closed early still ends quietly with exit 0', () => {
    const path = dbPath()
    const db = open(path)
    for (let i = 0; i < 20_000; i++) db.insert(`key${String(i).padStart(6, '0')}`, 'x'.repeat(200))
    db.close()
    const run = sh('"${CLI[@]}" scan "$1" | head -n 1; echo "status ${PIPESTATUS[0]}"', path)
    expect(run.stdout).toBe(`key000000\t${'x'.repeat(200)}\nstatus 0\n`)
    expect(run.stderr).toBe('')
  })
})

describe('arguments that are not valid UTF-8', () => {
  it('are refused with exit 2 (never merged into one key), and create nothing', () => {
    const path = dbPath()
    for (const [label, script] of [
      ['key a\\xff', `"\${CLI[@]}" put "$1" "$(printf 'a\\377')" v`],
      ['key a\\xfe', `"\${CLI[@]}" put "$1" "$(printf 'a\\376')" v`],
      ['a lone continuation byte', `"\${CLI[@]}" put "$1" "$(printf '\\200')" v`],
      ['an invalid value', `"\${CLI[@]}" put "$1" k "$(printf '\\377')"`],
      ['an invalid --tree', `"\${CLI[@]}" put "$1" k v --tree "$(printf 't\\377')"`],
    ]) {
      const run = sh(script as string, path)
      expect(run.status, label).toBe(2)
      expect(run.stderr, label).toMatch(/^sled-node: argument \d+ \([^\n]*\) is not valid UTF-8; give keys, values and prefixes that are not UTF-8 text with --encoding hex or --encoding base64\n/)
    }
    expect(existsSync(path)).toBe(false)
  })

  it('a real U+FFFD in valid UTF-8 is accepted; any bytes go through --encoding hex', () => {
    const path = dbPath()
    expect(sh(`"\${CLI[@]}" put "$1" "$(printf 'a\\357\\277\\275')" v`, path)).toMatchObject({ status: 0, stderr: '' })
    expect(sh('"${CLI[@]}" put "$1" 61ff 7632 --encoding hex', path)).toMatchObject({ status: 0, stderr: '' })
    const db = open(path)
    try {
      expect(db.get(Buffer.from([0x61, 0xef, 0xbf, 0xbd]))?.toString()).toBe('v')
      expect(db.get(Buffer.from([0x61, 0xff]))?.toString()).toBe('v2')
      expect(db.len()).toBe(2)
    } finally {
      db.close()
    }
  })
})

describe('import of something that is not an export', () => {
  it('a directory, an empty file, /dev/zero, /dev/null: exit 1 with one line, no database created', () => {
    const dir = tempDir()
    const empty = join(dir, 'empty')
    writeFileSync(empty, '')
    for (const file of [dir, empty, '/dev/zero', '/dev/null']) {
      const path = dbPath()
      const run = sh('"${CLI[@]}" import "$1" "$2"', path, file)
      expect(run.status, file).toBe(1)
      expect(run.stderr, file).toMatch(oneLine)
      expect(run.stderr, file).toMatch(/^sled-node: SLED_(IO|UNSUPPORTED): /)
      expect(existsSync(path), file).toBe(false)
    }
  })

  it('an export piped in through /dev/stdin imports', () => {
    const src = dbPath()
    const db = open(src)
    db.insert('k', 'v')
    db.openTree('t').insert('a', 'b')
    db.close()
    const file = join(tempDir(), 'dump.exp')
    expect(sh('"${CLI[@]}" export "$1" "$2"', src, file).status).toBe(0)
    const copy = dbPath()
    expect(sh('cat "$2" | "${CLI[@]}" import "$1" /dev/stdin', copy, file)).toMatchObject({ status: 0, stderr: '' })
    expect(stored(copy, 'k')?.toString()).toBe('v')
  })
})

describe('tree names are compared as bytes', () => {
  it('a read command never creates a tree whose name only decodes like an existing one; --tree-encoding names any tree', () => {
    const path = dbPath()
    const db = open(path)
    db.openTree(Buffer.from([0x61, 0xff])).insert('k', 'in 61ff')
    db.close()
    const names = () => {
      const d = open(path)
      try {
        return d.treeNames().map((n) => n.toString('hex')).sort()
      } finally {
        d.close()
      }
    }
    const before = names()
    // 'a' U+FFFD is valid UTF-8 (61 ef bf bd): no such tree, though 61 ff decodes to it
    for (const command of ['scan "$1"', 'get "$1" k', 'del "$1" k']) {
      const run = sh(`"\${CLI[@]}" ${command} --tree "$(printf 'a\\357\\277\\275')"`, path)
      expect(run.status, command).toBe(1)
      expect(run.stderr, command).toMatch(/^sled-node: SLED_COLLECTION_NOT_FOUND: no tree named /)
    }
    expect(names()).toEqual(before)
    expect(sh('"${CLI[@]}" scan "$1" --tree 61ff --tree-encoding hex', path)).toMatchObject({ status: 0, stdout: 'k\tin 61ff\n' })
    expect(sh('"${CLI[@]}" get "$1" k --tree Yf8= --tree-encoding base64', path)).toMatchObject({ status: 0, stdout: 'in 61ff\n' })
    expect(sh('"${CLI[@]}" trees "$1" --tree-encoding hex', path).stdout.split('\n').sort()).toEqual(['', Buffer.from('__sled__default').toString('hex'), '61ff'])
    expect(sh('"${CLI[@]}" scan "$1" --tree 6 --tree-encoding hex', path).status).toBe(2)
  })
})

describe('base64 must be canonical', () => {
  it('AB== (the same byte as AA==) is refused with exit 2, as an argument and on stdin', () => {
    const path = dbPath()
    expect(sh('"${CLI[@]}" put "$1" AA== dg== --encoding base64', path).status).toBe(0)
    for (const script of ['"${CLI[@]}" put "$1" AB== dg== --encoding base64', '"${CLI[@]}" get "$1" AB== --encoding base64', 'printf "AB==" | "${CLI[@]}" put "$1" AA== --encoding base64', 'printf "dj" | "${CLI[@]}" put "$1" AA== --encoding base64']) {
      const run = sh(script, path)
      expect(run.status, script).toBe(2)
      expect(run.stderr, script).toMatch(/^sled-node: [^\n]*not (canonical|valid) base64/)
    }
    expect(stored(path, Buffer.from([0]))?.toString()).toBe('v')
  })
})

describe('put: stdin that is not a value', () => {
  it('a directory is exit 1 EISDIR; closed stdin or /dev/null is exit 2; the stored value stays', () => {
    const path = dbPath()
    expect(sh('"${CLI[@]}" put "$1" k old', path).status).toBe(0)
    const dir = sh('"${CLI[@]}" put "$1" k < "$2"', path, tempDir())
    expect(dir.status).toBe(1)
    expect(dir.stderr).toMatch(/^sled-node: EISDIR: stdin is a directory[^\n]*\n$/)
    for (const redirect of ['<&-', '< /dev/null']) {
      const run = sh(`"\${CLI[@]}" put "$1" k ${redirect}`, path)
      expect(run.status, redirect).toBe(2)
      expect(run.stderr, redirect).toMatch(/^sled-node: put: stdin is closed or \/dev\/null/)
    }
    expect(stored(path, 'k')?.toString()).toBe('old')
    // an empty value is given as ''
    expect(sh('"${CLI[@]}" put "$1" k ""', path).status).toBe(0)
    expect(stored(path, 'k')?.length).toBe(0)
  })
})

describe('export: destinations', () => {
  function seeded(): string {
    const path = dbPath()
    const db = open(path)
    db.insert('k', 'v')
    db.openTree('t').insert('a', 'b')
    db.close()
    return path
  }

  it('a file inside the database directory is exit 1 SLED_IO, and the database survives', () => {
    const path = seeded()
    for (const target of ['db', 'conf', 'x.exp']) {
      const run = sh('"${CLI[@]}" export "$1" "$1/$2"', path, target)
      expect(run.status, target).toBe(1)
      expect(run.stderr, target).toMatch(/^sled-node: SLED_IO: exportTo [^\n]*inside the database directory[^\n]*\n$/)
    }
    expect(stored(path, 'k')?.toString()).toBe('v')
    expect(existsSync(join(path, 'x.exp'))).toBe(false)
  })

  it('to a pipe (/dev/stdout), a FIFO and /dev/null: exit 0, and what the pipe carried imports', () => {
    const path = seeded()
    const copy = dbPath()
    expect(sh('"${CLI[@]}" export "$1" /dev/stdout | "${CLI[@]}" import "$2" /dev/stdin; echo "${PIPESTATUS[@]}"', path, copy)).toMatchObject({ stdout: '0 0\n', stderr: '' })
    expect(stored(copy, 'k')?.toString()).toBe('v')
    const fifo = join(tempDir(), 'fifo')
    const copy2 = dbPath()
    expect(sh('mkfifo "$3" && { "${CLI[@]}" import "$2" "$3" & } && "${CLI[@]}" export "$1" "$3" && wait $!', path, copy2, fifo)).toMatchObject({ status: 0, stderr: '' })
    expect(stored(copy2, 'k')?.toString()).toBe('v')
    expect(sh('"${CLI[@]}" export "$1" /dev/null', path)).toMatchObject({ status: 0, stderr: '' })
  })
})

describe('import: limits and interruptions', () => {
  it('--max-trees: a file with more trees is exit 1 SLED_UNSUPPORTED and creates nothing', () => {
    const src = dbPath()
    const db = open(src)
    for (const t of ['a', 'b', 'c']) db.openTree(t).insert('k', t)
    db.close()
    const file = join(tempDir(), 'three.exp')
    expect(sh('"${CLI[@]}" export "$1" "$2"', src, file).status).toBe(0)
    const path = dbPath()
    const run = sh('"${CLI[@]}" import "$1" "$2" --max-trees 3', path, file)
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/^sled-node: SLED_UNSUPPORTED: importFrom [^\n]*more than 3 trees[^\n]*\n$/)
    expect(existsSync(path)).toBe(false)
    expect(sh('"${CLI[@]}" import "$1" "$2" --max-trees 0', path, file).status).toBe(2)
    expect(sh('"${CLI[@]}" import "$1" "$2" --max-trees 4', path, file)).toMatchObject({ status: 0, stderr: '' })
  })

  it('SIGINT or SIGTERM during a FIFO import ends the run by that signal and removes the temporary copy', async () => {
    const src = dbPath()
    const db = open(src)
    db.insert('k', 'v')
    db.close()
    const dir = tempDir()
    const file = join(dir, 'src.exp')
    expect(sh('"${CLI[@]}" export "$1" "$2"', src, file).status).toBe(0)
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const fifo = join(dir, `fifo-${signal}`)
      const tmp = join(dir, `tmp-${signal}`)
      expect(sh('mkfifo "$1" && mkdir "$2"', fifo, tmp).status).toBe(0)
      const child = spawn(process.execPath, [cliFile, 'import', dbPath(), fifo], { env: { ...process.env, TMPDIR: tmp }, stdio: 'ignore' })
      const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (code, sig) => resolve([code, sig])))
      const writer = await openFile(fifo, 'w')
      try {
        // part of the export; the FIFO stays open, so the import waits in its check pass
        await writer.write(readFileSync(file).subarray(0, 30))
        const spooled = () => readdirSync(tmp).some((n) => existsSync(join(tmp, n, 'export')) && statSync(join(tmp, n, 'export')).size > 0)
        while (!spooled()) await new Promise((resolve) => setTimeout(resolve, 10))
        child.kill(signal)
        expect(await exited, signal).toEqual([null, signal])
        expect(readdirSync(tmp), signal).toEqual([])
      } finally {
        await writer.close()
      }
    }
  })
})

describe('messages with control characters', () => {
  it('a path with a newline gives one line, the newline escaped', () => {
    const path = join(tempDir(), 'a\nb')
    const run = sh('"${CLI[@]}" get "$1" k', path)
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(oneLine)
    expect(run.stderr).toContain('a\\nb')
    const exp = sh('"${CLI[@]}" put "$1" k v && "${CLI[@]}" export "$1" "$2"', dbPath(), join(tempDir(), 'no\ndir', 'x.exp'))
    expect(exp.status).toBe(1)
    expect(exp.stderr).toMatch(oneLine)
  })
})
