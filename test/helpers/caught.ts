// The errors calls throw or reject with, for tests that inspect more than the class: the one
// set of these helpers for every test file.

/** What `fn` throws; fails the test if it returns. */
export function caught(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}

/** How `fn` ended: a synchronous throw, a rejection of the promise it returned, or neither. */
export async function outcomeOf(fn: () => unknown): Promise<{ how: 'threw' | 'rejected' | 'returned'; error?: unknown }> {
  let result: unknown
  try {
    result = fn()
  } catch (error) {
    return { how: 'threw', error }
  }
  if (result instanceof Promise) {
    try {
      await result
    } catch (error) {
      return { how: 'rejected', error }
    }
  }
  return { how: 'returned' }
}

/** What `fn` throws or its promise rejects with; fails the test if it does neither. */
export async function failureOf(fn: () => unknown): Promise<unknown> {
  const { how, error } = await outcomeOf(fn)
  if (how === 'returned') throw new Error('expected the call to throw or reject')
  return error
}

/** What the promise `fn` returns rejects with; fails the test if `fn` throws or the promise resolves. */
export async function rejectionOf(fn: () => Promise<unknown>): Promise<unknown> {
  const { how, error } = await outcomeOf(fn)
  if (how !== 'rejected') throw new Error(how === 'threw' ? `expected a rejection, not a synchronous throw: ${String(error)}` : 'expected the promise to reject')
  return error
}
