// @keyv/test-suite against KeyvSled with a *stock* Keyv class (no subclass), every store of
// the suite on one database path. The only failures allowed are the ones the Keyv version
// itself causes, each named with its reason: they run as `it.fails`, so a test that starts
// passing (or a name the suite no longer has) fails the run.
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite'
import { KeyvSled } from 'sled-node/keyv'
import * as vitest from 'vitest'
import { describe } from 'vitest'
import { dbPath } from './tmp.js'

type AnyIt = (name: string, fn?: unknown, options?: unknown) => unknown
type SuiteKeyv = Parameters<typeof keyvTestSuite>[1]

/** The suite's `test` object, with the named tests expected to fail. */
function withExpectedFailures(expected: Record<string, string>, seen: Set<string>): typeof vitest {
  const it = (name: string, fn?: unknown, options?: unknown) => {
    if (!(name in expected)) return (vitest.it as AnyIt)(name, fn, options)
    seen.add(name)
    return (vitest.it.fails as AnyIt)(`${name} [fails with this Keyv: ${expected[name]}]`, fn, options)
  }
  return { ...vitest, it: Object.assign(it, vitest.it), test: Object.assign(it, vitest.it) } as unknown as typeof vitest
}

export function keyvSuites(label: string, Keyv: unknown, expected: Record<string, string>): void {
  const shared = dbPath('keyv-suite')
  const store = () => new KeyvSled(shared)
  const seen = new Set<string>()
  const test = withExpectedFailures(expected, seen)
  describe(`@keyv/test-suite with ${label}: api, values, namespaces`, () => {
    keyvTestSuite(test, Keyv as SuiteKeyv, store)
  })
  describe(`@keyv/test-suite with ${label}: iterator`, () => {
    keyvIteratorTests(test, Keyv as SuiteKeyv, store)
  })
  describe(`@keyv/test-suite with ${label}: the expected failures`, () => {
    vitest.it('are all tests the suite has (collected above)', () => {
      vitest.expect(Object.keys(expected).filter((name) => !seen.has(name))).toEqual([])
    })
  })
}
