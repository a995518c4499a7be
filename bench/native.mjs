// sled-native cells: the Rust baseline binary runs the workload itself (its own block
// timing, median block rate, see crates/sled-native) and prints one JSON line, which is
// converted to the harness's result shape. No tinybench there, so rme is null.

import { execFile } from 'node:child_process'
import { binaryPath } from './binaries.mjs'

export function runNative(cfg, timeoutMs) {
  // fills insert exactly N; scan-full scans at least 3 times; others run for cfg.time ms
  const minOps = cfg.workload === 'scan-full' ? 3 * cfg.n : 0
  const args = [cfg.workload, cfg.dir, cfg.n, cfg.valueSize, cfg.seed, minOps, cfg.time].map(String)
  return new Promise((resolve) => {
    execFile(binaryPath('sled-native'), args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) return resolve({ type: 'error', reason: `sled-native: ${err.killed ? 'timed out' : stderr.trim() || err.message}` })
      const out = JSON.parse(stdout.trim().split('\n').pop())
      resolve({ type: 'result', result: { opsPerSec: out.opsPerSec, rme: null, samples: out.samples, opsTimed: out.ops } })
    })
  })
}
