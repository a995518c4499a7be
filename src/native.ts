// The loader layer: loads the addon through napi-rs's generated loader and wraps
// each native method once, so every native error reaches users as the class of
// src/errors.ts. Nothing above this module sees a raw native error.

import type * as Native from '#native'
import { fromNative } from './errors.js'

// `#native` (package.json imports): napi-rs's generated loader in dist/, typed by the
// generated index.d.ts
const addon = require('#native') as typeof Native

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

function wrap(name: string, fn: AnyMethod): AnyMethod {
  return name.endsWith('Async') ? wrapAsync(fn) : wrapSync(fn)
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

export const openNative = wrap('open', addon.open as AnyMethod) as typeof Native.open
export const runTransaction = wrap('transaction', addon.transaction as AnyMethod) as typeof Native.transaction
export const openNativeAsync = wrap('openAsync', addon.openAsync as AnyMethod) as typeof Native.openAsync

// Flush every open database when this environment ends. `exit` covers
// process.exit() and the natural end of the main thread or a worker; the cleanup
// hook covers worker.terminate(). Neither holds a JS handle, so finalizers still
// collect unclosed handles.
addon.installExitFlush()
process.once('exit', () => addon.flushAll())
