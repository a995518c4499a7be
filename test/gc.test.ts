// Handles dropped without close() are closed by their finalizers: after garbage
// collection the file lock is released while the process is still running, and the
// process exits normally. Runs in a child with --expose-gc.
import { describe, expect, it } from 'vitest'
import { open } from 'sled-node'
import { entry, expectCleanExit, runChild } from './helpers/child.js'
import { dbPath } from './helpers/tmp.js'

/**
 * Child prelude: collect garbage and let finalizers run (they run when the loop turns).
 * Handles are made in plain (non-async) functions: a suspended async function keeps its
 * registers, which may still hold the last handle of a loop, alive across an await.
 */
const COLLECT = `
  async function collect(rounds = 6) {
    for (let i = 0; i < rounds; i++) {
      global.gc()
      await new Promise((r) => setImmediate(r))
      await new Promise((r) => setTimeout(r, 10))
    }
  }
  // opens the path in another process (a grandchild) and reports what happened there
  function probe(path) {
    const { spawnSync } = require('node:child_process')
    const code = 'const sled = require(' + JSON.stringify(process.argv[2]) + ');' +
      'try { const db = sled.open(process.argv[1]); console.log(JSON.stringify({ ok: true, first: String(db.get("first")) })); db.close() }' +
      'catch (e) { console.log(JSON.stringify({ ok: false, code: e.code })) }'
    const res = spawnSync(process.execPath, ['-e', code, '--', path], { encoding: 'utf8' })
    return JSON.parse(res.stdout)
  }
`

describe('garbage-collected handles', () => {
  it('10,000 unclosed handles (and some trees) are collected; the lock is released and the process exits 0', () => {
    const path = dbPath()
    const res = runChild(
      `${COLLECT}
      function openMany(path) {
        for (let i = 0; i < 10000; i++) {
          const db = sled.open(path)
          if (i === 0) db.insert('first', 'x')
          if (i % 100 === 0) {
            const t = db.openTree('t' + (i % 7))
            t.insert('k', String(i))
          }
          if (i % 1000 === 0) db.iter().next()
        }
      }
      ;(async () => {
        const path = process.argv[1]
        openMany(path)
        await collect()
        // every handle is gone: another process can take the lock while this one lives
        const whileAlive = probe(path)
        // and this process can open and close the path itself
        const db = sled.open(path)
        const sawFirst = String(db.get('first'))
        const sawTree = String(db.openTree('t2').get('k'))
        db.close()
        const afterClose = probe(path)
        console.log(JSON.stringify({ whileAlive, sawFirst, sawTree, afterClose }))
      })().catch((e) => { console.error(e); process.exitCode = 1 })`,
      [path, entry],
      ['--expose-gc'],
    )
    expectCleanExit(res)
    expect(JSON.parse(res.stdout)).toEqual({
      whileAlive: { ok: true, first: 'x' },
      sawFirst: 'x',
      sawTree: '9900',
      afterClose: { ok: true, first: 'x' },
    })

    // the parent opens the path after the child exited: not locked, data there
    const db = open(path)
    expect(db.get('first')?.toString()).toBe('x')
    expect(db.openTree('t0').get('k')?.toString()).toBe('9800')
    db.close()

    // and another child process can open it too
    const again = runChild(`const db = sled.open(process.argv[1]); console.log(String(db.get('first'))); db.close()`, [path])
    expect(again.status).toBe(0)
    expect(again.stdout.trim()).toBe('x')
  })

  it('a collected handle does not close other, still reachable handles of the path', () => {
    const path = dbPath()
    const res = runChild(
      `${COLLECT}
      function openMany(path) {
        for (let i = 0; i < 1000; i++) sled.open(path).openTree('t').insert('n', String(i))
      }
      ;(async () => {
        const path = process.argv[1]
        const kept = sled.open(path)
        const keptTree = kept.openTree('t')
        openMany(path)
        await collect()
        keptTree.insert('after', 'gc')
        kept.insert('k', 'v')
        const out = { closed: kept.closed, n: String(keptTree.get('n')), k: String(kept.get('k')) }
        const whileKept = probe(path)
        kept.close()
        const afterClose = probe(path)
        console.log(JSON.stringify({ ...out, whileKept, afterClose }))
      })().catch((e) => { console.error(e); process.exitCode = 1 })`,
      [path, entry],
      ['--expose-gc'],
    )
    expectCleanExit(res)
    expect(JSON.parse(res.stdout)).toEqual({
      closed: false,
      n: '999',
      k: 'v',
      whileKept: { ok: false, code: 'SLED_LOCKED' },
      afterClose: { ok: true, first: 'undefined' },
    })
  })

  it('a reachable tree keeps its Db usable after the Db object itself is unreachable', () => {
    const path = dbPath()
    const res = runChild(
      `${COLLECT}
      function treeOnly(path) {
        const tree = sled.open(path).openTree('t')
        tree.insert('a', '1')
        return tree
      }
      ;(async () => {
        const tree = treeOnly(process.argv[1])
        await collect()
        tree.insert('b', '2')
        console.log(JSON.stringify({ closed: tree.closed, a: String(tree.get('a')), b: String(tree.get('b')) }))
      })().catch((e) => { console.error(e); process.exitCode = 1 })`,
      [path, entry],
      ['--expose-gc'],
    )
    expectCleanExit(res)
    expect(JSON.parse(res.stdout)).toEqual({ closed: false, a: '1', b: '2' })
    const db = open(path)
    expect(db.openTree('t').get('b')?.toString()).toBe('2')
    db.close()
  })
})
