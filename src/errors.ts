// The error classes of docs/api.md. The addon builds its errors as these classes
// itself: src/native.ts registers them with it once per load
// (crates/sled-node/src/js_error.rs), and the addon sets `code` and the details
// (`errno`, `kind`, `at`).

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
