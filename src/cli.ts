#!/usr/bin/env node
// The `sled-node` command line: `sled-node <command> <db-path> [args]` to read, write,
// list and move the data of a sled database. Parsing is commander's; this file maps
// commands onto the facade and every failure onto an exit code and one line of text:
// 0 success, 2 usage error, 1 database error ("sled-node: SLED_LOCKED: …"), never a
// stack trace.

import { Buffer } from 'node:buffer'
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { type Db, open, type Tree } from '../index.js'

type TextEncoding = 'utf8' | 'hex' | 'base64'

interface Common {
  json?: boolean
  encoding: TextEncoding
}

interface TreeOption extends Common {
  tree?: string
}

/** A mistake in the command line, found after commander's own parsing: exit 2. */
class UsageError extends Error {}

/** A database condition that is not a sled error (a missing key, tree or database): exit 1. */
class NotFoundError extends Error {
  readonly code = 'NOT_FOUND'
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Bytes from command-line text in the chosen encoding. */
function bytesFrom(text: string, encoding: TextEncoding, what: string): Buffer {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8')
  const clean = text.replace(/\s+/g, '')
  if (!(encoding === 'hex' ? HEX : BASE64).test(clean) || (encoding === 'base64' && clean.length % 4 !== 0)) {
    throw new UsageError(`${what} is not valid ${encoding}: ${JSON.stringify(text.slice(0, 40))}`)
  }
  return Buffer.from(clean, encoding)
}

function textOf(bytes: Buffer, encoding: TextEncoding): string {
  return bytes.toString(encoding)
}

function parseLimit(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('It must be an integer >= 0.')
  return n
}

/** Writes to stdout, waiting when the pipe is full so a long scan never piles up in memory. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((done) => process.stdout.once('drain', done))
}

/** sled creates its directory with a `conf` file; commands that only read need one to exist. */
function requireDatabase(path: string): void {
  if (!existsSync(join(path, 'conf'))) throw new NotFoundError(`no sled database at ${resolve(path)}`)
}

/** Opens `path`, runs `fn`, and always closes (flushing) the database. */
async function withDb<T>(path: string, create: boolean, fn: (db: Db) => Promise<T> | T): Promise<T> {
  if (!create) requireDatabase(path)
  const db = open(path)
  try {
    return await fn(db)
  } finally {
    await db.closeAsync()
  }
}

/** The tree `--tree` names (the default tree without it); only writes may create one. */
function treeOf(db: Db, name: string | undefined, create: boolean): Tree {
  if (name === undefined) return db
  if (!create && !db.treeNames().some((n) => n.toString('utf8') === name)) {
    const err = new NotFoundError(`no tree named ${JSON.stringify(name)}`)
    Object.defineProperty(err, 'code', { value: 'SLED_COLLECTION_NOT_FOUND' })
    throw err
  }
  return db.openTree(name)
}

/** The whole of stdin: raw bytes for utf8, or text decoded from hex/base64. */
function readStdin(encoding: TextEncoding): Buffer {
  if (process.stdin.isTTY) throw new UsageError('put: give a value, or pipe one on stdin')
  const raw = readFileSync(0)
  return encoding === 'utf8' ? raw : bytesFrom(raw.toString('utf8'), encoding, 'the value on stdin')
}

function withCommon(cmd: Command): Command {
  const encoding = new Option('--encoding <name>', 'how keys, values and prefixes are written and shown')
    .choices(['utf8', 'hex', 'base64'])
    .default('utf8')
  return cmd.addOption(encoding).option('--json', 'print JSON')
}

function withTree(cmd: Command): Command {
  return withCommon(cmd).option('--tree <name>', 'the tree to use (UTF-8 name; default: the default tree)')
}

function buildProgram(): Command {
  const { version } = createRequire(__filename)('sled-node/package.json') as { version: string }
  const program = new Command('sled-node')
    .description('Read and write a sled database from the shell.')
    .version(version)
    .exitOverride()
    .showHelpAfterError('(run "sled-node help" for usage)')
    .addHelpText('after', '\nExit status: 0 success, 2 usage error, 1 database error (the message names its code, e.g. SLED_LOCKED).')

  withTree(program.command('get').description('print the value of a key'))
    .argument('<db-path>')
    .argument('<key>')
    .action(async (path: string, key: string, o: TreeOption) => {
      const k = bytesFrom(key, o.encoding, 'key')
      const value = await withDb(path, false, (db) => treeOf(db, o.tree, false).get(k))
      if (value === undefined) throw new NotFoundError(`no key ${JSON.stringify(key)}`)
      await write(o.json ? `${JSON.stringify({ key, value: textOf(value, o.encoding) })}\n` : `${textOf(value, o.encoding)}\n`)
    })

  withTree(program.command('put').description('store a value (read from stdin when omitted)'))
    .argument('<db-path>')
    .argument('<key>')
    .argument('[value]')
    .action(async (path: string, key: string, value: string | undefined, o: TreeOption) => {
      const k = bytesFrom(key, o.encoding, 'key')
      const v = value === undefined ? readStdin(o.encoding) : bytesFrom(value, o.encoding, 'value')
      await withDb(path, true, (db) => treeOf(db, o.tree, true).insert(k, v))
    })

  withTree(program.command('del').description('delete a key'))
    .argument('<db-path>')
    .argument('<key>')
    .action(async (path: string, key: string, o: TreeOption) => {
      const k = bytesFrom(key, o.encoding, 'key')
      const removed = await withDb(path, false, (db) => treeOf(db, o.tree, false).remove(k))
      if (o.json) await write(`${JSON.stringify({ key, removed: removed !== undefined })}\n`)
    })

  withTree(program.command('scan').description('print entries in key order: "key<TAB>value" lines, or a JSON array'))
    .argument('<db-path>')
    .option('--prefix <prefix>', 'only keys starting with this')
    .option('--limit <n>', 'at most n entries', parseLimit)
    .option('--reverse', 'from the greatest key down')
    .action(async (path: string, o: TreeOption & { prefix?: string; limit?: number; reverse?: boolean }) => {
      const prefix = bytesFrom(o.prefix ?? '', o.encoding, 'prefix')
      await withDb(path, false, async (db) => {
        const entries = treeOf(db, o.tree, false).scanPrefix(prefix, { reverse: o.reverse ?? false, limit: o.limit })
        let first = true
        if (o.json) await write('[')
        for await (const [key, value] of entries) {
          const k = textOf(key, o.encoding)
          const v = textOf(value, o.encoding)
          await write(o.json ? `${first ? '' : ','}\n  ${JSON.stringify({ key: k, value: v })}` : `${k}\t${v}\n`)
          first = false
        }
        if (o.json) await write(first ? ']\n' : '\n]\n')
      })
    })

  withCommon(program.command('trees').description('list the trees (including __sled__default)'))
    .argument('<db-path>')
    .action(async (path: string, o: Common) => {
      const names = await withDb(path, false, (db) => db.treeNames().map((n) => n.toString('utf8')))
      await write(o.json ? `${JSON.stringify(names)}\n` : names.map((n) => `${n}\n`).join(''))
    })

  withCommon(program.command('stats').description('entries per tree, size on disk, whether sled recovered data'))
    .argument('<db-path>')
    .action(async (path: string, o: Common) => {
      const stats = await withDb(path, false, (db) => ({
        path: db.path,
        recovered: db.wasRecovered,
        sizeOnDisk: db.sizeOnDisk(),
        trees: db.treeNames().map((name) => ({ name: name.toString('utf8'), len: db.openTree(name).len() })),
      }))
      if (o.json) return write(`${JSON.stringify(stats)}\n`)
      const width = Math.max(...stats.trees.map((t) => t.name.length))
      const lines = [
        `path: ${stats.path}`,
        `recovered: ${stats.recovered}`,
        `size on disk: ${stats.sizeOnDisk} bytes`,
        'trees:',
        ...stats.trees.map((t) => `  ${t.name.padEnd(width)}  ${t.len}`),
      ]
      return write(`${lines.join('\n')}\n`)
    })

  withCommon(program.command('export').description("write every tree to a file (sled's export format)"))
    .argument('<db-path>')
    .argument('<file>')
    .action(async (path: string, file: string) => {
      await withDb(path, false, (db) => db.exportTo(file))
    })

  withCommon(program.command('import').description('load a file written by export (never overwrites a key)'))
    .argument('<db-path>')
    .argument('<file>')
    .action(async (path: string, file: string) => {
      // before opening, so a missing file does not leave a new empty database behind
      accessSync(file, constants.R_OK)
      await withDb(path, true, (db) => db.importFrom(file))
    })

  return program
}

/** One line on stderr and the exit status for any failure. */
function report(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2 // commander printed it
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  const text = typeof message === 'string' ? message : String(err)
  // argument errors from the facade (ERR_*) are the user's input too
  if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_'))) {
    process.stderr.write(`sled-node: ${text}\n(run "sled-node help" for usage)\n`)
    return 2
  }
  // Node's own errors already start with their code ("ENOENT: no such file…")
  const named = typeof code === 'string' && !text.startsWith(code) ? `${code}: ${text}` : text
  process.stderr.write(`sled-node: ${named}\n`)
  return 1
}

async function main(): Promise<void> {
  // a closed pipe (`sled-node scan db | head`) ends the output, not the run with an error
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
  })
  try {
    await buildProgram().parseAsync(process.argv)
  } catch (err) {
    process.exitCode = report(err)
  }
}

void main()
