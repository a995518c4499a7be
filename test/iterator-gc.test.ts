import { describe, expect, it } from 'vitest'
import { open } from 'sled-node'
import { runChild } from './helpers/child.js'
import { dbPath } from './helpers/tmp.js'

describe('abandoned iterators', () => {
  it('1,000 iterators dropped mid-way are freed by GC; close() then releases the path', () => {
    const path = dbPath()
    const child = runChild(
      `
      const path = process.argv[1]
      const db = sled.open(path)
      for (let i = 0; i < 5000; i++) db.insert(String(i).padStart(5, '0'), 'value')
      const tree = db.openTree('t')
      tree.insert('a', 'b')
      for (let i = 0; i < 1000; i++) {
        const it = (i % 2 ? tree : db).range({ gte: String(i) })
        it.next()
      }
      ;(async () => {
        for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setImmediate(r)) }
        db.close()
        // this process can reopen at once, so nothing kept sled's lock
        const again = sled.open(path)
        if (again.len() !== 5000) throw new Error('lost entries: ' + again.len())
        again.close()
        console.log('ok')
      })().catch((e) => { console.error(e); process.exit(1) })
      `,
      [path],
      ['--expose-gc'],
    )
    expect(child.stderr).toBe('')
    expect(child.stdout.trim()).toBe('ok')
    expect(child.status).toBe(0)
    // and another process can open it after the child ended
    const db = open(path)
    expect(db.len()).toBe(5000)
    db.close()
  })
})
