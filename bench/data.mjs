// The benchmark data generator; crates/sled-native/src/data.rs is its Rust twin and
// must produce the same bytes for the same seed (mulberry32: 32-bit, no BigInt).

export class Rng {
  #state
  constructor(seed) {
    this.#state = seed >>> 0
  }
  nextU32() {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  /** Uniform in 0..n (n < 2^32). */
  below(n) {
    return this.nextU32() % n
  }
}

/** Key i: 16 ASCII digits, so key order is numeric order. */
export function key(i) {
  return Buffer.from(String(i).padStart(16, '0'), 'latin1')
}

/** Value of key i: `size` bytes from a generator seeded by `seed` and `i`. */
export function value(seed, i, size) {
  const rng = new Rng((seed ^ Math.imul(i >>> 0, 0x9e3779b1)) >>> 0)
  const out = Buffer.allocUnsafe(Math.ceil(size / 4) * 4)
  for (let at = 0; at < out.length; at += 4) out.writeUInt32LE(rng.nextU32(), at)
  return out.subarray(0, size)
}

/** The order of fill-rand: a Fisher–Yates shuffle of 0..n. */
export function shuffled(seed, n) {
  const order = Array.from({ length: n }, (_, i) => i)
  const rng = new Rng((seed + 1) >>> 0)
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1)
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return order
}

/** Size of the random-key pools: keys are drawn before timing starts and cycled
 *  through, so neither twin times key formatting or the PRNG. */
export const POOL = 1 << 18

/** The random key indices a read workload cycles through: rng.below(n) + offset for an
 *  Rng seeded with `stream` (reads use seed + 2, worker w uses seed + 3 + w). */
export function pool(stream, n, offset, len) {
  const rng = new Rng(stream >>> 0)
  const out = new Uint32Array(len)
  for (let j = 0; j < len; j++) out[j] = rng.below(n) + offset
  return out
}

/** The mixed sequence is one endless stream: `mixedStream(seed)` is its generator, and
 *  each `mixedBlock` call draws the next `len` steps, per step an index below(n), then a
 *  write if below(10) === 0. `mixed` draws a block before timing it, so it never replays
 *  a step (replayed inserts of the same keys would grow cheaper with the cell's length). */
export const mixedStream = (seed) => new Rng((seed + 2) >>> 0)

/** The first `len` steps of the mixed stream. */
export const mixedPool = (seed, n, len) => mixedBlock(mixedStream(seed), n, len)

export function mixedBlock(rng, n, len) {
  const index = new Uint32Array(len)
  const write = new Uint8Array(len)
  for (let j = 0; j < len; j++) {
    index[j] = rng.below(n)
    write[j] = rng.below(10) === 0 ? 1 : 0
  }
  return { index, write }
}
