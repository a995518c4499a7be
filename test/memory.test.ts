// Where sled's memory lives (crates/sled-node/src/allocator.rs): on Linux the addon
// reserves mimalloc's arena with transparent huge pages allowed, as mimalloc does in a
// Rust program. Without that, a Node process held sled's pages on 4 KiB pages only.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { entry, expectCleanExit, runNode } from './helpers/child.js'
import { dbPath } from './helpers/tmp.js'

/** The contents of a file, or '' where it does not exist (not Linux, no THP). */
function read(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

// THP allowed for madvised memory, and a kernel that overcommits (the addon commits the
// arena only then, as mimalloc does)
const thp = /\[(madvise|always)\]/.test(read('/sys/kernel/mm/transparent_hugepage/enabled'))
const overcommits = /^[01]/.test(read('/proc/sys/vm/overcommit_memory'))

// mimalloc's own settings in the environment (MIMALLOC_ALLOW_THP, …) change what it does
const tuned = Object.keys(process.env).some((name) => name.startsWith('MIMALLOC_'))

/**
 * Child code: opens the database at argv[1] and writes 50,000 entries (in a worker thread
 * when `inWorker`, with the main thread never loading the addon), then prints each mapping
 * of 1 GiB or more: its size, its resident memory (KiB), and whether it is advised for huge
 * pages.
 */
function largeMappings(inWorker: boolean): string {
  const write = `
    const db = sled.open(path)
    for (let i = 0; i < 50000; i++) db.insert(String(i).padStart(16, '0'), Buffer.alloc(100, i))
    const maps = []
    for (const block of require('node:fs').readFileSync('/proc/self/smaps', 'utf8').split(/\\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
      const kb = (field) => Number((block.match(new RegExp('^' + field + ':\\\\s+(\\\\d+) kB', 'm')) ?? [])[1] ?? 0)
      const flags = (block.match(/^VmFlags:(.*)$/m) ?? [])[1] ?? ''
      maps.push({ size: kb('Size'), rss: kb('Rss'), hg: flags.split(' ').includes('hg') })
    }
    db.close()
    console.log(JSON.stringify(maps.filter((m) => m.size >= 1024 * 1024)))`
  return inWorker
    ? `const { Worker } = require('node:worker_threads')
       const code = 'const sled = require(' + JSON.stringify(${JSON.stringify(entry)}) + '); const path = ' + JSON.stringify(process.argv[1]) + ';' + ${JSON.stringify(write)}
       new Worker(code, { eval: true }).on('error', (e) => { console.error(e); process.exitCode = 1 })`
    : `const sled = require(${JSON.stringify(entry)}); const path = process.argv[1];${write}`
}

describe('sled memory on Linux', () => {
  for (const [where, inWorker] of [
    ['the main thread', false],
    ['a worker thread (the main thread never loads it)', true],
  ] as const) {
    it.skipIf(process.platform !== 'linux' || !thp || !overcommits || tuned)(
      `loaded in ${where}: the store's memory is in one 1 GiB arena advised for huge pages (MADV_HUGEPAGE)`,
      () => {
        const res = runNode(largeMappings(inWorker), [dbPath()])
        expectCleanExit(res)
        const large = JSON.parse(res.stdout) as { size: number; rss: number; hg: boolean }[]
        // the arena: advised, and holding the store (50,000 entries of 100 bytes: well over 5 MB)
        expect(large.filter((m) => m.hg && m.rss > 5 * 1024)).toHaveLength(1)
      },
    )
  }
})
