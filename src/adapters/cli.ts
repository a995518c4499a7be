#!/usr/bin/env node
// The `sled-node` command line: `sled-node <command> <db-path> [args]` to read, write,
// list and move the data of a sled database. Parsing is commander's; this file maps
// commands onto the facade and every failure onto an exit code and one line of text:
// 0 success, 2 usage error, 1 database or input/output error ("sled-node: SLED_LOCKED: …"),
// never a stack trace; SIGINT / SIGTERM exit with 130 / 143 through process.exit, so exit
// listeners (the removal of an import's temporary copy) run.

import { Buffer } from 'node:buffer'
import { existsSync, fstatSync, readFileSync, type Stats, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { type Db, open, type Tree } from '../../index.js'
import { importChecked } from '../db.js'
import { backupCommand, describeBackup } from './cli-backup.js'
import { checkExport, DEFAULT_MAX_TREES, MAX_FIELD } from '../export-format.js'

type TextEncoding = 'utf8' | 'hex' | 'base64'

interface Common {
  json?: boolean
  encoding: TextEncoding
  treeEncoding: TextEncoding
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

/** A value on stdin larger than a value can be: exit 1. */
class InputTooLargeError extends Error {
  readonly code = 'INPUT_TOO_LARGE'
}

/** stdin cannot be read as a value (a directory): exit 1. */
class InputError extends Error {
  readonly code: string

  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}

/** stdout or stderr could not be written; already reported (or EPIPE, which ends quietly). */
class OutputFailed extends Error {}

/** The largest value `put` takes from stdin, after decoding: what an export file can carry. */
const MAX_STDIN_VALUE = MAX_FIELD

const HEX = /^(?:[0-9a-fA-F]{2})*$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Bytes from command-line text in the chosen encoding. */
function bytesFrom(text: string, encoding: TextEncoding, what: string): Buffer {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8')
  const clean = text.replace(/\s+/g, '')
  if (!(encoding === 'hex' ? HEX : BASE64).test(clean) || (encoding === 'base64' && clean.length % 4 !== 0)) {
    throw new UsageError(`${what} is not valid ${encoding}: ${JSON.stringify(text.slice(0, 40))}`)
  }
  const bytes = Buffer.from(clean, encoding)
  // only canonical base64 ('AA==', never 'AB==' for the same byte): one spelling per key
  if (encoding === 'base64' && bytes.toString('base64') !== clean) {
    throw new UsageError(`${what} is not canonical base64 (it would read as ${JSON.stringify(bytes.toString('base64').slice(0, 40))}): ${JSON.stringify(text.slice(0, 40))}`)
  }
  return bytes
}

function textOf(bytes: Buffer, encoding: TextEncoding): string {
  return bytes.toString(encoding)
}

function parsePositive(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('It must be an integer >= 1.')
  return n
}

function parseLimit(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('It must be an integer >= 0.')
  return n
}

/** The first error of stdout, once seen; every later write() throws OutputFailed. */
let outputError: NodeJS.ErrnoException | undefined
/** Settles when everything written so far has reached stdout (or failed). */
let written: Promise<void> = Promise.resolve()

/**
 * An error on stdout: EPIPE (the reader went away, as in `sled-node scan db | head`) ends the
 * run quietly with exit 0; any other (ENOSPC on a full disk, EIO…) is one line and exit 1.
 */
function outputFailed(err: NodeJS.ErrnoException): void {
  if (outputError !== undefined) return
  outputError = err
  if (err.code === 'EPIPE') return
  process.exitCode = 1
  const code = typeof err.code === 'string' ? err.code : 'EIO'
  const text = oneLine(err.message)
  const message = text.startsWith(code) ? text : `${code}: ${text}`
  process.stderr.write(`sled-node: ${message} (writing to stdout)\n`)
}

/** Writes to stdout, waiting when the pipe is full so a long scan never piles up in memory. */
async function write(text: string): Promise<void> {
  if (outputError !== undefined) throw new OutputFailed()
  let done: () => void = () => {}
  written = new Promise<void>((resolve) => (done = resolve))
  const flowing = process.stdout.write(text, (err) => {
    if (err) outputFailed(err)
    done()
  })
  if (!flowing && outputError === undefined) {
    await new Promise<void>((resolve) => {
      const settle = () => {
        process.stdout.off('drain', settle)
        process.stdout.off('error', settle)
        resolve()
      }
      process.stdout.on('drain', settle)
      process.stdout.on('error', settle)
    })
  }
  if (outputError !== undefined) throw new OutputFailed()
}

/** Waits until all output reached stdout; a write error there is reported like any other. */
async function flushOutput(): Promise<void> {
  await written
  if (outputError !== undefined) throw new OutputFailed()
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

/** The tree `--tree` names (in `--tree-encoding`; the default tree without it); only writes may create one. */
function treeOf(db: Db, o: TreeOption, create: boolean): Tree {
  if (o.tree === undefined) return db
  const name = bytesFrom(o.tree, o.treeEncoding, 'tree name')
  // the exact bytes: a lossy comparison let a read command create a tree
  if (!create && !db.treeNames().some((n) => n.equals(name))) {
    const err = new NotFoundError(`no tree named ${JSON.stringify(o.tree)}`)
    Object.defineProperty(err, 'code', { value: 'SLED_COLLECTION_NOT_FOUND' })
    throw err
  }
  return db.openTree(name)
}

function tooLarge(size: number | string): InputTooLargeError {
  return new InputTooLargeError(`the value on stdin is ${size} bytes, more than the ${MAX_STDIN_VALUE} bytes a value can have`)
}

/**
 * Hex or base64 text decoded piece by piece, so input of any length is never one string:
 * whitespace is skipped, and the characters of an unfinished pair (hex) or quad (base64)
 * wait for the next piece.
 */
class TextDecoderStream {
  readonly #encoding: 'hex' | 'base64'
  readonly #text = new StringDecoder('utf8')
  #carry = ''
  #ended = false
  #sample = ''

  constructor(encoding: 'hex' | 'base64') {
    this.#encoding = encoding
  }

  #invalid(): UsageError {
    return new UsageError(`the value on stdin is not valid ${this.#encoding}: ${JSON.stringify(this.#sample.slice(0, 40))}`)
  }

  /** Bytes decoded from this piece of input (and what the last one left over). */
  push(chunk: Buffer): Buffer {
    return this.#decode(this.#text.write(chunk), false)
  }

  end(): Buffer {
    return this.#decode(this.#text.end(), true)
  }

  #decode(piece: string, last: boolean): Buffer {
    if (this.#sample.length < 40) this.#sample += piece.slice(0, 40)
    const text = this.#carry + piece.replace(/\s+/g, '')
    const unit = this.#encoding === 'hex' ? 2 : 4
    const whole = last ? text.length : text.length - (text.length % unit)
    const ready = text.slice(0, whole)
    this.#carry = text.slice(whole)
    if (ready.length === 0) return Buffer.alloc(0)
    // base64 padding ends the value: nothing may follow it
    if (this.#ended || ready.length % unit !== 0) throw this.#invalid()
    if (this.#encoding === 'hex') {
      if (!HEX.test(ready)) throw this.#invalid()
    } else {
      if (!/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(ready)) throw this.#invalid()
      this.#ended = ready.endsWith('=')
    }
    const bytes = Buffer.from(ready, this.#encoding)
    // whole quads only, so each piece re-encodes on its own: refuse non-canonical padding bits
    if (this.#encoding === 'base64' && bytes.toString('base64') !== ready) {
      throw new UsageError(`the value on stdin is not canonical base64: ${JSON.stringify(this.#sample.slice(0, 40))}`)
    }
    return bytes
  }
}

/**
 * The whole of stdin: raw bytes for utf8, or text decoded from hex/base64. Read as a stream
 * (pipes, FIFOs, slow writers, files); more than MAX_STDIN_VALUE bytes is INPUT_TOO_LARGE.
 */
async function readStdin(encoding: TextEncoding): Promise<Buffer> {
  if (process.stdin.isTTY) throw new UsageError('put: give a value, or pipe one on stdin')
  let stat: Stats | undefined
  try {
    stat = fstatSync(0)
  } catch {
    stat = undefined
  }
  // Node reopens a closed stdin (`<&-`) as /dev/null: the two cannot be told apart, and
  // neither is a value someone meant to store ('' stores an empty value)
  if (stat === undefined || isDevNull(stat)) {
    throw new UsageError("put: stdin is closed or /dev/null; give the value as an argument ('' for an empty value), or pipe one on stdin")
  }
  // Node reads a directory on stdin as empty input: never store that
  if (stat.isDirectory()) throw new InputError('EISDIR', 'stdin is a directory, not a value (reading stdin)')
  // a file on stdin says its size up front
  if (encoding === 'utf8' && stat.isFile() && stat.size > MAX_STDIN_VALUE) throw tooLarge(stat.size)
  const decoder = encoding === 'utf8' ? undefined : new TextDecoderStream(encoding)
  const pieces: Buffer[] = []
  let size = 0
  const add = (bytes: Buffer): void => {
    size += bytes.length
    if (size > MAX_STDIN_VALUE) throw tooLarge(`over ${MAX_STDIN_VALUE}`)
    if (bytes.length > 0) pieces.push(bytes)
  }
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) add(decoder ? decoder.push(chunk) : chunk)
  if (decoder) add(decoder.end())
  return Buffer.concat(pieces, size)
}

/** Whether `stat` is the null device (where a closed stdin ends up). */
function isDevNull(stat: Stats): boolean {
  if (!stat.isCharacterDevice()) return false
  try {
    const devNull = statSync('/dev/null')
    return stat.rdev === devNull.rdev
  } catch {
    return false
  }
}

/**
 * Refuses (exit 2) a command-line argument that was not valid UTF-8: Node decodes argv as
 * UTF-8 with U+FFFD for invalid bytes, so two different byte strings would name one key.
 * On Linux the raw bytes are compared with /proc/self/cmdline; where that is not readable,
 * any U+FFFD in an argument is refused, since it cannot be told apart from an invalid byte.
 */
function refuseNonUtf8Arguments(args: readonly string[]): void {
  let raw: Buffer[] | undefined
  try {
    const parts = readFileSync('/proc/self/cmdline')
    const all: Buffer[] = []
    for (let at = 0; at < parts.length; ) {
      const end = parts.indexOf(0, at)
      const stop = end === -1 ? parts.length : end
      all.push(parts.subarray(at, stop))
      at = stop + 1
    }
    // the user's arguments are the last ones, after node, its flags and the script
    if (all.length >= args.length) raw = all.slice(all.length - args.length)
  } catch {
    raw = undefined
  }
  args.forEach((arg, i) => {
    const bytes = raw?.[i]
    const bad = bytes === undefined ? arg.includes('\ufffd') : !bytes.equals(Buffer.from(arg, 'utf8'))
    if (bad) {
      throw new UsageError(
        `argument ${i + 1} (${JSON.stringify(arg.slice(0, 40))}) is not valid UTF-8; give keys, values and prefixes that are not UTF-8 text with --encoding hex or --encoding base64`,
      )
    }
  })
}

function withCommon(cmd: Command): Command {
  const encoding = new Option('--encoding <name>', 'how keys, values and prefixes are written and shown')
    .choices(['utf8', 'hex', 'base64'])
    .default('utf8')
  const treeEncoding = new Option('--tree-encoding <name>', 'how tree names are written (--tree) and shown (trees, stats)')
    .choices(['utf8', 'hex', 'base64'])
    .default('utf8')
  return cmd.addOption(encoding).addOption(treeEncoding).option('--json', 'print JSON')
}

function withTree(cmd: Command): Command {
  return withCommon(cmd).option('--tree <name>', 'the tree to use (its name in --tree-encoding, default UTF-8; default: the default tree)')
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
      const value = await withDb(path, false, (db) => treeOf(db, o, false).get(k))
      if (value === undefined) throw new NotFoundError(`no key ${JSON.stringify(key)}`)
      await write(o.json ? `${JSON.stringify({ key, value: textOf(value, o.encoding) })}\n` : `${textOf(value, o.encoding)}\n`)
      await flushOutput()
    })

  withTree(program.command('put').description('store a value (read from stdin when omitted)'))
    .argument('<db-path>')
    .argument('<key>')
    .argument('[value]')
    .action(async (path: string, key: string, value: string | undefined, o: TreeOption) => {
      const k = bytesFrom(key, o.encoding, 'key')
      const v = value === undefined ? await readStdin(o.encoding) : bytesFrom(value, o.encoding, 'value')
      await withDb(path, true, (db) => treeOf(db, o, true).insert(k, v))
    })

  withTree(program.command('del').description('delete a key'))
    .argument('<db-path>')
    .argument('<key>')
    .action(async (path: string, key: string, o: TreeOption) => {
      const k = bytesFrom(key, o.encoding, 'key')
      const removed = await withDb(path, false, (db) => treeOf(db, o, false).remove(k))
      if (o.json) await write(`${JSON.stringify({ key, removed: removed !== undefined })}\n`)
      await flushOutput()
    })

  withTree(program.command('scan').description('print entries in key order: "key<TAB>value" lines, or a JSON array'))
    .argument('<db-path>')
    .option('--prefix <prefix>', 'only keys starting with this')
    .option('--limit <n>', 'at most n entries', parseLimit)
    .option('--reverse', 'from the greatest key down')
    .action(async (path: string, o: TreeOption & { prefix?: string; limit?: number; reverse?: boolean }) => {
      const prefix = bytesFrom(o.prefix ?? '', o.encoding, 'prefix')
      await withDb(path, false, async (db) => {
        const entries = treeOf(db, o, false).scanPrefix(prefix, { reverse: o.reverse ?? false, limit: o.limit })
        let first = true
        if (o.json) await write('[')
        for await (const [key, value] of entries) {
          const k = textOf(key, o.encoding)
          const v = textOf(value, o.encoding)
          await write(o.json ? `${first ? '' : ','}\n  ${JSON.stringify({ key: k, value: v })}` : `${k}\t${v}\n`)
          first = false
        }
        if (o.json) await write(first ? ']\n' : '\n]\n')
        await flushOutput()
      })
    })

  withCommon(program.command('trees').description('list the trees (including __sled__default)'))
    .argument('<db-path>')
    .action(async (path: string, o: Common) => {
      const names = await withDb(path, false, (db) => db.treeNames().map((n) => textOf(n, o.treeEncoding)))
      await write(o.json ? `${JSON.stringify(names)}\n` : names.map((n) => `${n}\n`).join(''))
      await flushOutput()
    })

  withCommon(program.command('stats').description('entries per tree, size on disk, whether sled recovered data'))
    .argument('<db-path>')
    .action(async (path: string, o: Common) => {
      const stats = await withDb(path, false, (db) => ({
        path: db.path,
        recovered: db.wasRecovered,
        sizeOnDisk: db.sizeOnDisk(),
        trees: db.treeNames().map((name) => ({ name: textOf(name, o.treeEncoding), len: db.openTree(name).len() })),
      }))
      if (o.json) {
        await write(`${JSON.stringify(stats)}\n`)
        return flushOutput()
      }
      const width = Math.max(...stats.trees.map((t) => t.name.length))
      const lines = [
        `path: ${stats.path}`,
        `recovered: ${stats.recovered}`,
        `size on disk: ${stats.sizeOnDisk} bytes`,
        'trees:',
        ...stats.trees.map((t) => `  ${t.name.padEnd(width)}  ${t.len}`),
      ]
      await write(`${lines.join('\n')}\n`)
      return flushOutput()
    })

  withCommon(program.command('export').description("write every tree to a file (sled's export format)"))
    .argument('<db-path>')
    .argument('<file>')
    .action(async (path: string, file: string) => {
      await withDb(path, false, (db) => db.exportTo(file))
    })

  withCommon(program.command('backup').description('copy the database, as of one instant and verified, into a new database (destination must not exist or be empty)'))
    .argument('<db-path>')
    .argument('<destination>')
    .action(async (path: string, destination: string, o: Common) => {
      const result = await withDb(path, false, (db) => backupCommand(db, destination))
      await write(o.json ? `${JSON.stringify(result)}\n` : `${describeBackup(result, destination)}\n`)
      await flushOutput()
    })

  withCommon(program.command('import').description('load a file written by export (never overwrites a key)'))
    .argument('<db-path>')
    .argument('<file>')
    .option('--max-trees <n>', `refuse a file with more than n trees (default ${DEFAULT_MAX_TREES})`, parsePositive)
    .action(async (path: string, file: string, o: Common & { maxTrees?: number }) => {
      // the whole file is checked before the database is opened: a file that is missing or
      // not a valid export leaves no new database behind. Input that cannot be read twice
      // (a FIFO, /dev/stdin) is checked into a temporary copy. The second pass, which checks
      // every record again as it imports, reads the file (or the copy) once more.
      const checked = await checkExport(file, { maxTrees: o.maxTrees })
      try {
        await withDb(path, true, (db) => importChecked(db, checked))
      } finally {
        await checked.close()
      }
    })

  return program
}

/** `text` with control characters escaped as in JSON (a path with a newline stays on one line). */
function oneLine(text: string): string {
  const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** One line on stderr and the exit status for any failure. */
function report(err: unknown): number {
  // reported when it happened; EPIPE is a quiet end
  if (err instanceof OutputFailed) return outputError?.code === 'EPIPE' ? 0 : 1
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2 // commander printed it
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  const text = oneLine(typeof message === 'string' ? message : String(err))
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
  // Ctrl-C or a kill: the 'exit' listeners run (they remove an import's temporary copy of
  // its input), then the signal is raised again with its default action, so the process
  // ends killed by it (a shell reports 130 / 143). Not process.exit: at exit, libuv waits
  // for its threads, and one blocked reading a FIFO nobody writes to would hang the exit.
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      process.exitCode = status
      try {
        process.emit('exit', status)
      } finally {
        process.kill(process.pid, signal)
        // if the signal could not end the process
        setTimeout(() => process.exit(status), 1000).unref()
      }
    })
  }
  // a closed pipe (`sled-node scan db | head`) ends the output, not the run with an error;
  // any other error on stdout is one line on stderr and exit 1 (also for commander's help)
  process.stdout.on('error', outputFailed)
  // nowhere left to say it: the exit status tells
  process.stderr.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.exitCode = 1
  })
  try {
    refuseNonUtf8Arguments(process.argv.slice(2))
    await buildProgram().parseAsync(process.argv)
    await flushOutput()
  } catch (err) {
    const status = report(err)
    // an output error reported on the way keeps its exit 1
    if (status !== 0 || process.exitCode === undefined) process.exitCode = status
  }
}

void main()
