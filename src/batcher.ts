// Coalesces the getAsync / getManyAsync / insertAsync / removeAsync / applyAsync calls of
// one tick on one Tree object into one task (on the shared task threads, src/task-line.ts): a round
// trip to another thread costs tens of microseconds (~30 µs on the 2-core test VM), far
// more than a sled read or a cached write, so the calls in flight share it.
// The calls are packed into one Buffer as they are made (which copies their keys and
// values) in the format of a batch (crates/sled-core/src/batch.rs, `decode`), and the
// native task runs them in call order, each its own sled call (an applyAsync's batch is
// one op, applied atomically).

import { Buffer } from 'node:buffer'
import { unpackValues } from './native.js'
import { APPLY, GET, INSERT, PackedOps, REMOVE } from './packed-ops.js'
import { rejectOnThrow } from './reject.js'
import { byteLength } from './typed-array.js'

/**
 * A call waiting for its results: one op's (`many` undefined), or the `many` ops of a
 * getManyAsync, resolved together as an array. `at`: the byte of the tick's list where its
 * ops start.
 */
type Waiter<T> = { resolve: (value: T | T[]) => void; reject: (error: unknown) => void; at: number; many: number | undefined }

/** What the native task resolves with: the results packed, or those of the ops before a failed one and its error. */
export type Results = Buffer | [Buffer, Error]

/**
 * A tick of reads alone is sent as soon as it has this many (a burst of reads becomes
 * several tasks, which the pool's threads run in parallel). A tick with a write is sent
 * at its end.
 */
const MAX_READS = 128

/**
 * A tick of at least this many ops (each key of a getManyAsync counts), made while none of
 * this batcher's tasks is running, goes out in two halves. Otherwise the JS thread would
 * wait while the pool runs the whole tick, and the pool would wait while JS handles the
 * results (whose callers make the next calls). Reads alone: the two halves run at once. With a write: the second half starts
 * when the first has finished, before JS handles the first half's results, so the two
 * overlap; from then on the ticks alternate by themselves.
 */
const SPLIT = 16

/** The packing buffer is let go of after a tick that needed more than this. */
const KEEP_BYTES = 1 << 20

/**
 * A batch this large goes out as a task of its own, copied once, rather than into the tick's
 * list: that list grows by copying, and would hold every large batch of the tick at once (8
 * concurrent 640 KB batches took 5x as long per batch that way).
 */
const OWN_TASK_BYTES = 64 * 1024

/** A list of calls: waiting for its turn in the batcher's queue, or running. */
type Task<T> = {
  ops: Buffer
  waiters: Waiter<T>[]
  writes: boolean
  /** The second half of the same tick of writes: let go once this one has succeeded, rejected unrun if it failed. */
  rest?: Task<T>
  /** A second half whose first half has not finished: it, and everything queued after it, waits. */
  held?: boolean
  /** Sent to the native side (which copied `ops`). */
  sent?: boolean
  /** `ops` is one applyAsync's packed batch, not a list (a large batch's own task). */
  batch?: boolean
}

/**
 * Runs one Tree object's …Async calls in call order, across ticks too. A task with a write
 * goes to the Tree object's queue of write tasks (src/task-line.ts), whose tasks run one
 * at a time in the order sent on the shared task threads, once no read task is running; a
 * task of reads runs on those threads at once, once no write task is running (reads run
 * in parallel). One writer keeps sled's writers apart (concurrent inserts into one tree
 * contend: each retry clones the node it lost on) and starts the next task the moment one
 * ends. A 64-in-flight insertAsync fill of 250,000 keys, paired with a synchronous insert
 * loop in one process on the 2-core test VM: random keys 0.57–0.70 of the loop with the
 * tasks of several ticks on the pool's threads at once, 0.70–0.83 on a writer queue; keys
 * in order 0.53, then 0.64–0.68, and 0.87 once an idle writer thread spun briefly for the
 * next task (crates/sled-core/src/serial.rs). (Sending the next task early to wait on a
 * second pool thread was slower still: the hand-over between two sleeping threads cost
 * more than the round trip.)
 */
export class Batcher<T> {
  #ops = new PackedOps(4096)
  #waiters: Waiter<T>[] = []
  /** The ops of this tick's calls (a getManyAsync counts its keys). */
  #count = 0
  #writes = false
  /** Tasks waiting for their turn, in call order. */
  readonly #waiting: Task<T>[] = []
  /** This batcher's read and write tasks sent and not yet settled. */
  #reading = 0
  #writing = 0
  readonly #run: (ops: Buffer, writes: boolean, batch: boolean) => Promise<Results>
  readonly #decode: (value: Buffer | undefined) => T
  readonly #flushTick = () => this.#flush()

