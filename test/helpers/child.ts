// Runs a snippet of JavaScript in a separate Node process (CommonJS, with `sled`
// bound to the package), for tests about other processes, exit and GC.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
/** The package's CommonJS entry, for child processes and workers to `require`. */
export const entry = require.resolve('sled-node')

export interface ChildResult {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs `script` as is in a new Node process; it must load the package itself if it wants it. */
export function runNode(script: string, args: string[] = [], nodeFlags: string[] = []): ChildResult {
  const res = spawnSync(process.execPath, [...nodeFlags, '-e', script, '--', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  })
  return { status: res.status, signal: res.signal, stdout: res.stdout, stderr: res.stderr }
}

export function runChild(code: string, args: string[] = [], nodeFlags: string[] = []): ChildResult {
  return runNode(`const sled = require(${JSON.stringify(entry)});\n${code}`, args, nodeFlags)
}
