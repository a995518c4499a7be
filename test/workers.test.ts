// worker_threads: one path shares one database across the main thread and workers;
// opens racing with closes in other workers never see SLED_LOCKED; the addon can
// live only in a worker; a terminated worker's writes are flushed.
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { open } from 'sled-node'
import { entry, runChild, runNode } from './helpers/child.js'
import { dbPath } from './helpers/tmp.js'
import { nextMessage, worker } from './helpers/workers.js'

/** Resolves with the exit code; call it before the worker can exit (right after creating it). */
async function exitCode(w: Worker): Promise<number> {
  const [code] = (await once(w, 'exit')) as [number]
  return code
}

describe('worker threads', () => {
  it('a path opened in main and in two workers shares data both ways', async () => {
    const path = dbPath()
    const db = open(path)
    db.insert('main', 'hello')
    const t = db.openTree('shared')

    const code = `
      const db = sled.open(workerData.path)
      const tree = db.openTree('shared')
      const id = workerData.id
      db.insert('w' + id, 'from worker ' + id)
      tree.insert('t' + id, String(id))
      parentPort.postMessage({ seenMain: db.get('main')?.toString() ?? null })
      parentPort.once('message', () => {
        const other = 1 - id
        parentPort.postMessage({
          main2: db.get('main2')?.toString() ?? null,
          other: db.get('w' + other)?.toString() ?? null,
          otherTree: tree.get('t' + other)?.toString() ?? null,
          mainTree: tree.get('m')?.toString() ?? null,
        })
        db.close()
      })`
    const workers = [0, 1].map((id) => worker(code, { path, id }))
    const exits = workers.map(exitCode)
    const first = await Promise.all(workers.map((w) => nextMessage(w)))
    expect(first).toEqual([{ seenMain: 'hello' }, { seenMain: 'hello' }])

    // both workers' writes are visible here
    expect(db.get('w0')?.toString()).toBe('from worker 0')
    expect(db.get('w1')?.toString()).toBe('from worker 1')
    expect(t.get('t0')?.toString()).toBe('0')
    expect(t.get('t1')?.toString()).toBe('1')

    // and writes made here after they opened are visible there
    db.insert('main2', 'later')
    t.insert('m', 'tree')
    const replies = workers.map((w) => nextMessage(w))
    for (const w of workers) w.postMessage('check')
    expect(await Promise.all(replies)).toEqual([
      { main2: 'later', other: 'from worker 1', otherTree: '1', mainTree: 'tree' },
      { main2: 'later', other: 'from worker 0', otherTree: '0', mainTree: 'tree' },
    ])
    expect(await Promise.all(exits)).toEqual([0, 0])

    // the workers closed their handles; this one still works
    db.insert('after', 'x')
    expect(db.get('after')?.toString()).toBe('x')
    db.close()
  })

  it('two workers opening and closing one path 1,000 times each never see SLED_LOCKED', async () => {
    const path = dbPath()
    const code = `
      const errors = {}
      let rounds = 0
      for (let i = 0; i < workerData.rounds; i++) {
        try {
          const db = sled.open(workerData.path)
          db.insert('w' + workerData.id, String(i))
          db.close()
          rounds++
        } catch (e) {
          errors[e.code ?? e.name] = (errors[e.code ?? e.name] ?? 0) + 1
        }
      }
      parentPort.postMessage({ rounds, errors })`
    const workers = [0, 1].map((id) => worker(code, { path, id, rounds: 1000 }))
    const exits = workers.map(exitCode)
    const results = await Promise.all(workers.map((w) => nextMessage(w)))
    expect(results).toEqual([
      { rounds: 1000, errors: {} },
      { rounds: 1000, errors: {} },
    ])
    expect(await Promise.all(exits)).toEqual([0, 0])
    const db = open(path)
    expect(db.get('w0')?.toString()).toBe('999')
    expect(db.get('w1')?.toString()).toBe('999')
    db.close()
  })

  it('opens in workers racing with closes in main never see SLED_LOCKED', async () => {
    const path = dbPath()
    const code = `
      const errors = []
      for (let i = 0; i < 300; i++) {
        try { const db = sled.open(workerData.path); db.get('k'); db.close() }
        catch (e) { errors.push(e.code ?? String(e)) }
      }
      parentPort.postMessage(errors)`
    const w = worker(code, { path })
    const exited = exitCode(w)
    const reply = nextMessage<string[]>(w)
    const mainErrors: string[] = []
    let done = false
    void reply.finally(() => {
      done = true
    })
    while (!done) {
      try {
        const db = open(path)
        db.insert('k', 'v')
        db.close()
      } catch (e) {
        mainErrors.push((e as { code?: string }).code ?? String(e))
      }
      await new Promise((r) => setImmediate(r))
    }
    expect(await reply).toEqual([])
    expect(mainErrors).toEqual([])
    expect(await exited).toBe(0)
  })

  it('the addon loaded only inside a worker lets the process exit normally', () => {
    const path = dbPath()
    // the child never loads sled-node on its main thread
    const res = runNode(
      `const { Worker } = require('node:worker_threads')
       const [path, entry] = process.argv.slice(1)
       const w = new Worker(\`
         const { workerData } = require('node:worker_threads')
         const sled = require(workerData.entry)
         const db = sled.open(workerData.path)
         db.insert('closed', 'yes')
         db.openTree('t').insert('k', 'v')
         db.close()
         const open = sled.open(workerData.path)
         open.insert('unclosed', 'yes')
       \`, { eval: true, workerData: { path, entry } })
       w.on('error', (e) => { console.error('worker error', e); process.exitCode = 3 })
       w.on('exit', (code) => console.log('worker exit ' + code))`,
      [path, entry],
    )
    expect(res.signal).toBeNull()
    expect(res.stderr).toBe('')
    expect(res.stdout.trim()).toBe('worker exit 0')
    expect(res.status).toBe(0)
    const db = open(path)
    expect(db.get('closed')?.toString()).toBe('yes')
    expect(db.openTree('t').get('k')?.toString()).toBe('v')
    // the handle the worker left open was flushed when the worker ended
    expect(db.get('unclosed')?.toString()).toBe('yes')
    db.close()
  })

  it('several workers loading the addon one after another in a child process', () => {
    const path = dbPath()
    const res = runNode(
      `const { Worker } = require('node:worker_threads')
       const [path, entry] = process.argv.slice(1)
       const code = \`
         const { workerData } = require('node:worker_threads')
         const sled = require(workerData.entry)
         const db = sled.open(workerData.path)
         db.insert('n', String(workerData.i))
       \`
       ;(async () => {
         for (let i = 0; i < 5; i++) {
           const w = new Worker(code, { eval: true, workerData: { path, entry, i } })
           const exitCode = await new Promise((resolve, reject) => { w.on('exit', resolve); w.on('error', reject) })
           if (exitCode !== 0) throw new Error('worker exit ' + exitCode)
         }
         console.log('done')
       })().catch((e) => { console.error(e); process.exitCode = 2 })`,
      [path, entry],
    )
    expect(res.stderr).toBe('')
    expect(res.stdout.trim()).toBe('done')
    expect(res.status).toBe(0)
    const db = open(path)
    expect(db.get('n')?.toString()).toBe('4')
    db.close()
  })

  it('a worker terminated right after writing: main reopens and finds the data', async () => {
    const path = dbPath()
    const w = worker(
      `const db = sled.open(workerData.path, { flushEveryMs: null })
       db.insert('k', 'from a terminated worker')
       db.openTree('t').insert('k', 'tree')
       parentPort.postMessage('written')
       setInterval(() => {}, 1000) // stay alive until terminated`,
      { path },
    )
    expect(await nextMessage(w)).toBe('written')
    await w.terminate()
    const db = open(path)
    expect(db.get('k')?.toString()).toBe('from a terminated worker')
    expect(db.openTree('t').get('k')?.toString()).toBe('tree')
    db.close()
  })

  it("a terminated worker's writes are on disk and its lock is released", async () => {
    const path = dbPath()
    const w = worker(
      `const db = sled.open(workerData.path, { flushEveryMs: null })
       db.insert('k', 'durable')
       parentPort.postMessage('written')
       setInterval(() => {}, 1000)`,
      { path },
    )
    expect(await nextMessage(w)).toBe('written')
    await w.terminate()
    // main never opened the path: another process must be able to open it and see the write
    const res = runChild(
      `try { const db = sled.open(process.argv[1]); console.log(String(db.get('k'))); db.close() }
       catch (e) { console.log(e.code) }`,
      [path],
    )
    expect(res.stdout.trim()).toBe('durable')
    expect(res.status).toBe(0)
  })

  it('a worker that exits naturally without close flushes its writes and releases the lock', async () => {
    const path = dbPath()
    const w = worker(
      `const db = sled.open(workerData.path, { flushEveryMs: null })
       db.insert('k', 'natural end')`,
      { path },
    )
    expect(await exitCode(w)).toBe(0)
    const res = runChild(
      `try { const db = sled.open(process.argv[1]); console.log(String(db.get('k'))); db.close() }
       catch (e) { console.log(e.code) }`,
      [path],
    )
    expect(res.stdout.trim()).toBe('natural end')
  })
})
