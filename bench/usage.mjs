// What a cell used besides time: CPU over its timed part (the twin of
// crates/sled-native/src/usage.rs), its process's peak RSS, and the store's size on disk.
//
// CPU: `busyCores` is how many cores the whole machine kept busy while the cell timed
// (/proc/stat sampled before and after), `ownCores` how many this process used
// (process.cpuUsage, all threads). busyCores − ownCores is other work that shared the CPU
// with the cell; on 2 cores anything above a few tenths means the cell was contended.

import { readFileSync, readdirSync, lstatSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'

/** [busy, total] ticks of all CPUs (user nice system idle iowait irq softirq steal), or null. */
function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number)
    const total = f.reduce((s, x) => s + x, 0)
    return [total - f[3] - f[4], total]
  } catch {
    return null
  }
}

/** Starts a CPU window; its `end()` returns { busyCores, ownCores } (null where /proc is missing). */
export function cpuWindow() {
  const ticks = machineTicks()
  const cpu = process.cpuUsage()
  const t = process.hrtime.bigint()
  return {
    end() {
      const wallUs = Number(process.hrtime.bigint() - t) / 1000
      const own = process.cpuUsage(cpu)
      const ownCores = round((own.user + own.system) / wallUs)
      const now = machineTicks()
      if (!ticks || !now || now[1] === ticks[1]) return { busyCores: null, ownCores }
      const wallTicks = (now[1] - ticks[1]) / availableParallelism()
      return { busyCores: round((now[0] - ticks[0]) / wallTicks), ownCores }
    },
  }
}

const round = (x) => Math.round(x * 1000) / 1000

/** Peak resident set of this process so far, in bytes (getrusage's ru_maxrss). */
export const peakRssBytes = () => process.resourceUsage().maxRSS * 1024

/** Bytes allocated on disk under `dir` (st_blocks × 512, as du counts: sparse files count
 *  what they use, not their length). */
export function diskBytes(dir) {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    total += entry.isDirectory() ? diskBytes(p) : lstatSync(p).blocks * 512
  }
  return total
}

/** Peak resident set (VmHWM) of another live process, in bytes, or 0 if unreadable. */
export function peakRssOf(pid) {
  try {
    const kb = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Number(kb) * 1024 : 0
  } catch {
    return 0
  }
}
