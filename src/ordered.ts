// keyEncoding 'ordered': numbers, strings, booleans, null and tuples (arrays of them) as bytes
// whose order is the values' natural order, so that ranges and prefix scans over typed keys
// work. Numbers go through ordered-binary (lmdb-js's key encoding); the layout around them
// fixes what ordered-binary leaves ambiguous for a store that must read keys back exactly:
//
//   null 0x00 | false 0x06 | true 0x07 | number: ordered-binary's 9 bytes (0x08-0x17, -0 as 0)
//   string: 0x1b first when empty or its first code unit is < 28, then its UTF-8 with each
//           code unit 0-4 escaped as 0x04 <unit> (ordered-binary's form of short strings,
//           for every length)
//   tuple:  0xff, then each element followed by 0x00
//
// Numbers are always at their full 9 bytes: ordered-binary drops trailing zero bytes outside
// its sequences (0 is 10 00 00 00, 5e-324 is 10 00 .. 00 10), so one number's short form could
// begin another's, and a number prefix would match other numbers. At a fixed width no number
// begins another, and null, false and true are single bytes no other key starts with: a
// scalar prefix other than a string matches only its own key.
//
// Natural order: null < false < true < numbers (numeric, -Infinity to Infinity) < strings (by
// code point) < tuples (element by element; a tuple sorts before the longer ones it begins).
// A tuple's encoding is a byte prefix of every tuple it begins, so a tuple is a prefix scan.

import { Buffer } from 'node:buffer'
import { invalidType, invalidValue } from './args.js'

// ordered-binary's package.json gives TypeScript's node16 resolution no typings: the two
// functions used, as its index.d.ts declares them
interface OrderedBinary {
  writeKey(key: unknown, target: Uint8Array, position: number, inSequence?: boolean): number
  readKey(buffer: Uint8Array, start: number, end?: number, inSequence?: boolean): unknown
}
const { readKey, writeKey } = require('ordered-binary') as OrderedBinary

/** A scalar of the 'ordered' key encoding. */
export type OrderedScalar = null | boolean | number | string
/** What the 'ordered' key encoding stores: a scalar or a tuple (array) of scalars. */
export type OrderedKey = OrderedScalar | OrderedScalar[]

const TUPLE = 0xff
const END = 0x00
const STRING_ESCAPE = 0x1b
const UNIT_ESCAPE = 0x04

// ordered-binary writes whole 32-bit words (up to 12 bytes for a 9-byte number)
const numberScratch = new Uint8Array(16)
const readScratch = new Uint8Array(16)

const NUMBER_LENGTH = 9

function numberBytes(n: number, name: string): Uint8Array {
  if (Number.isNaN(n)) throw invalidValue(name, 'must not be NaN with the ordered encoding (NaN has no place in the order)', n)
  // in sequence: the full width, never shortened
  const length = writeKey(n === 0 ? 0 : n, numberScratch, 0, true)
  if (length !== NUMBER_LENGTH) throw new Error(`ordered-binary wrote ${length} bytes for a number, not ${NUMBER_LENGTH}`)
  return numberScratch.slice(0, length)
}

function stringBytes(s: string, name: string): Buffer {
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) throw invalidValue(name, 'must be a well-formed string with the ordered encoding (it has a lone surrogate)', s)
  const utf8 = Buffer.from(s, 'utf8')
  let escapes = 0
  for (const byte of utf8) if (byte <= UNIT_ESCAPE) escapes++
  const lead = s.length === 0 || s.charCodeAt(0) < 28 ? 1 : 0
  if (escapes === 0 && lead === 0) return utf8
  const out = Buffer.allocUnsafe(lead + utf8.length + escapes)
  let at = 0
  if (lead) out[at++] = STRING_ESCAPE
  for (const byte of utf8) {
    if (byte <= UNIT_ESCAPE) out[at++] = UNIT_ESCAPE
    out[at++] = byte
  }
  return out
}

