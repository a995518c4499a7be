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
