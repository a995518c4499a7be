// Where sled's memory lives (crates/sled-node/src/allocator.rs): on Linux the addon
// reserves mimalloc's arena with transparent huge pages allowed, as mimalloc does in a
// Rust program. Without that, a Node process held sled's pages on 4 KiB pages only.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { expectCleanExit, runChild } from './helpers/child.js'
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

describe('sled memory on Linux', () => {
  it.skipIf(process.platform !== 'linux' || !thp || !overcommits)(
    "is in a 1 GiB arena advised for huge pages (MADV_HUGEPAGE), which holds the store's memory",
    () => {
      const res = runChild(
        `
        const db = sled.open(process.argv[1])
        for (let i = 0; i < 50000; i++) db.insert(String(i).padStart(16, '0'), Buffer.alloc(100, i))
        // each mapping: its size, its resident memory, and whether it is advised for huge pages
        const maps = []
        for (const block of require('node:fs').readFileSync('/proc/self/smaps', 'utf8').split(/\\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
          const kb = (field) => Number((block.match(new RegExp('^' + field + ':\\\\s+(\\\\d+) kB', 'm')) ?? [])[1] ?? 0)
          const flags = (block.match(/^VmFlags:(.*)$/m) ?? [])[1] ?? ''
          maps.push({ size: kb('Size'), rss: kb('Rss'), hg: flags.split(' ').includes('hg') })
        }
        db.close()
        console.log(JSON.stringify(maps.filter((m) => m.size >= 1024 * 1024)))
        `,
        [dbPath()],
      )
      expectCleanExit(res)
      const large = JSON.parse(res.stdout) as { size: number; rss: number; hg: boolean }[]
      // the arena: advised, and holding the store (50,000 entries of 100 bytes: well over 5 MB)
      expect(large.filter((m) => m.hg && m.rss > 5 * 1024)).toHaveLength(1)
    },
  )
})
