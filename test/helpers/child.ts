// Runs a snippet of JavaScript in a separate Node process (CommonJS, with `sled`
// bound to the package), for tests about other processes, exit and GC.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { expect } from 'vitest'

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

/** Asserts a child ran to `status` (0 by default) on its own: nothing on stderr, no signal. */
export function expectCleanExit(res: ChildResult, status = 0): void {
  expect(res.stderr).toBe('')
  expect(res.signal).toBeNull()
  expect(res.status).toBe(status)
}

/**
 * Writes, into `dir`, a script for `node -r` that makes `name` unresolvable in that process, as
 * when an optional peer is not installed; returns its path.
 */
export function moduleHider(dir: string, name: string): string {
  const file = join(dir, `hide-${name}.cjs`)
  writeFileSync(
    file,
    `const M = require('node:module'); const resolve = M._resolveFilename
M._resolveFilename = function (request, ...rest) {
  if (request === ${JSON.stringify(name)}) { const e = new Error(${JSON.stringify(`Cannot find module '${name}'`)}); e.code = 'MODULE_NOT_FOUND'; throw e }
  return resolve.call(this, request, ...rest)
}`,
  )
  return file
}
