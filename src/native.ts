// The loader layer: loads the addon through napi-rs's generated loader and registers
// the error classes of src/errors.ts with it, so the addon throws (and rejects with)
// those classes itself. Nothing above this module sees a raw native error.

import { Buffer } from 'node:buffer'
import { markAsUntransferable } from 'node:worker_threads'
import type * as Native from '#native'
import { byteLength } from './typed-array.js'
import * as errors from './errors.js'

// `#native` (package.json imports): napi-rs's generated loader in dist/, typed by the
// generated index.d.ts
const addon = loadAddon()

function loadAddon(): typeof Native {
  try {
    return require('#native') as typeof Native
  } catch (error) {
    throw noBinaryError(error)
  }
}

/**
 * The loader's own failure is a generic message over a chain of per-candidate errors; a user
 * needs to know which binary was missing and what to do. One line per candidate and no
 * `cause`, so an uncaught error prints no loader stack traces.
 */
function noBinaryError(error: unknown): errors.SledError {
  const libc = linuxLibc()
  const target = napiTarget(libc)
  // napi-rs chains one error per candidate through `cause`, newest first, under a generic
  // "Cannot find native binding" that blames an npm bug; keep the candidates, in order.
  const reasons: string[] = []
  const first = error instanceof Error && error.cause instanceof Error ? error.cause : error
  for (let e = first; e instanceof Error; e = e.cause) reasons.unshift(e.message.split('\n')[0]!)
  return new errors.SledError(
    [
      `sled-node: no native binary could be loaded for ${target} ` +
        `(${[process.platform, process.arch, libc].filter(Boolean).join(', ')}).`,
      `Prebuilt binaries are the optional packages ${publishedBinaries()}. If ${target} is ` +
        `among them, reinstall without --omit=optional / --no-optional.`,
      `Otherwise build from source (needs Rust, https://rustup.rs, and a C compiler): in a ` +
        `checkout of sled-node run \`npm ci && npm run build:native\`, then copy ` +
        `dist/sled-node.${target}.node into node_modules/sled-node/dist/ or set ` +
        `NAPI_RS_NATIVE_LIBRARY_PATH to its absolute path.`,
      'Loader attempts:',
      ...reasons.map((reason) => `  ${reason}`),
    ].join('\n'),
    'SLED_NO_BINARY',
  )
}

/** The platform packages this version depends on (package.json optionalDependencies). */
function publishedBinaries(): string {
  try {
    const pkg = require('sled-node/package.json') as { optionalDependencies?: object }
    return Object.keys(pkg.optionalDependencies ?? {}).join(', ')
  } catch {
    return 'sled-node-<platform>'
  }
}

/** napi-rs's name for this platform, as in the `sled-node-<target>` packages. */
function napiTarget(libc: string | undefined): string {
  const base = `${process.platform}-${process.arch}`
  if (process.platform === 'linux') return `${base}-${libc === 'musl' ? 'musl' : 'gnu'}`
  return process.platform === 'win32' ? `${base}-msvc` : base
}

/** 'glibc x.y' or 'musl' on Linux (no glibc version in the process report means musl). */
function linuxLibc(): string | undefined {
  if (process.platform !== 'linux') return undefined
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header
    return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'musl'
  } catch {
    return undefined
  }
}

// per environment, and again by each copy of the facade loaded on one thread (the
// last load's classes are the ones built from then on)
addon.registerErrors(errors)

export type NativeDb = Native.NativeDb
export type NativeTree = Native.NativeTree
export type NativeOpenOptions = Native.NativeOpenOptions
export type NativeIter = Native.NativeIter
export type RangeSpec = Native.RangeSpec
export type NativeTxTree = Native.NativeTxTree
export type NativeSubscriber = Native.NativeSubscriber
export type NativeBackup = Native.NativeBackup

/** A backup's progress counters and cancel switch (its methods do not throw). */
export function newNativeBackup(): NativeBackup {
  return new addon.NativeBackup()
}

export type NativeTaskLine = Native.NativeTaskLine

/** The native side of one batcher's tasks (crates/sled-node/src/task_line.rs); `notify` runs when finished tasks wait to be taken. */
export function newNativeTaskLine(notify: () => void): NativeTaskLine {
  return new addon.NativeTaskLine(notify)
}

export const openNative = addon.open
export const runTransaction = addon.transaction
export const openNativeAsync = addon.openAsync

/**
 * This thread's scratch buffer (crates/sled-node/src/scratch.rs): the fast calls
 * (crates/sled-node/src/fast.rs) find their arguments in it and leave their results
 * there, which costs less than passing and returning Buffers through napi-rs. A value
 * read is copied out of it into a pooled Buffer of its own. It belongs to the thread:
 * every load of this module on the thread gets the same one.
 */
const scratch: Buffer = addon.scratch()
/**
 * The scratch's header words: in, handle index, generation, key length, value length;
 * out, the outcome and where a value read is (its offset in the arena, or -1: in the
 * scratch); word 4, the generation of this thread's value arena (arena.rs).
 */
