// The error classes of API.md and the one function that turns a native error into
// them. Native errors carry `[CODE key=value …] message` (crates/sled-node/src/error.rs).

/** Base class of every error sled-node raises (argument errors excepted). */
export class SledError extends Error {
  readonly code: string
  constructor(message: string, code = 'SLED_ERROR', options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
  override get name(): string {
    return this.constructor.name
  }
}

/** sled::Error::Io, or a path that cannot be used. */
export class SledIoError extends SledError {
  /** The OS error number, where known. */
  errno?: number
  /** Rust's `io::ErrorKind`, e.g. `NotFound`, `PermissionDenied`. */
  kind?: string
  constructor(message: string, code = 'SLED_IO') {
    super(message, code)
  }
}
/** The path is locked by another process. */
export class SledLockedError extends SledIoError {
  constructor(message: string) {
    super(message, 'SLED_LOCKED')
  }
}
export class SledCorruptionError extends SledError {
  /** Where sled found the corruption, where known. */
  at?: string
  constructor(message: string) {
    super(message, 'SLED_CORRUPTION')
  }
}
export class SledCollectionNotFoundError extends SledError {
  constructor(message: string) {
    super(message, 'SLED_COLLECTION_NOT_FOUND')
  }
}
export class SledUnsupportedError extends SledError {
  constructor(message: string) {
    super(message, 'SLED_UNSUPPORTED')
  }
}
export class SledReportableBugError extends SledError {
  constructor(message: string) {
    super(message, 'SLED_REPORTABLE_BUG')
  }
}
export class SledClosedError extends SledError {
  constructor(message: string) {
    super(message, 'SLED_CLOSED')
  }
}
export class SledPanicError extends SledError {
  constructor(message: string) {
    super(message, 'SLED_PANIC')
  }
}

type NodeArgError = TypeError & { code: string }

/** A Node-style argument error (`TypeError`/`RangeError` with an `ERR_*` code). */
export function argError(code: string, message: string): NodeArgError {
  const err = (code === 'ERR_OUT_OF_RANGE' || code === 'ERR_BUFFER_TOO_LARGE' ? new RangeError(message) : new TypeError(message)) as NodeArgError
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true })
  return err
}

const CODED = /^\[([A-Z_]+)((?: [a-z]+=\S*)*)\] ([\s\S]*)$/

function withDetails<E extends SledError>(err: E, details: Map<string, string>): E {
  const target = err as unknown as Record<string, unknown>
  for (const [key, value] of details) target[key] = key === 'errno' ? Number(value) : value
  return err
}

/** Turns an error thrown by the native addon into the class API.md names. */
export function fromNative(error: unknown): unknown {
  if (!(error instanceof Error)) return error
  const match = CODED.exec(error.message)
  if (!match) return error
  const [, code = '', rawDetails = '', message = ''] = match
  const details = new Map<string, string>()
  for (const part of rawDetails.trim().split(' ')) {
    const eq = part.indexOf('=')
    if (eq > 0) details.set(part.slice(0, eq), part.slice(eq + 1))
  }
  switch (code) {
    case 'SLED_IO':
      return withDetails(new SledIoError(message), details)
    case 'SLED_LOCKED':
      return withDetails(new SledLockedError(message), details)
    case 'SLED_CORRUPTION':
      return withDetails(new SledCorruptionError(message), details)
    case 'SLED_COLLECTION_NOT_FOUND':
      return new SledCollectionNotFoundError(message)
    case 'SLED_UNSUPPORTED':
      return new SledUnsupportedError(message)
    case 'SLED_REPORTABLE_BUG':
      return new SledReportableBugError(message)
    case 'SLED_CLOSED':
      return new SledClosedError(message)
    case 'SLED_PANIC':
      return new SledPanicError(message)
    default:
      return code.startsWith('ERR_') ? argError(code, message) : new SledError(message, code)
  }
}