function scalarBytes(value: unknown, name: string): Uint8Array {
  switch (typeof value) {
    case 'number':
      return numberBytes(value, name)
    case 'string':
      return stringBytes(value, name)
    case 'boolean':
      return Uint8Array.of(value ? 0x07 : 0x06)
    case 'object':
      if (value === null) return Uint8Array.of(0x00)
  }
  throw invalidType(name, 'a number, string, boolean, null or an array of them (the ordered encoding)', value)
}

/** The ordered encoding of `key`. */
export function encodeOrdered(key: unknown, name: string): Buffer {
  if (!Array.isArray(key)) return Buffer.from(scalarBytes(key, name))
  const parts: Uint8Array[] = [Uint8Array.of(TUPLE)]
  // a plain loop, not forEach: a hole (`[1, , 3]`) is an undefined element, refused like one
  for (let i = 0; i < key.length; i++) {
    const element: unknown = key[i]
    if (Array.isArray(element)) throw invalidType(`${name}[${i}]`, 'a number, string, boolean or null (tuples do not nest)', element)
    parts.push(scalarBytes(element, `${name}[${i}]`), Uint8Array.of(END))
  }
  return Buffer.concat(parts)
}

function corrupt(bytes: Uint8Array): Error {
  return new TypeError(`Bytes that are not an ordered-encoding key: ${Buffer.from(bytes).toString('hex')}`)
}

function readNumber(bytes: Uint8Array, start: number, end: number): number {
  readScratch.fill(0)
  readScratch.set(bytes.subarray(start, end))
  return readKey(readScratch, 0, end - start) as number
}

/** The end of the string starting at `start` (the end of `bytes`, or its terminator in a tuple). */
function stringEnd(bytes: Uint8Array, start: number, inTuple: boolean): number {
  if (!inTuple) return bytes.length
  let at = start
  while (at < bytes.length && bytes[at] !== END) at += bytes[at] === UNIT_ESCAPE ? 2 : 1
  return at
}

function readString(bytes: Uint8Array, start: number, end: number): string {
  if (bytes[start] === STRING_ESCAPE) start++
  const out = Buffer.allocUnsafe(end - start)
  let length = 0
  for (let at = start; at < end; at++) {
    if (bytes[at] === UNIT_ESCAPE) at++
    out[length++] = bytes[at]!
  }
  return out.toString('utf8', 0, length)
}

/** One scalar at `start`: its value and where it ends. */
function readScalar(bytes: Uint8Array, start: number, inTuple: boolean): [OrderedScalar, number] {
  const lead = bytes[start]
  if (lead === undefined) throw corrupt(bytes)
  if (lead === 0x00) return [null, start + 1]
  if (lead === 0x06) return [false, start + 1]
  if (lead === 0x07) return [true, start + 1]
  if (lead >= 0x08 && lead <= 0x17) {
    const end = start + NUMBER_LENGTH
    if (end > bytes.length) throw corrupt(bytes)
    return [readNumber(bytes, start, end), end]
  }
  if (lead >= STRING_ESCAPE && lead !== TUPLE) {
    const end = stringEnd(bytes, start, inTuple)
    return [readString(bytes, start, end), end]
  }
  throw corrupt(bytes)
}

/** Reads back a key written by encodeOrdered. */
export function decodeOrdered(bytes: Uint8Array): OrderedKey {
  if (bytes[0] !== TUPLE) {
    const [value, end] = readScalar(bytes, 0, false)
    if (end !== bytes.length) throw corrupt(bytes)
    return value
  }
  const tuple: OrderedScalar[] = []
  let at = 1
  while (at < bytes.length) {
    const [value, end] = readScalar(bytes, at, true)
    if (bytes[end] !== END) throw corrupt(bytes)
    tuple.push(value)
    at = end + 1
  }
  return tuple
}

/**
 * A prefix for scanPrefix/watchPrefix: a tuple matches the tuples it begins (itself
 * included), a string the string keys that start with it (`''`: every key), any other scalar
 * the key itself.
 */
export function orderedPrefix(prefix: unknown, name: string): Buffer {
  if (prefix === '') return Buffer.alloc(0)
  return encodeOrdered(prefix, name)
}