const header = new Int32Array(scratch.buffer, scratch.byteOffset, 5)
/** Where keys and values start in the scratch (fast.rs's DATA). */
const DATA = 32
/** Keys plus values up to this size take the fast path. */
const FAST_MAX = scratch.length - DATA
const calls = addon.fastCalls()

/**
 * This thread's value arena (crates/sled-node/src/arena.rs): small values read by the
 * fast calls are slices of it, as small Buffers are slices of Node's allocUnsafe pool.
 * Every load of this module on the thread shares it; `arenaGeneration` says which one
 * this load holds.
 */
let arena!: Buffer
let arenaGeneration!: number
// read once: `.buffer` and `.byteOffset` of a typed array are calls into V8's runtime
let arenaBytes!: ArrayBufferLike
let arenaStart!: number
/** arena.rs's VALUE_MAX: larger values are copied out of the scratch. */
const ARENA_VALUE_MAX = 4096

/** Takes this thread's current arena, or a new one when `fresh`. */
function adoptArena(fresh: boolean): void {
  arena = addon.arena(fresh)
  arenaGeneration = header[4] as number
  arenaBytes = arena.buffer
  arenaStart = arena.byteOffset
  // posting it would move the bytes of every value in it to another thread (marking
  // again an arena another load of this module made and marked is harmless)
  markAsUntransferable(arenaBytes)
}
adoptArena(false)

/** Whether a transaction callback is running on this thread (any load of the facade). */
export const inTransaction: () => boolean = addon.inTransaction

/**
 * Bytes `start` to `end` of `bytes` in a Buffer of their own, from Node's pool when small:
 * how values read natively reach the caller (not a view into a shared buffer).
 */
export function copyRange(bytes: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start)
  bytes.copy(out, 0, start, end)
  return out
}

/**
 * Unpacks getMany's `[len u32 | 0xffffffff][bytes]` per value, at most `count` of them and
 * as many as `packed` holds: into views of `packed`, or with `copy`, into Buffers of their
 * own (as `get` returns them).
 */
export function unpackValues(packed: Buffer, count: number, copy = false): (Buffer | undefined)[] {
  const out = new Array<Buffer | undefined>(count)
  let at = 0
  let i = 0
  for (; i < count && at < packed.length; i++) {
    const length = packed.readUInt32LE(at)
    at += 4
    if (length === 0xffffffff) {
      out[i] = undefined
    } else {
      out[i] = copy ? copyRange(packed, at, at + length) : packed.subarray(at, at + length)
      at += length
    }
  }
  out.length = i
  return out
}

/** A fast call's outcome: a value's length (>= 0), or one of these. */
export const FAST_ABSENT = -1
const FAST_OVERFLOW = -2
/** The fast path did not handle the call (closed handle, transaction, error, too large): use the ordinary method. */
export const FAST_SLOW = -3

/** The fast calls: argument-free native functions (fast.rs). */
export const { get: fastGet, containsKey: fastContainsKey, insert: fastInsert, remove: fastRemove } = calls

/**
 * Runs fast call `call` on the tree numbered `id` (NativeTree.fastHandle()) with `key`
 * (and `value`): the outcome, or FAST_SLOW when the ordinary method must be called.
 */
export function fastCall(call: () => void, id: number[], key: Uint8Array, value?: Uint8Array): number {
  const keyLength = byteLength(key)
  const valueLength = value === undefined ? 0 : byteLength(value)
  if (keyLength + valueLength > FAST_MAX) return FAST_SLOW
  // the arena the call may write a value into must be this thread's current one and
  // still attached (see arena.rs); both checks are two loads when nothing changed
  if (header[4] !== arenaGeneration) adoptArena(false)
  if (arena.length === 0) adoptArena(true)
  header[0] = id[0] as number
  header[1] = id[1] as number
  header[2] = keyLength
  header[3] = valueLength
  scratch.set(key, DATA)
  if (value !== undefined) scratch.set(value, DATA + keyLength)
  call()
  return header[0] as number
}

/** The value a fast call read, given its outcome (>= 0 or FAST_ABSENT): a slice of the arena no other value shares, or a Buffer of its own. */
export function fastValue(outcome: number): Buffer | undefined {
  if (outcome >= 0) {
    const at = header[1] as number
    // a slice of the arena that no other value shares and no call writes again
    if (at >= 0) return Buffer.from(arenaBytes, arenaStart + at, outcome)
    // in the scratch: too large for the arena, or the arena is full (so replace it)
    const value = copyRange(scratch, DATA, DATA + outcome)
    if (outcome <= ARENA_VALUE_MAX) adoptArena(true)
    return value
  }
  if (outcome === FAST_OVERFLOW) return addon.takeOverflow()
  return undefined
}

// Flush every open database when this environment ends. `exit` covers
// process.exit() and the natural end of the main thread or a worker; the cleanup
// hook covers worker.terminate(). Neither holds a JS handle, so finalizers still
// collect unclosed handles.
addon.installExitFlush()
process.once('exit', () => addon.flushAll())
