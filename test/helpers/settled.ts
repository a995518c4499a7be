// A hang guard for awaits that must end: a hang fails the test with the name of what hung,
// rather than the test's own timeout. Not a timing assertion: the default is generous.

/** `p`, or a rejection if it has not settled after `ms`. */
export async function settled<T>(p: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hang guard: ${what} did not settle within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
