// Encodings: how keys and values turn into bytes and back, per handle
// (`keyEncoding` / `valueEncoding` on open() and openTree()).
// 'buffer' (default) | 'view' | 'utf8' | 'json' | a codec { encode, decode }.

import { Buffer } from 'node:buffer'
import { attachedView, type Bytes, invalidType, invalidValue, isUint8Array, toBytes } from './args.js'
import { argError } from './errors.js'

/** A user codec: `encode` must return bytes; `decode` gets a Buffer. */
export interface Codec<T> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

export type Encoding<T = unknown> = 'buffer' | 'view' | 'utf8' | 'json' | Codec<T>

export interface EncodingOptions<K = unknown, V = unknown> {
  keyEncoding?: Encoding<K>
  valueEncoding?: Encoding<V>
}

/**
 * The type an encoding reads back (and takes besides `Bytes`): what `open(path, {
 * valueEncoding: 'utf8' })` infers for `V`. `'json'` gives `unknown`: name the type
 * yourself (`open<string, User>(…)`) for more.
 */
export type Decoded<E> =
  IsAny<E> extends true
    ? E
    : [E] extends ['view']
      ? Uint8Array
      : [E] extends ['utf8']
        ? string
        : [E] extends ['json']
          ? unknown
          : [E] extends [Codec<infer T>]
            ? T
            : Buffer

/** `Decoded<E>`, or `Inherited` when no encoding was given. */
export type DecodedOr<E, Inherited> = [E] extends [never] ? Inherited : Decoded<E>

type IsAny<T> = 0 extends 1 & T ? true : false
type IsUnion<T, All = T> = T extends unknown ? ([All] extends [T] ? false : true) : never

/**
 * `E` when it is one encoding (a literal or a codec), else `never`: an encoding whose type
 * is a union (a variable typed `Encoding<K>`) makes the inferring overloads of open() and
 * openTree() not apply, so the ones with plain K and V type it, as before they existed.
 */
export type OneEncoding<E> = IsAny<E> extends true ? E : true extends IsUnion<E> ? never : E

/** Encoding options spelled out, so that the encodings themselves can be inferred. */
export interface EncodingsOf<KE, VE> {
  keyEncoding?: KE & OneEncoding<KE>
  valueEncoding?: VE & OneEncoding<VE>
}

/** The internal form: `raw` codecs hand Buffers through untouched (the fast path). */
export interface Coder {
  readonly raw: boolean
  /** json and custom codecs can store `null`; for the others `null` means absent, like `undefined`. */
  readonly nullIsValue: boolean
  encode(value: unknown, name: string): Uint8Array
  decode(bytes: Buffer): unknown
}

const BUFFER: Coder = { raw: true, nullIsValue: false, encode: toBytes, decode: (b) => b }

const VIEW: Coder = {
  raw: false,
  nullIsValue: false,
  encode: toBytes,
  decode: (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
}

const UTF8: Coder = {
  raw: false,
  nullIsValue: false,
  encode: toBytes,
  decode: (b) => b.toString('utf8'),
}

const JSON_CODER: Coder = {
  raw: false,
  nullIsValue: true,
  encode(value, name) {
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (error) {
      // a BigInt or a cycle: an unencodable argument like any other (a toJSON() that
      // throws something else is the caller's own code, rethrown unchanged)
      if (!(error instanceof TypeError)) throw error
      const err = invalidValue(name, `cannot be encoded as JSON (${error.message.split('\n')[0]})`, value)
      err.cause = error
      throw err
    }
    if (text === undefined) throw invalidValue(name, 'cannot be encoded as JSON', value)
    return Buffer.from(text, 'utf8')
  },
  decode: (b) => JSON.parse(b.toString('utf8')) as unknown,
}

function custom(codec: Codec<unknown>): Coder {
  return {
    raw: false,
    nullIsValue: true,
    encode(value, name) {
      // the codec's own errors propagate unchanged
      const bytes = codec.encode(value)
      if (!isUint8Array(bytes)) {
        throw argError('ERR_INVALID_RETURN_VALUE', `The codec's encode() must return a Uint8Array for "${name}". Received ${typeof bytes}`)
      }
      return attachedView(bytes, name)
    },
    decode: (b) => codec.decode(b),
  }
}

/** Validates an encoding option; `undefined` means `fallback`. */
export function coderFor(encoding: unknown, name: string, fallback: Coder = BUFFER): Coder {
  switch (encoding) {
    case undefined:
      return fallback
    case 'buffer':
      return BUFFER
    case 'view':
      return VIEW
    case 'utf8':
      return UTF8
    case 'json':
      return JSON_CODER
  }
  if (typeof encoding === 'object' && encoding !== null) {
    const { encode, decode } = encoding as Partial<Codec<unknown>>
    if (typeof encode === 'function' && typeof decode === 'function') return custom(encoding as Codec<unknown>)
  }
  if (typeof encoding === 'string') throw invalidValue(name, "must be 'buffer', 'view', 'utf8', 'json' or a codec", encoding)
  throw invalidType(name, "one of 'buffer', 'view', 'utf8', 'json' or an object with encode() and decode()", encoding)
}

export interface Coders {
  key: Coder
  value: Coder
}

export function codersFor(opts: Record<string, unknown> | undefined, inherit?: Coders): Coders {
  return {
    key: coderFor(opts?.keyEncoding, 'options.keyEncoding', inherit?.key),
    value: coderFor(opts?.valueEncoding, 'options.valueEncoding', inherit?.value),
  }
}

/**
 * A prefix given as bytes or text is used as it is, never passed through a json or
 * custom codec (the prefix of an encoded key is rarely the encoding of anything);
 * any other value is a key, encoded with the key codec.
 */
export function prefixBytes(prefix: unknown, key: Coder): Uint8Array {
  return typeof prefix === 'string' || isUint8Array(prefix) || key.raw ? toBytes(prefix, 'prefix') : key.encode(prefix, 'prefix')
}

export type { Bytes }
