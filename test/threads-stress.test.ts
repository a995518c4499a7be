// Four worker threads on one path, for a bounded time, each running a seeded random mix
// of sync and async writes, reads, scans, batches, transactions, pops and subscriptions
// on its own key space (test/helpers/stress-worker.cjs) and checking every result
// against its own model, while the main thread scans and checksums the same database.
// At the end the database must equal the model rebuilt from the workers' logs, on
// reopening and from another process. Then workers are terminated mid-operation, round
// after round: the database stays usable in this process and in another one, and never
// holds a value that was not written or an older value than one a worker reported.
//
// SLED_SOAK=1 runs 60 s and 10 termination rounds (SLED_STRESS_MS overrides the
// duration); FC_SEED picks the seed, which every failure message prints.
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { type Db, open } from 'sled-node'
import { entry, expectCleanExit, runChild } from './helpers/child.js'
import { settled } from './helpers/settled.js'
import { dbPath } from './helpers/tmp.js'

const soak = Boolean(process.env.SLED_SOAK)
const DURATION = Number(process.env.SLED_STRESS_MS ?? (soak ? 60_000 : 3_000))
const TERMINATE_ROUNDS = soak ? 10 : 3
const seed = Number(process.env.FC_SEED ?? 20261125)
const WORKERS = 4

const workerFile = fileURLToPath(new URL('./helpers/stress-worker.cjs', import.meta.url))
const { makeValue, parseValue, treeNames } = createRequire(import.meta.url)(workerFile) as {
  makeValue: (id: number, seq: number, key: string, pad: number) => string
  parseValue: (text: string) => { id: number; seq: number; key: string } | null
  treeNames: (id: number) => string[]
}

/** [tree index (0 default, 1 shared, 2 own), key, seq, pad (-1: removed)] */
type LogEntry = [number, string, number, number]

interface Done {
  type: 'done'
  id: number
  ops: number
  counts: Record<string, number>
  log: LogEntry[]
  mismatches: string[]
  events: number
  subEnd: string
}

type Message = Done | { type: 'running'; id: number } | { type: 'log'; id: number; log: LogEntry[]; mismatches: string[] } | { type: 'crash'; error: string }

function startWorker(data: Record<string, unknown>, onMessage: (m: Message) => void): { worker: Worker; exited: Promise<number> } {
  const worker = new Worker(workerFile, { workerData: { stress: true, entry, ...data } })
  worker.on('message', onMessage)
  const exited = new Promise<number>((resolve, reject) => {
    worker.once('error', reject)
    worker.once('exit', resolve)
  })
  return { worker, exited }
}

/** `settled`, naming the seed that reproduces the run. */
const guard = <T>(p: Promise<T>, what: string, ms: number): Promise<T> => settled(p, `${what} (seed ${seed})`, ms)

/** The name of tree index `ti` as worker `id` writes it. */
const treeOf = (id: number, ti: number): string => treeNames(id)[ti]!

/** Every entry of every tree of `db`, as `tree/key=value` lines in order. */
function dump(db: Db): string[] {
  const out: string[] = []
  for (const name of db.treeNames().map((n) => n.toString()).sort()) {
    for (const [k, v] of db.openTree(name).iter()) out.push(`${name}/${k.toString()}=${v.toString()}`)
  }
  return out
}

