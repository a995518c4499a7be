/**
 * Runs `start`; an error it throws synchronously (bad arguments, a closed handle)
 * becomes a rejected promise, as Node's promise APIs report errors.
 */
export function rejectOnThrow<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start()
  } catch (error) {
    return Promise.reject(error)
  }
}
