// Argument checks and conversion: the one path every public function takes for
// its inputs, with Node's own error codes (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE…).

import { Buffer } from 'node:buffer'
import { argError } from './errors.js'
import { typedArrayName } from './typed-array.js'
import type { NativeOpenOptions } from './native.js'

/** Input bytes: a Buffer, any Uint8Array (its view is respected) or a UTF-8 string. */
export type Bytes = Uint8Array | string

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`
  if (typeof value === 'object') {
    try {
      return `an instance of ${value.constructor?.name ?? 'Object'}`
    } catch {
      return 'a revoked Proxy' // any property read throws
    }
  }
  if (typeof value === 'string') return `type string (${JSON.stringify(value.slice(0, 28))})`
  if (typeof value === 'symbol') return `type symbol (${String(value)})`
  return `type ${typeof value} (${String(value)})`
}

export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return argError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}. Received ${describe(value)}`)
}

export function invalidValue(name: string, reason: string, value: unknown): TypeError {
  return argError('ERR_INVALID_ARG_VALUE', `The argument '${name}' ${reason}. Received ${describe(value)}`)
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  return argError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`)
}

/**
 * A real Uint8Array (Buffer included), from any realm: not an object that merely inherits
 * from Uint8Array.prototype, nor a Proxy of one, which the native layer cannot read.
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  return typedArrayName(value) === 'Uint8Array'
}

/** Whether `buffer` was detached (transferred away); a SharedArrayBuffer never is. */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0 || !(buffer instanceof ArrayBuffer)) return false
  try {
    new Uint8Array(buffer)
    return false
  } catch {
    return true
  }
}

/**
 * Refuses a view on a detached ArrayBuffer: it reads as empty, so it would silently
 * store (or look up) an empty key or value instead of the bytes the caller meant.
 */
export function attachedView(view: Uint8Array, name: string): Uint8Array {
  if (view.byteLength === 0 && isDetached(view.buffer)) {
    throw invalidValue(name, 'must not be a view on a detached ArrayBuffer', view)
  }
  return view
}

/**
 * Converts a key or value to bytes for the native layer. Views on a SharedArrayBuffer
 * are accepted as bytes and copied once before sled sees them: the fast calls copy
 * them into the scratch, the other sync methods copy keys as the native side converts
 * its arguments (`bytes::Key`; compareAndSwap's `expected` too), async methods copy them
 * before returning the promise.
 */
export function toBytes(value: unknown, name: string): Uint8Array {
  if (isUint8Array(value)) return value.byteLength === 0 ? attachedView(value, name) : value
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  throw invalidType(name, 'of type string or an instance of Buffer or Uint8Array', value)
}

export function requireFunction<F extends (...args: never[]) => unknown>(value: unknown, name: string): F {
  if (typeof value !== 'function') throw invalidType(name, 'of type function', value)
  return value as F
}

export function requireArgs(count: number, expected: number, names: string[]): void {
  if (count < expected) {
    throw argError('ERR_MISSING_ARGS', `The ${names.map((n) => `"${n}"`).join(', ')} arguments must be specified`)
  }
}

export function requireArray(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw invalidType(name, 'an instance of Array', value)
  return value
}

export function requirePath(value: unknown, name = 'path'): string {
  if (typeof value !== 'string') throw invalidType(name, 'of type string', value)
  if (value.length === 0) throw invalidValue(name, 'must be a non-empty string', value)
  if (value.includes('\u0000')) throw invalidValue(name, 'must be a string without null bytes', value)
  return value
}

/**
 * A plain object: made by `{…}`, `Object.create(null)` or JSON.parse (in any realm). Not an
 * array, a Map, a Date, a class instance or an object inheriting from another object.
 */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null
  if (proto === null || proto === Object.prototype) return true
  // another realm's Object.prototype (vm contexts)
  if (Object.getPrototypeOf(proto) !== null) return false
  const ctor = (Object.getOwnPropertyDescriptor(proto, 'constructor')?.value ?? null) as { name?: unknown; prototype?: unknown } | null
  return typeof ctor === 'function' && ctor.name === 'Object' && ctor.prototype === proto
}

/**
 * An options argument: `undefined`, or a plain object (else ERR_INVALID_ARG_TYPE). Returns a
 * snapshot of its own enumerable properties, so inherited properties are never read and a
 * getter runs once.
 */
export function requireObject(value: unknown, name: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  let plain = false
  try {
    plain = value !== null && typeof value === 'object' && !Array.isArray(value) && isPlainObject(value)
  } catch {
    // a revoked Proxy: every check of it throws
  }
  if (!plain) throw invalidType(name, 'a plain object', value)
  const source = value as Record<string, unknown>
  const own: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  for (const key of Object.keys(source)) own[key] = source[key]
  return own
}

function integer(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value)
  }
  return value
}

function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'of type boolean', value)
  return value
}

export type Mode = 'lowSpace' | 'highThroughput'

/** sled's settings, as docs/api.md's OpenOptions. */
export interface SledOptions {
  /** Cache size in bytes (sled default 1 GiB; at least 256). */
  cacheCapacity?: number
  /** Accepted for sled compatibility; sled 0.34.7 never reads it. */
  mode?: Mode
  /** Background flush interval in ms (default 500); `null` turns it off. */
  flushEveryMs?: number | null
  /** Delete the database when the last handle closes. */
  temporary?: boolean
  /** Fail if a database already exists at the path. */
  createNew?: boolean
  /** zstd compression; `{ factor }` from 1 to 22 (default 5). Fixed at creation. */
  compression?: boolean | { factor: number }
  /** sled's segment size: a power of two from 256 to 16 MiB. Fixed at creation. */
  segmentSize?: number
  idgenPersistInterval?: number
  printProfileOnDrop?: boolean
}

const MAX_SEGMENT = 1 << 24

/** Validates open options and translates them to the native shape. */
export function nativeOptions(raw: Record<string, unknown> | undefined, extraKeys: readonly string[]): NativeOpenOptions {
  const out: NativeOpenOptions = {}
  if (!raw) return out
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || extraKeys.includes(key)) continue
    const name = `options.${key}`
    switch (key) {
      case 'cacheCapacity':
        out.cacheCapacity = integer(value, name, 256)
        break
      case 'mode':
        if (value !== 'lowSpace' && value !== 'highThroughput') {
          throw invalidValue(name, "must be 'lowSpace' or 'highThroughput'", value)
        }
        out.mode = value
        break
      case 'flushEveryMs':
        // the native layer spells "no background flush" as 0
        out.flushEveryMs = value === null ? 0 : integer(value, name, 1)
        break
      case 'temporary':
        out.temporary = boolean(value, name)
        break
      case 'createNew':
        out.createNew = boolean(value, name)
        break
      case 'printProfileOnDrop':
        out.printProfileOnDrop = boolean(value, name)
        break
      case 'compression':
        if (typeof value === 'boolean') {
          out.compression = value
        } else {
          const opts = requireObject(value, name) ?? {}
          for (const k of Object.keys(opts)) {
            if (k !== 'factor') throw invalidValue(name, `has an unknown property '${k}'`, value)
          }
          out.compression = true
          if (opts.factor !== undefined) out.compressionFactor = integer(opts.factor, `${name}.factor`, 1, 22)
        }
        break
      case 'segmentSize': {
        const size = integer(value, name, 256, MAX_SEGMENT)
        if ((size & (size - 1)) !== 0) throw outOfRange(name, 'a power of two from 256 to 16777216', value)
        out.segmentSize = size
        break
      }
      case 'idgenPersistInterval':
        out.idgenPersistInterval = integer(value, name, 1)
        break
      default:
        throw invalidValue('options', `has an unknown property '${key}'`, raw)
    }
  }
  return out
}