  /**
   * `run` starts the task of a packed list of ops (copying the list before it returns; it
   * may throw synchronously), a task with a write (`writes`) after every write task
   * started before it; `decode` turns a value read (or a previous value) into the
   * caller's result, and what it throws rejects that call only.
   */
  constructor(run: (ops: Buffer, writes: boolean, batch: boolean) => Promise<Results>, decode: (value: Buffer | undefined) => T) {
    this.#run = run
    this.#decode = decode
  }

  /** The value of `key`, read after the calls made before this one in this tick. */
  get(key: Uint8Array): Promise<T> {
    return this.#queue(GET, key, undefined)
  }

  /**
   * The values of `keys` (at least one), read after the calls made before this one in this
   * tick: in two halves from SPLIT keys on, which the tick may send as two tasks that run at
   * once. Either every key is queued or, when one cannot be packed, none.
   */
  getMany(keys: Uint8Array[]): Promise<T[]> {
    const ops = this.#ops
    const start = ops.length
    const half = keys.length >= SPLIT ? keys.length >> 1 : keys.length
    let middle = start
    try {
      for (let i = 0; i < keys.length; i++) {
        const at = ops.push(GET, keys[i] as Uint8Array)
        if (i === half) middle = at
      }
    } catch (error) {
      ops.truncate(start)
      throw error
    }
    // both halves wait before the tick may go out at MAX_READS: a half sent alone would
    // carry the other half's ops
    const first = this.#add<T[]>(start, half)
    if (half === keys.length) return this.#sendIfFull(first)
    const second = this.#add<T[]>(middle, keys.length - half)
    // the first half's error wins, whichever half settles first (and neither goes unhandled)
    return this.#sendIfFull(Promise.allSettled([first, second])).then(([a, b]) => {
      if (a.status === 'rejected') throw a.reason
      if (b.status === 'rejected') throw b.reason
      return a.value.concat(b.value)
    })
  }

  /** Inserts `value` under `key`, after the calls made before this one in this tick; resolves with the previous value. */
  insert(key: Uint8Array, value: Uint8Array): Promise<T> {
    this.#writes = true
    return this.#queue(INSERT, key, value)
  }

  /** Removes `key`, after the calls made before this one in this tick; resolves with the removed value. */
  remove(key: Uint8Array): Promise<T> {
    this.#writes = true
    return this.#queue(REMOVE, key, undefined)
  }

  /**
   * Applies the packed batch `batch` (Batch.pack) atomically, after the calls made before
   * this one; resolves with undefined. The batch is copied now.
   */
  apply(batch: Buffer): Promise<T> {
    if (byteLength(batch) < OWN_TASK_BYTES) {
      this.#writes = true
      return this.#queue(APPLY, batch, undefined)
    }
    // the calls before it go out first, as a task of their own
    this.#flush()
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve: resolve as (value: T | T[]) => void, reject, at: 0, many: undefined }
      const task: Task<T> = { ops: batch, waiters: [waiter], writes: true, batch: true }
      this.#waiting.push(task)
      this.#pump()
      // the caller's Batch may change once this returns: what waits keeps a copy
      if (!task.sent) task.ops = Buffer.from(batch)
    })
  }

  #queue(op: number, key: Uint8Array, value: Uint8Array | undefined): Promise<T> {
    return this.#sendIfFull(this.#add<T>(this.#ops.push(op, key, value)))
  }

  /** A waiter for the results of the ops pushed from byte `at` on: one, or `many` as an array. */
  #add<R extends T | T[]>(at: number, many?: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiters = this.#waiters
      if (waiters.length === 0) process.nextTick(this.#flushTick)
      // one shape for every waiter (`many` always set), so this stays a monomorphic push
      waiters.push({ resolve: resolve as (value: T | T[]) => void, reject, at, many })
      this.#count += many ?? 1
    })
  }

  /** Sends a tick of reads alone once it has MAX_READS ops; returns `result`. */
  #sendIfFull<R>(result: R): R {
    if (this.#count >= MAX_READS && !this.#writes) this.#flush()
    return result
  }

  /** Queues the calls made so far as one task (two halves when nothing is running), and starts what may start. */
  #flush(): void {
    const waiters = this.#waiters
    // the nextTick of a tick already sent at MAX_READS finds this empty
    if (waiters.length === 0) return
    const ops = this.#ops
    const writes = this.#writes
    let fresh: Task<T>[]
    // where to split a tick of SPLIT ops or more made while nothing runs: the first waiter at
    // or past half of its ops (a getManyAsync is two waiters); 0, none. Looked for only then:
    // while tasks run, as in a steady stream of calls, every tick goes out whole
    const splits = this.#reading + this.#writing === 0 && this.#count >= SPLIT && waiters.length >= 2
    const half = splits ? Batcher.#half(waiters, this.#count) : 0
    if (half === 0) {
      fresh = [{ ops: ops.bytes(), waiters, writes }]
    } else {
      const middle = (waiters[half] as Waiter<T>).at
      const tail: Task<T> = { ops: ops.bytes(middle), waiters: waiters.slice(half), writes, held: writes }
      fresh = [{ ops: ops.bytes(0, middle), waiters: waiters.slice(0, half), writes, ...(writes ? { rest: tail } : {}) }, tail]
    }
    this.#waiting.push(...fresh)
    this.#pump()
    // what has to wait keeps a copy: the packing buffer serves the next tick (the native
    // side copied the list of a task that started)
    for (const task of fresh) if (!task.sent) task.ops = Buffer.from(task.ops)
    this.#waiters = []
    this.#count = 0
    this.#writes = false
    ops.clear(KEEP_BYTES)
  }

  /** The index of the first waiter whose ops start at or after half of `count`. */
  static #half<T>(waiters: Waiter<T>[], count: number): number {
    let ops = 0
    for (let i = 0; i < waiters.length; i++) {
      if (ops >= count >> 1) return i
      ops += (waiters[i] as Waiter<T>).many ?? 1
    }
    return waiters.length - 1
  }

  /** Starts the queued tasks whose turn it is, in order. */
  #pump(): void {
    const queue = this.#waiting
    while (queue.length > 0) {
      const task = queue[0] as Task<T>
      const turn = task.held ? false : task.writes ? this.#reading === 0 : this.#writing === 0
      if (!turn) return
      queue.shift()
      this.#send(task)
    }
  }

  /** Runs `task` and settles its calls; the next task starts before they are settled. */
  #send(task: Task<T>): void {
    task.sent = true
    if (task.writes) this.#writing++
    else this.#reading++
    const finish = (results: Results | undefined, error?: { reason: unknown }) => {
      if (task.writes) this.#writing--
      else this.#reading--
      const failure = error ?? (Array.isArray(results) ? { reason: results[1] } : undefined)
      const rest = task.rest
      // the tick's second half runs only after the first succeeded
      const at = rest !== undefined && failure !== undefined ? this.#waiting.indexOf(rest) : -1
      if (at >= 0) this.#waiting.splice(at, 1)
      else if (rest !== undefined) rest.held = false
      this.#pump()
      if (results === undefined) Batcher.#rejectAll(task.waiters, error?.reason)
      else this.#settle(task.waiters, results)
      // settled after the calls before them, as in call order
      if (at >= 0) Batcher.#rejectAll((rest as Task<T>).waiters, failure?.reason)
    }
    rejectOnThrow(() => this.#run(task.ops, task.writes, task.batch === true)).then(
      (results) => finish(results),
      (reason: unknown) => finish(undefined, { reason }),
    )
  }

  static #rejectAll<T>(waiters: Waiter<T>[], error: unknown): void {
    for (const waiter of waiters) waiter.reject(error)
  }

  /** Each call's own result; the calls from a failed one on (not run) reject with its error. */
  #settle(waiters: Waiter<T>[], results: Results): void {
    const [packed, error] = Array.isArray(results) ? results : [results, undefined]
    // each value copied out of the packed buffer, as `get` returns it: its own (pooled)
    // Buffer, which neither keeps the batch alive nor shares its memory
    const values = unpackValues(packed, waiters.reduce((n, w) => n + (w.many ?? 1), 0), true)
    let next = 0
    for (const waiter of waiters) {
      const first = next
      next += waiter.many ?? 1
      // a getManyAsync whose keys were not all read rejects: its first unread key failed
      if (next > values.length) {
        waiter.reject(error)
        continue
      }
      let decoded: T | T[]
      try {
        decoded = waiter.many === undefined ? this.#decode(values[first]) : values.slice(first, next).map(this.#decode)
      } catch (decodeError) {
        waiter.reject(decodeError)
        continue
      }
      waiter.resolve(decoded)
    }
  }
}
