// The error a call throws, for tests that inspect more than its class.

/** What `fn` throws; fails the test if it returns. */
export function caught(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}
