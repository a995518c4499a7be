// db.backup(): an online, verified copy of the database at one instant. The copy runs
// natively on the libuv pool (crates/sled-node/src/backup.rs); this module checks the
// options, polls the progress counters on a timer (no native thread ever waits for JS)
// and turns an abort into Node's AbortError.

import { invalidType, invalidValue, requireFunction, requireObject, requirePath } from './args.js'
import { type NativeDb, newNativeBackup } from './native.js'

/** What `onProgress` receives: totals so far. */
export interface BackupProgress {
  /** Entries copied so far (over all trees). */
  entries: number
  /** Key and value bytes copied so far. */
  bytes: number
  /** Trees copied completely so far. */
  trees: number
}

export interface BackupOptions {
  /** Aborting it stops the backup, removes the destination and rejects with an `AbortError`. */
  signal?: AbortSignal
  /** Called every `progressInterval` ms while the copy runs (the result has the totals). */
  onProgress?: (progress: BackupProgress) => void
  /** Milliseconds between `onProgress` calls (default 100, at least 1). */
  progressInterval?: number
}

/** What a finished backup reports. */
export interface BackupResult {
  trees: number
  entries: number
  bytes: number
  durationMs: number
  /** How long writes of this process waited while the consistent point was taken. */
  pauseMs: number
}

const KEYS = new Set(['signal', 'onProgress', 'progressInterval'])

/** Node's AbortError, as `fs/promises` makes it: the signal's reason is the `cause`. */
function abortError(signal: AbortSignal | undefined): Error {
  const error = new Error('The operation was aborted', { cause: signal?.reason })
  Object.defineProperties(error, {
    name: { value: 'AbortError', configurable: true, writable: true },
    code: { value: 'ABORT_ERR', enumerable: true, configurable: true, writable: true },
  })
  return error
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return value instanceof AbortSignal
}

export async function backup(native: NativeDb, destination: unknown, options: unknown): Promise<BackupResult> {
  const target = requirePath(destination, 'destination')
  const raw = requireObject(options, 'options') ?? {}
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) throw invalidValue('options', `has an unknown property '${key}'`, options)
  }
  const signal = raw.signal
  if (signal !== undefined && !isAbortSignal(signal)) throw invalidType('options.signal', 'an instance of AbortSignal', signal)
  const onProgress = raw.onProgress === undefined ? undefined : requireFunction<(p: BackupProgress) => void>(raw.onProgress, 'options.onProgress')
  const interval = raw.progressInterval ?? 100
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 1) {
    throw invalidValue('options.progressInterval', 'must be a finite number >= 1', interval)
  }
  if (signal?.aborted) throw abortError(signal)

  const job = newNativeBackup()
  // the destination is checked here, synchronously, before any work
  const running = native.backup(target, job)
  let progressError: { error: unknown } | undefined
  const report = (): void => {
    if (!onProgress || progressError) return
    try {
      onProgress(job.progress())
    } catch (error) {
      // a throwing callback ends the backup with its error
      progressError = { error }
      job.cancel()
    }
  }
  const cancel = (): void => job.cancel()
  signal?.addEventListener('abort', cancel, { once: true })
  const timer = onProgress ? setInterval(report, interval) : undefined
  try {
    const result = await running
    if (progressError) {
      // the callback threw after the task's last look at the cancel flag: the copy is
      // complete, and removed here as a failed backup's is
      job.discard()
      throw progressError.error
    }
    return result
  } catch (error) {
    if (progressError) throw progressError.error
    if ((error as { code?: unknown } | null)?.code === 'ABORT_ERR') throw abortError(signal)
    throw error
  } finally {
    clearInterval(timer)
    signal?.removeEventListener('abort', cancel)
  }
}
