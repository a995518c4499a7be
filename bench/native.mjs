// Cells of the Rust baselines (sled-native, sled-native-copy, sled-native-mimalloc): the
// binary runs the workload itself (its own block timing, median block rate, see
// crates/sled-native) and prints one JSON line, which is converted to the harness's result
// shape. No tinybench there, so rme is null.

import { execFile } from 'node:child_process'
import { binaryPath } from './binaries.mjs'

/** `copy`: the copying baseline; `binary`: another binary of crates/sled-native. */
export function runNative(cfg, timeoutMs, { copy, binary = 'sled-native' }) {
  // fills insert exactly N (or --fill-n); scan-full scans at least 3 times; others run for cfg.time ms
  const minOps = cfg.workload === 'scan-full' ? 3 * cfg.n : 0
  const args = [cfg.workload, cfg.dir, cfg.n, cfg.valueSize, cfg.seed, minOps, cfg.time].map(String)
  if (copy) args.push('--copy')
  if (cfg.loaded) args.push('--loaded')
  if (cfg.fillN !== undefined) args.push(`--fill=${cfg.fillN}`)
  return new Promise((resolve) => {
    execFile(binaryPath(binary), args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) return resolve({ type: 'error', reason: `${binary}: ${err.killed ? 'timed out' : stderr.trim() || err.message}` })
      const out = JSON.parse(stdout.trim().split('\n').pop())
      const { opsPerSec, samples, ops: opsTimed, peakRssBytes, busyCores, ownCores } = out
      const filled = cfg.workload.startsWith('fill-') && cfg.workload !== 'fill-batch' && cfg.fillN < cfg.n
      resolve({
        type: 'result',
        result: {
          opsPerSec, rme: null, samples, opsTimed, inFlight: cfg.workload === 'read-workers' ? '2 × sync' : 'sync', busyCores, ownCores, peakRssBytes,
          ...(filled ? { note: `inserted ${cfg.fillN.toLocaleString('en-US')} of N entries` } : {}),
        },
      })
    })
  })
}
