// The loader layer: loads the addon through napi-rs's generated loader and wraps
// each native method once, so every native error reaches users as the class of
// src/errors.ts. Nothing above this module sees a raw native error.

import type * as Native from '#native'
import { fromNative, SledError } from './errors.js'

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
function noBinaryError(error: unknown): SledError {
  const libc = linuxLibc()
  const target = napiTarget(libc)
  // napi-rs chains one error per candidate through `cause`, newest first, under a generic
  // "Cannot find native binding" that blames an npm bug; keep the candidates, in order.
  const reasons: string[] = []
  const first = error instanceof Error && error.cause instanceof Error ? error.cause : error
  for (let e = first; e instanceof Error; e = e.cause) reasons.unshift(e.message.split('\n')[0]!)
  return new SledError(
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

function rethrow(error: unknown): never {
  throw fromNative(error)
}

type AnyMethod = (this: unknown, a?: unknown, b?: unknown, c?: unknown) => unknown

/** Native methods take at most three arguments; a fixed arity avoids rest-args cost. */
function wrapSync(fn: AnyMethod): AnyMethod {
  return function (this: unknown, a?: unknown, b?: unknown, c?: unknown) {
    try {
      return fn.call(this, a, b, c)
    } catch (error) {
      rethrow(error)
    }
  }
}

function wrapAsync(fn: AnyMethod): AnyMethod {
  return function (this: unknown, a?: unknown, b?: unknown, c?: unknown) {
    try {
      return (fn.call(this, a, b, c) as Promise<unknown>).catch(rethrow)
    } catch (error) {
      return Promise.reject(fromNative(error))
    }
  }
}

/** Native methods that return a Promise (pool tasks). */
const ASYNC = new Set(['backup'])

function wrap(name: string, fn: AnyMethod): AnyMethod {
  return name.endsWith('Async') || ASYNC.has(name) ? wrapAsync(fn) : wrapSync(fn)
}

function wrapClass(cls: { prototype: object }): void {
  const proto = cls.prototype as Record<string, unknown>
  for (const name of Object.getOwnPropertyNames(proto)) {
    const desc = Object.getOwnPropertyDescriptor(proto, name)
    if (name === 'constructor' || !desc || typeof desc.value !== 'function') continue
    Object.defineProperty(proto, name, { ...desc, value: wrap(name, desc.value as AnyMethod) })
  }
}

wrapClass(addon.NativeDb)
wrapClass(addon.NativeTree)
wrapClass(addon.NativeIter)
wrapClass(addon.NativeTxTree)
wrapClass(addon.NativeSubscriber)

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

export const openNative = wrap('open', addon.open as AnyMethod) as typeof Native.open
export const runTransaction = wrap('transaction', addon.transaction as AnyMethod) as typeof Native.transaction
export const openNativeAsync = wrap('openAsync', addon.openAsync as AnyMethod) as typeof Native.openAsync

/**
 * This thread's scratch buffer for `get` (crates/sled-node/src/scratch.rs): values up
 * to its size are copied into it natively and out of it into a pooled Buffer here,
 * which costs less than creating a Buffer from native code. It belongs to the thread:
 * every load of this module on the thread gets the same one.
 */
const scratch: Buffer = addon.scratch()

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

/** A fresh Buffer holding the first `length` bytes of the scratch. */
export function takeScratch(length: number): Buffer {
  return copyRange(scratch, 0, length)
}

// Flush every open database when this environment ends. `exit` covers
// process.exit() and the natural end of the main thread or a worker; the cleanup
// hook covers worker.terminate(). Neither holds a JS handle, so finalizers still
// collect unclosed handles.
addon.installExitFlush()
process.once('exit', () => addon.flushAll())
