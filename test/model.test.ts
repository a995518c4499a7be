// Model-based test: random command sequences over three trees (insert, remove, get,
// CAS, batch, transaction, range, popMin/popMax, flush, close/reopen) checked step by
// step against an in-memory model. Fixed seed in CI; `npm run test:soak` runs far
// more with a random seed (fast-check prints the seed and the shrunk sequence on failure).
import { Buffer } from 'node:buffer'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Db, open, transaction, type Tree } from 'sled-node'
import { dbPath } from './helpers/tmp.js'

const soak = Boolean(process.env.SLED_SOAK)
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : soak ? Date.now() % 2 ** 31 : 424242
const numRuns = Number(process.env.FC_RUNS ?? (soak ? 500 : 60))
const maxCommands = soak ? 300 : 100

const TREES = ['', 'a', 'b'] as const
type TreeName = (typeof TREES)[number]
type Model = Map<TreeName, Map<string, Buffer>>

interface Real {
  path: string
  db: Db
  trees: Map<TreeName, Tree>
}

function attach(real: Real): void {
  real.db = open(real.path)
  real.trees = new Map(TREES.map((name) => [name, name === '' ? real.db : real.db.openTree<Buffer, Buffer>(name)]))
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const sorted = (m: Map<string, Buffer>): [string, string][] =>
  [...m.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'))).map(([k, v]) => [k, hex(v)])
const tree = (r: Real, name: TreeName): Tree => r.trees.get(name) as Tree
const table = (m: Model, name: TreeName): Map<string, Buffer> => m.get(name) as Map<string, Buffer>

const keyArb = fc.uint8Array({ maxLength: 3 }).map((a) => Buffer.from(a.map((b) => [0, 1, 2, 0xff][b % 4] as number)))
const valueArb = fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a))
const treeArb = fc.constantFrom(...TREES)

type Cmd = fc.Command<Model, Real>

let steps = 0

const cmd = (label: string, check: (m: Model) => boolean, run: (m: Model, r: Real) => void): Cmd => ({
  check,
  run: (m, r) => {
    steps++
    run(m, r)
  },
  toString: () => label,
})

const always = (): boolean => true

