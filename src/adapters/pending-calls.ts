// The calls of an adapter that have not settled, so that closing it first lets them land:
// an unawaited write made just before close() would otherwise find the database closed
// and be lost (classic-level's close also waits for the operations in flight).

export class PendingCalls {
  readonly #calls = new Set<Promise<unknown>>()

  /** How many calls are pending. */
  get size(): number {
    return this.#calls.size
  }

  /** `call`, counted as pending until it settles (its own rejection still reaches its caller). */
  track<T>(call: Promise<T>): Promise<T> {
    const calls = this.#calls
    calls.add(call)
    const done = () => void calls.delete(call)
    call.then(done, done)
    return call
  }

  /** Settles once every call pending now has settled, whatever its outcome. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#calls])
  }
}
