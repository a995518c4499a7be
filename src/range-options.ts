// Range and prefix-scan options: validation and translation to the native RangeSpec.

import { type Bytes, invalidType, invalidValue, outOfRange, requireObject } from './args.js'
import type { RangeSpec } from './native.js'

export interface RangeOptions<K = Bytes> {
  gt?: K | Bytes
  gte?: K | Bytes
  lt?: K | Bytes
  lte?: K | Bytes
  /** Iterate from the greatest key down. */
  reverse?: boolean
  /** At most this many entries (an integer >= 0). */
  limit?: number
}

export interface ScanOptions {
  reverse?: boolean
  limit?: number
}

const RANGE_KEYS = new Set(['gt', 'gte', 'lt', 'lte', 'reverse', 'limit'])
const SCAN_KEYS = new Set(['reverse', 'limit'])

function checkKeys(opts: Record<string, unknown>, allowed: Set<string>): void {
  for (const key of Object.keys(opts)) {
    if (!allowed.has(key)) throw invalidValue('options', `has an unknown property '${key}'`, opts)
  }
}

function reverseOf(opts: Record<string, unknown> | undefined): boolean {
  const value = opts?.reverse
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw invalidType('options.reverse', 'of type boolean', value)
  return value
}

function limitOf(opts: Record<string, unknown> | undefined): number | undefined {
  const value = opts?.limit
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw invalidType('options.limit', 'of type number', value)
  if (value === Infinity) return undefined
  if (!Number.isInteger(value) || value < 0) throw outOfRange('options.limit', 'an integer >= 0', value)
  return value
}

/** One side of a range: at most one of the exclusive and inclusive bounds. */
type EncodeKey = (key: unknown, name: string) => Uint8Array

function side(
  opts: Record<string, unknown>,
  exclusive: 'gt' | 'lt',
  inclusive: 'gte' | 'lte',
  encode: EncodeKey,
): { key: Uint8Array | undefined; inclusive: boolean } {
  const ex = opts[exclusive]
  const inc = opts[inclusive]
  if (ex !== undefined && inc !== undefined) {
    throw invalidValue('options', `must not set both '${exclusive}' and '${inclusive}'`, opts)
  }
  if (inc !== undefined) return { key: encode(inc, `options.${inclusive}`), inclusive: true }
  if (ex !== undefined) return { key: encode(ex, `options.${exclusive}`), inclusive: false }
  return { key: undefined, inclusive: false }
}

/** Validates range options; bounds are encoded with the tree's key encoding. */
export function rangeSpec(raw: unknown, encode: EncodeKey): RangeSpec {
  const opts = requireObject(raw, 'options') ?? {}
  checkKeys(opts, RANGE_KEYS)
  const lower = side(opts, 'gt', 'gte', encode)
  const upper = side(opts, 'lt', 'lte', encode)
  return {
    lower: lower.key,
    lowerInclusive: lower.inclusive,
    upper: upper.key,
    upperInclusive: upper.inclusive,
    reverse: reverseOf(opts),
    limit: limitOf(opts),
  }
}

export function scanOptions(raw: unknown): { reverse: boolean; limit: number | undefined } {
  const opts = requireObject(raw, 'options') ?? {}
  checkKeys(opts, SCAN_KEYS)
  return { reverse: reverseOf(opts), limit: limitOf(opts) }
}

const WATCH_KEYS = new Set(['signal', 'highWaterMark'])

export function watchOptions(raw: unknown): { signal: AbortSignal | undefined; highWaterMark: number } {
  const opts = requireObject(raw, 'options') ?? {}
  checkKeys(opts, WATCH_KEYS)
  const { signal, highWaterMark = 100_000 } = opts
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidType('options.signal', 'an instance of AbortSignal', signal)
  if (typeof highWaterMark !== 'number') throw invalidType('options.highWaterMark', 'of type number', highWaterMark)
  if (!Number.isInteger(highWaterMark) || highWaterMark < 1 || highWaterMark > 0xffffffff) {
    throw outOfRange('options.highWaterMark', 'an integer >= 1 and <= 4294967295', highWaterMark)
  }
  return { signal: signal as AbortSignal | undefined, highWaterMark }
}
