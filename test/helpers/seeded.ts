// The seeded random numbers of the tests that draw a plain sequence rather than run a
// property (crash, corruption): fast-check's own seeded generation, as the property tests
// use it, so every test is reproducible the same way, from its seed (FC_SEED).
import fc from 'fast-check'

/** A function returning up to `count` numbers in [0, 1), uniform and reproducible from `seed`. */
export function seededRandom(seed: number, count: number): () => number {
  const values = fc.sample(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { seed, numRuns: count, unbiased: true })
  let at = 0
  return () => {
    const value = values[at++]
    if (value === undefined) throw new Error(`seededRandom: more than ${count} numbers drawn`)
    return value / 2 ** 31
  }
}