/** Checks one entry is a value some worker wrote under this very key, in its own key space. */
function wellFormed(tree: string, key: string, value: string): string | undefined {
  const parsed = parseValue(value)
  if (!parsed) return `${tree}/${key} holds a value no worker writes: ${value.slice(0, 40)}`
  if (parsed.key !== key) return `${tree}/${key} holds the value written for ${parsed.key}`
  const own = /^own-(\d+)$/.exec(tree)
  const writer = own ? Number(own[1]) : Number(/^w(\d+)\//.exec(key)?.[1] ?? -1)
  if (writer !== parsed.id) return `${tree}/${key} holds a value written by worker ${parsed.id}`
  return undefined
}

describe('four worker threads on one path', () => {
  it(
    `mixed work for ${DURATION} ms leaves exactly what the workers' logs say (seed ${seed})`,
    async () => {
      const path = dbPath()
      const main = open(path)
      const crashes: string[] = []
      const done: Done[] = []
      const workers = Array.from({ length: WORKERS }, (_, id) =>
        startWorker({ path, id, seed: seed + id, durationMs: DURATION, stream: false, seqBase: 0 }, (m) => {
          if (m.type === 'done') done.push(m)
          if (m.type === 'crash') crashes.push(m.error)
        }),
      )
      const exits = Promise.all(workers.map((w) => w.exited))
      let finished = false
      void exits.finally(() => {
        finished = true
      })

      // meanwhile this thread reads the same database: every entry it sees is well formed
      const seenProblems: string[] = []
      let mainReads = 0
      while (!finished) {
        const round = mainReads++ % 4
        if (round === 0) main.checksum()
        else if (round === 1) {
          for (const [k, v] of main.openTree('shared').iter()) {
            const problem = wellFormed('shared', k.toString(), v.toString())
            if (problem && seenProblems.length < 10) seenProblems.push(problem)
          }
        } else if (round === 2) main.len()
        else {
          for (const [k, v] of main.scanPrefix('w')) {
            const problem = wellFormed('__sled__default', k.toString(), v.toString())
            if (problem && seenProblems.length < 10) seenProblems.push(problem)
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      expect(await guard(exits, 'the workers', DURATION + 120_000)).toEqual([0, 0, 0, 0])
      expect(crashes).toEqual([])
      expect(seenProblems, `seed ${seed}`).toEqual([])
      expect(done).toHaveLength(WORKERS)
      for (const d of done.sort((a, b) => a.id - b.id)) {
        expect(d.mismatches, `worker ${d.id}, seed ${seed + d.id}`).toEqual([])
        expect(['done', 'SLED_SUBSCRIBER_OVERFLOW']).toContain(d.subEnd)
      }

      // the expected database, rebuilt from the logs alone
      const model = new Map<string, string>()
      for (const d of done) {
        for (const [ti, key, seq, pad] of d.log) {
          const name = `${treeOf(d.id, ti)}/${key}`
          if (pad < 0) model.delete(name)
          else model.set(name, makeValue(d.id, seq, key, pad))
        }
      }
      const expected = [...model.entries()]
        .map(([name, value]) => `${name}=${value}`)
        .sort()
      const expectedTrees = ['__sled__default', 'shared', ...Array.from({ length: WORKERS }, (_, id) => `own-${id}`)].sort()
      const sortKeys = (lines: string[]): string[] => [...lines].sort()

      expect(main.treeNames().map((n) => n.toString()).sort()).toEqual(expectedTrees)
      expect(sortKeys(dump(main)), `seed ${seed}`).toEqual(expected)
      main.close()

      // after a full close and reopen (recovery from disk)
      const again = open(path)
      expect(sortKeys(dump(again)), `seed ${seed}`).toEqual(expected)
      again.close()

      // and from another process
      const digest = createHash('sha256').update(expected.join('\n')).digest('hex')
      const res = runChild(
        `const { createHash } = require('node:crypto')
        const db = sled.open(process.argv[1])
        const lines = []
        for (const name of db.treeNames().map(String).sort())
          for (const [k, v] of db.openTree(name).iter()) lines.push(name + '/' + k + '=' + v)
        db.close()
        console.log(createHash('sha256').update(lines.sort().join('\\n')).digest('hex'))`,
        [path],
      )
      expect(res.stderr).toBe('')
      expect(res.stdout.trim()).toBe(digest)

      const total = done.reduce((n, d) => n + d.ops, 0)
      const changes = done.reduce((n, d) => n + d.log.length, 0)
      console.log(
        `threads stress (seed ${seed}, ${DURATION} ms): ${total} operations (${changes} changes) by ${WORKERS} workers; ` +
          `main thread read ${mainReads} times; ${expected.length} entries at the end; subscriber events per worker ${done.map((d) => d.events).join('/')}\n` +
          `operation counts: ${JSON.stringify(done.reduce<Record<string, number>>((acc, d) => {
            for (const [k, v] of Object.entries(d.counts)) acc[k] = (acc[k] ?? 0) + v
            return acc
          }, {}))}`,
      )
    },
    DURATION + 180_000,
  )

  it(
    `workers terminated mid-operation, ${TERMINATE_ROUNDS} rounds: the database stays usable here and in another process (seed ${seed})`,
    async () => {
      const path = dbPath()
      // a tiny seeded PRNG for the termination moments
      let state = seed >>> 0
      const random = (): number => {
        state = (state + 0x6d2b79f5) >>> 0
        let t = Math.imul(state ^ (state >>> 15), state | 1)
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296
      }
      // per tree/key: the latest change a worker reported before it was terminated
      const reported = new Map<string, { seq: number; removed: boolean }>()
      let reportedChanges = 0

      for (let round = 0; round < TERMINATE_ROUNDS; round++) {
        const crashes: string[] = []
        const mismatches: string[] = []
        // Once terminate() is called, Node makes the napi calls of that worker fail and
        // return undefined until V8 stops its JS, so what the worker reports from then on
        // (a TypeError on an undefined result, a read that "missed", a write it believes
        // done) is an artifact of the termination itself, not of sled-node: counted and
        // printed, neither a failure nor an acknowledgement to check against.
        const terminating = new Set<number>()
        let late = 0
        const running: Promise<void>[] = []
        const workers = Array.from({ length: WORKERS }, (_, id) => {
          let markRunning: () => void = () => undefined
          running.push(new Promise<void>((resolve) => (markRunning = resolve)))
          return startWorker(
            // each round's seqs are above every earlier round's, so "newer" compares across rounds
            { path, id, seed: seed + 100 * round + id, durationMs: 600_000, stream: true, seqBase: (round + 1) * 1e9 },
            (m) => {
              if (m.type === 'running') markRunning()
              else if (terminating.has(id)) late++
              else if (m.type === 'crash') crashes.push(m.error)
              else if (m.type === 'log') {
                mismatches.push(...m.mismatches)
                for (const [ti, key, seq, pad] of m.log) {
                  reported.set(`${treeOf(m.id, ti)}/${key}`, { seq, removed: pad < 0 })
                  reportedChanges++
                }
              }
            },
          )
        })
        await guard(Promise.all(running), 'the workers starting', 60_000)
        // each worker is terminated at its own moment, in whatever operation it is in
        await guard(
          Promise.all(
            workers.map(async ({ worker }, id) => {
              await new Promise((resolve) => setTimeout(resolve, 50 + random() * 700))
              terminating.add(id)
              await worker.terminate()
            }),
          ),
          'terminating the workers',
          120_000,
        )
        await guard(Promise.all(workers.map((w) => w.exited)), 'the workers exiting', 60_000)
        expect(crashes, `round ${round}, seed ${seed}`).toEqual([])
        expect(mismatches, `round ${round}, seed ${seed}`).toEqual([])

        // this process opens the path (the workers' handles were released), reads everything, writes
        const db = open(path)
        const problems: string[] = []
        const present = new Set<string>()
        for (const line of dump(db)) {
          const slash = line.indexOf('/')
          const eq = line.indexOf('=')
          const tree = line.slice(0, slash)
          const key = line.slice(slash + 1, eq)
          if (tree === '__sled__default' && (key.startsWith('main-') || key.startsWith('child-'))) continue
          const value = line.slice(eq + 1)
          const problem = wellFormed(tree, key, value)
          if (problem) {
            problems.push(problem)
            continue
          }
          present.add(`${tree}/${key}`)
          const last = reported.get(`${tree}/${key}`)
          const seq = parseValue(value)!.seq
          // never older than what a worker reported: nothing acknowledged is lost or rolled back
          if (last && (last.removed ? seq <= last.seq : seq < last.seq)) {
            problems.push(`${tree}/${key} holds seq ${seq}, older than the reported ${last.removed ? 'removal' : 'write'} ${last.seq}`)
          }
        }
        // (a reported write may be missing: a later, unreported removal may have followed it)
        expect(problems.slice(0, 10), `round ${round}, seed ${seed}`).toEqual([])
        // what this thread and the other process wrote in earlier rounds is still there
        for (let r = 0; r < round; r++) {
          expect(db.get(`main-${r}`)?.toString()).toBe('written by the main thread')
          expect(db.get(`child-main-${r}`)?.toString()).toBe('x')
        }
        db.insert(`main-${round}`, 'written by the main thread')
        expect(db.get(`main-${round}`)?.toString()).toBe('written by the main thread')
        db.flush()
        db.close()

        // another process can open it too, and sees that write
        const res = runChild(
          `const db = sled.open(process.argv[1])
          const seen = String(db.get(process.argv[2]))
          db.insert('child-' + process.argv[2], 'x')
          let n = 0
          for (const name of db.treeNames()) n += db.openTree(name).len()
          db.close()
          console.log(JSON.stringify({ seen, n }))`,
          [path, `main-${round}`],
        )
        expectCleanExit(res)
        const out = JSON.parse(res.stdout) as { seen: string; n: number }
        expect(out.seen).toBe('written by the main thread')
        expect(out.n).toBeGreaterThan(0)
        console.log(
          `terminate round ${round}: ${present.size} worker entries present, ${reportedChanges} changes reported so far, ` +
            `${late} messages from workers already being terminated ignored`,
        )
      }
      expect(reportedChanges).toBeGreaterThan(0)
    },
    (soak ? 30 : 5) * 120_000,
  )
})
