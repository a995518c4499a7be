// abstract-level's own compliance suite (abstract-level/test), run with tape as its
// README describes, against the built `sled-node/level`. Prints failures and the TAP
// summary; `--full` prints the whole TAP stream. Exits non-zero on any failure.
//
// Plain CommonJS because tape runs outside vitest, so test/helpers/tmp.ts (vitest
// hooks) cannot be used: the one temp root here is removed when tape finishes.
'use strict'

const { mkdtempSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const test = require('tape')
const suite = require('abstract-level/test')
const { SledLevel } = require('sled-node/level')

const full = process.argv.includes('--full')
const root = mkdtempSync(join(tmpdir(), 'sled-level-suite-'))
let made = 0

const counts = { pass: 0, fail: 0, skip: 0 }
// a failed assertion's YAML diagnostics follow its `not ok` line, indented
let inFailure = false

const stream = test.createStream()

stream.on('data', (chunk) => {
  for (const line of String(chunk).split('\n')) {
    if (line === '') continue
    if (/^ok \d+/.test(line)) {
      if (/# SKIP/.test(line)) counts.skip++
      else counts.pass++
      inFailure = false
    } else if (/^not ok \d+/.test(line)) {
      counts.fail++
      inFailure = true
    } else if (!line.startsWith(' ')) {
      inFailure = false
    }
    const summary = /^(1\.\.\d+|# (tests|pass|fail|skip|todo|ok)\b)/.test(line)
    if (full || inFailure || summary) console.log(line)
  }
})

// after tape's own summary, which it writes once every test has finished
stream.on('end', () => {
  rmSync(root, { recursive: true, force: true })
  console.log(`abstract-level: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped`)
  if (counts.fail > 0) process.exitCode = 1
})

suite({
  test,
  factory(options) {
    return new SledLevel(join(root, `db-${made++}`), options)
  },
})
