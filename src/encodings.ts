// Encodings: how keys and values turn into bytes and back, per handle
// (`keyEncoding` / `valueEncoding` on open() and openTree()).
// 'buffer' (default) | 'view' | 'utf8' | 'json' | 'ordered' | 'msgpack' | a codec { encode, decode }.

import { Buffer } from 'node:buffer'
import { attachedView, type Bytes, invalidType, invalidValue, isUint8Array, toBytes } from './args.js'
import { argError, SledError } from './errors.js'
import { decodeOrdered, encodeOrdered, type OrderedKey, orderedPrefix } from './ordered.js'

/** A user codec: `encode` must return bytes; `decode` gets a Buffer. */
export interface Codec<T> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

export type Encoding<T = unknown> = 'buffer' | 'view' | 'utf8' | 'json' | 'ordered' | 'msgpack' | Codec<T>

export interface EncodingOptions<K = unknown, V = unknown> {
  keyEncoding?: Encoding<K>
  valueEncoding?: Encoding<V>
}

/**
 * The type an encoding reads back (and takes besides `Bytes`): what `open(path, {
 * valueEncoding: 'utf8' })` infers for `V`. `'ordered'` gives `OrderedKey`; `'json'` and
 * `'msgpack'` give `unknown`: name the type
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
          : [E] extends ['ordered']
            ? OrderedKey
            : [E] extends ['msgpack']
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
  /** How a prefix that is neither bytes nor a string is encoded, when not with `encode`. */
  readonly prefix?: (value: unknown, name: string) => Uint8Array
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

const ORDERED: Coder = {
  raw: false,
  nullIsValue: true,
  encode: encodeOrdered,
  decode: decodeOrdered,
  prefix: orderedPrefix,
}

/** The msgpackr module, an optional peer dependency: loaded on first use of 'msgpack'. */
interface Msgpackr {
  Packr: new (options: Record<string, unknown>) => { pack(value: unknown): Uint8Array }
  Unpackr: new (options: Record<string, unknown>) => { unpack(bytes: Uint8Array): unknown }
}

let msgpackCoder: Coder | undefined

/**
 * 'msgpack' through msgpackr: Date, Map, Set, BigInt, typed arrays, RegExp, Error, cycles
 * and shared references, int64 read back as BigInt. Every value is self-contained: msgpackr's
 * records are on, but not `sequential` and with no shared `structures`, so each value carries
 * the definitions of the record shapes it uses (record ids restart with every value), and a
 * separate Unpackr reads any value alone, in any order, in any process. The same value (built
 * the same way) always packs to the same bytes, so 'msgpack' keys are deterministic.
 */
function msgpack(name: string): Coder {
  if (msgpackCoder) return msgpackCoder
  let msgpackr: Msgpackr
  try {
    // a plain require inside try: bundlers leave it unresolved when msgpackr is not installed
    msgpackr = require('msgpackr') as Msgpackr
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error
    throw new SledError(
      `${name} 'msgpack' needs msgpackr, an optional peer dependency of sled-node: install it with \`npm install msgpackr\``,
      'SLED_MISSING_PEER',
      { cause: error },
    )
  }
  const options = { structuredClone: true, useRecords: true, sequential: false, mapsAsObjects: false, int64AsType: 'bigint' }
  const packr = new msgpackr.Packr({
    ...options,
    // msgpackr would write a function (at any depth) as undefined
    writeFunction: () => {
      throw new TypeError('a function cannot be stored')
    },
  })
  const unpackr = new msgpackr.Unpackr(options)
  msgpackCoder = {
    raw: false,
    nullIsValue: true,
    encode(value, valueName) {
      if (value === undefined) throw invalidValue(valueName, 'cannot be encoded: undefined is never a storable value', value)
      try {
        return packr.pack(value)
      } catch (error) {
        // a function or a symbol: an unencodable argument like any other
        const err = invalidValue(valueName, `cannot be encoded as MessagePack (${String((error as Error).message).split('\n')[0]})`, value)
        err.cause = error
        throw err
      }
    },
    decode: (b) => unpackr.unpack(b),
  }
  return msgpackCoder
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
function coderFor(encoding: unknown, name: string, fallback: Coder = BUFFER): Coder {
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
    case 'ordered':
      return ORDERED
    case 'msgpack':
      return msgpack(name)
  }
  if (typeof encoding === 'object' && encoding !== null) {
    const { encode, decode } = encoding as Partial<Codec<unknown>>
    if (typeof encode === 'function' && typeof decode === 'function') return custom(encoding as Codec<unknown>)
  }
  if (typeof encoding === 'string') throw invalidValue(name, "must be 'buffer', 'view', 'utf8', 'json', 'ordered', 'msgpack' or a codec", encoding)
  throw invalidType(name, "one of 'buffer', 'view', 'utf8', 'json', 'ordered', 'msgpack' or an object with encode() and decode()", encoding)
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
 * any other value is a key, encoded with the key codec. The 'ordered' encoding types its
 * prefixes: bytes as they are, anything else (a string too) through its own prefix form.
 */
export function prefixBytes(prefix: unknown, key: Coder): Uint8Array {
  if (key.prefix && !isUint8Array(prefix)) return key.prefix(prefix, 'prefix')
  return typeof prefix === 'string' || isUint8Array(prefix) || key.raw ? toBytes(prefix, 'prefix') : key.encode(prefix, 'prefix')
}

/**
 * A range bound: a key, encoded with the key codec. The 'ordered' encoding (the one with its
 * own prefix form) has no Uint8Array keys, so there a Uint8Array bound is raw bytes, used as it
 * is, as its prefixes are; with the raw encodings bytes are the key anyway.
 */
export function boundBytes(bound: unknown, key: Coder, name: string): Uint8Array {
  return key.prefix && isUint8Array(bound) ? toBytes(bound, name) : key.encode(bound, name)
}

export type { Bytes, OrderedKey }
export type { OrderedScalar } from './ordered.js'
