// Runs one cell in a fresh child process (child.mjs) and collects its messages. The
// child's stderr is kept and shown only if the cell fails; a cell that outlives its
// timeout is killed and reported, never waited on forever.

import { fork } from 'node:child_process'

export function runChild(cfg, timeoutMs, onPhase) {
  return new Promise((resolve) => {
    const child = fork(new URL('./child.mjs', import.meta.url), [JSON.stringify(cfg)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    let stderr = ''
    let outcome
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
    child.on('message', (m) => {
      if (m.type === 'phase') onPhase(m.phase)
      else outcome = m
    })
    const timer = setTimeout(() => {
      outcome = { type: 'error', reason: `timed out after ${Math.round(timeoutMs / 1000)} s` }
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (!outcome) outcome = { type: 'error', reason: `child exited (${signal ?? code}) without a result` }
      if (outcome.type === 'error' && stderr.trim()) outcome.reason += `\n${stderr.trim()}`
      resolve(outcome)
    })
  })
}
