// Test files are named for what they cover. `NN.object.method[-method…][.aspect].test.ts` holds
// the tests of those public methods (a method's async form with it: `get` covers `getAsync`):
// 1x opening and the Db, 2x Tree methods, 30 transactions, 4x errors and encodings, 5x the
// adapters and the CLI. Plain names are suites across the API (bad-input, crash, corruption,
// gc, lifetime-abuse, model, threads-stress, workers, ...). `ls test | grep -i dropTree` finds
// a method's file.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.mts'],
    // each file in its own process: native handles, locks and exit hooks never leak between files
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
