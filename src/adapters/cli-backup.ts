// `sled-node backup <db-path> <destination>`: db.backup() with a progress display on
// stderr: a cli-progress bar over the trees on a terminal, otherwise a plain line per
// second (and none for a backup that takes less). The result goes to stdout.

import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import cliProgress = require('cli-progress')
import type { BackupProgress, BackupResult } from '../backup.js'
import type { Db } from '../db.js'

interface Display {
  update(progress: BackupProgress): void
  stop(): void
}

function bar(trees: number): Display {
  const shown = new cliProgress.SingleBar(
    { format: ' {bar} {value}/{total} trees | {entries} entries | {mb} MB', hideCursor: true, clearOnComplete: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  )
  shown.start(trees, 0, { entries: 0, mb: '0.0' })
  return {
    update: (p) => shown.update(p.trees, { entries: p.entries, mb: (p.bytes / 1e6).toFixed(1) }),
    stop: () => shown.stop(),
  }
}

function lines(trees: number): Display {
  let last = Date.now()
  return {
    update: (p) => {
      if (Date.now() - last < 1000) return
      last = Date.now()
      process.stderr.write(`copied ${p.entries} entries (${p.bytes} bytes), ${p.trees}/${trees} trees\n`)
    },
    stop: () => {},
  }
}

/**
 * Removes an unfinished copy when the process exits during the backup (Ctrl-C or a kill:
 * the CLI runs the 'exit' listeners before it re-raises the signal); an empty directory
 * that was there before is emptied, not removed.
 */
function removeOnExit(destination: string): () => void {
  const existed = existsSync(destination)
  const remove = (): void => {
    if (!existed) return rmSync(destination, { recursive: true, force: true })
    for (const name of readdirSync(destination)) rmSync(join(destination, name), { recursive: true, force: true })
  }
  process.once('exit', remove)
  return () => process.off('exit', remove)
}

/** Backs `db` up into `destination`, showing progress. */
export async function backupCommand(db: Db, destination: string): Promise<BackupResult> {
  const trees = db.treeNames().length
  const display = process.stderr.isTTY ? bar(trees) : lines(trees)
  const keep = removeOnExit(destination)
  try {
    return await db.backup(destination, { onProgress: (p) => display.update(p), progressInterval: 100 })
  } finally {
    display.stop()
    keep()
  }
}

/** The summary line of a finished backup. */
export function describeBackup(result: BackupResult, destination: string): string {
  return (
    `backed up ${result.trees} trees, ${result.entries} entries (${result.bytes} bytes) to ${destination} ` +
    `in ${Math.round(result.durationMs)} ms (writes paused ${result.pauseMs.toFixed(2)} ms); the copy was verified`
  )
}