const commands = [
  fc.tuple(treeArb, keyArb, valueArb).map(([t, k, v]) =>
    cmd(`insert(${t}, ${hex(k)}, ${hex(v)})`, always, (m, r) => {
      const prev = tree(r, t).insert(k, v)
      expect(prev && hex(prev)).toBe(table(m, t).get(hex(k)) && hex(table(m, t).get(hex(k)) as Buffer))
      table(m, t).set(hex(k), v)
    }),
  ),
  fc.tuple(treeArb, keyArb).map(([t, k]) =>
    cmd(`remove(${t}, ${hex(k)})`, always, (m, r) => {
      const prev = tree(r, t).remove(k)
      expect(prev && hex(prev)).toEqual(table(m, t).get(hex(k)) && hex(table(m, t).get(hex(k)) as Buffer))
      table(m, t).delete(hex(k))
    }),
  ),
  fc.tuple(treeArb, keyArb).map(([t, k]) =>
    cmd(`get(${t}, ${hex(k)})`, always, (m, r) => {
      const got = tree(r, t).get(k)
      expect(got && hex(got)).toEqual(table(m, t).get(hex(k)) && hex(table(m, t).get(hex(k)) as Buffer))
    }),
  ),
  fc.tuple(treeArb, keyArb, fc.option(valueArb, { nil: undefined }), fc.option(valueArb, { nil: undefined }), fc.boolean()).map(([t, k, expected, proposed, useCurrent]) =>
    cmd(`cas(${t}, ${hex(k)}, ${useCurrent ? 'current' : expected && hex(expected)}, ${proposed && hex(proposed)})`, always, (m, r) => {
      const current = table(m, t).get(hex(k))
      const exp = useCurrent ? current : expected
      const res = tree(r, t).compareAndSwap(k, exp, proposed)
      const shouldSucceed = (exp === undefined && current === undefined) || (exp !== undefined && current !== undefined && exp.equals(current))
      expect(res.ok).toBe(shouldSucceed)
      if (res.ok) {
        if (proposed === undefined) table(m, t).delete(hex(k))
        else table(m, t).set(hex(k), proposed)
      } else {
        expect(res.current && hex(res.current)).toEqual(current && hex(current))
      }
    }),
  ),
  fc.tuple(treeArb, fc.array(fc.tuple(keyArb, fc.option(valueArb, { nil: undefined })), { maxLength: 8 })).map(([t, ops]) =>
    cmd(`batch(${t}, ${ops.length} ops)`, always, (m, r) => {
      const b = tree(r, t).batch()
      for (const [k, v] of ops) {
        if (v === undefined) b.remove(k)
        else b.insert(k, v)
      }
      tree(r, t).apply(b)
      for (const [k, v] of ops) {
        if (v === undefined) table(m, t).delete(hex(k))
        else table(m, t).set(hex(k), v)
      }
    }),
  ),
  fc.tuple(keyArb, valueArb, fc.boolean()).map(([k, v, abort]) =>
    cmd(`transaction(a->b, ${hex(k)}, ${abort ? 'abort' : 'commit'})`, always, (m, r) => {
      const marker = new Error('abort')
      const run = () =>
        transaction([tree(r, 'a'), tree(r, 'b')], ([ta, tb]) => {
          const old = ta?.get(k)
          tb?.insert(k, old ?? v)
          ta?.remove(k)
          if (abort) throw marker
          return old
        })
      if (abort) {
        expect(run).toThrow(marker)
        return
      }
      const old = run()
      expect(old && hex(old)).toEqual(table(m, 'a').get(hex(k)) && hex(table(m, 'a').get(hex(k)) as Buffer))
      table(m, 'b').set(hex(k), old ?? v)
      table(m, 'a').delete(hex(k))
    }),
  ),
  fc.tuple(treeArb, fc.option(keyArb, { nil: undefined }), fc.option(keyArb, { nil: undefined }), fc.boolean(), fc.option(fc.nat(5), { nil: undefined })).map(([t, lo, hi, reverse, limit]) =>
    cmd(`range(${t}, ${lo && hex(lo)}..${hi && hex(hi)}, ${reverse}, ${limit})`, always, (m, r) => {
      let expected = sorted(table(m, t)).filter(([k]) => {
        const key = Buffer.from(k, 'hex')
        return (lo === undefined || Buffer.compare(key, lo) >= 0) && (hi === undefined || Buffer.compare(key, hi) < 0)
      })
      if (reverse) expected = expected.reverse()
      if (limit !== undefined) expected = expected.slice(0, limit)
      const opts = { reverse, ...(lo && { gte: lo }), ...(hi && { lt: hi }), ...(limit !== undefined && { limit }) }
      expect(tree(r, t).range(opts).toArray().map(([k, v]) => [hex(k), hex(v)])).toEqual(expected)
    }),
  ),
  fc.tuple(treeArb, fc.boolean()).map(([t, max]) =>
    cmd(`${max ? 'popMax' : 'popMin'}(${t})`, always, (m, r) => {
      const entries = sorted(table(m, t))
      const expected = max ? entries[entries.length - 1] : entries[0]
      const got = max ? tree(r, t).popMax() : tree(r, t).popMin()
      expect(got && [hex(got[0]), hex(got[1])]).toEqual(expected)
      if (expected) table(m, t).delete(expected[0])
    }),
  ),
  fc.constant(cmd('flush', always, (_m, r) => void r.db.flush())),
  fc.constant(
    cmd('close+reopen', always, (m, r) => {
      r.db.close()
      attach(r)
      for (const t of TREES) expect(sorted(table(m, t))).toEqual(sorted(new Map([...tree(r, t).iter()].map(([k, v]) => [hex(k), v]))))
    }),
  ),
]

describe('model-based', () => {
  it(`matches the model over ${numRuns} runs of up to ${maxCommands} commands (seed ${seed})`, () => {
    steps = 0
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands, size: 'max' }), (cmds) => {
        const real = { path: dbPath() } as Real
        attach(real)
        const model: Model = new Map(TREES.map((t) => [t, new Map()]))
        try {
          fc.modelRun(() => ({ model, real }), cmds)
          for (const t of TREES) expect(tree(real, t).len()).toBe(table(model, t).size)
        } finally {
          real.db.close()
        }
      }),
      { seed, numRuns },
    )
    console.log(`model-based: ${steps} commands run (seed ${seed})`)
  }, 600_000)
})
