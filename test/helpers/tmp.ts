// The one temp-dir helper: a fresh directory per call, removed after the test file.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

const made: string[] = []

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

/** A new empty directory; `dbPath()` inside it is a path where no database exists yet. */
export function tempDir(prefix = 'sled-node-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

/** A path for a database that does not exist yet. */
export function dbPath(name = 'db'): string {
  return join(tempDir(), name)
}
