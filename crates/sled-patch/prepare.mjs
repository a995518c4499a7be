// Prepares the copy of sled 0.34.7 that the workspace builds (Cargo.toml's
// [patch.crates-io] points at ./sled-0.34.7, which git ignores): the crate exactly as
// crates.io publishes it (checked against its sha256), with the edits below. Run before
// any cargo command on a fresh clone; `npm run build`, `npm run lint` and .ci/run do.
// Nothing of sled's source is kept in this repository, only these edits. Why each is
// needed: README.md beside this file.
//
// Usage: node crates/sled-patch/prepare.mjs   (a no-op when the copy is current)

import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const NAME = 'sled'
const VERSION = '0.34.7'
/** crates.io's checksum of sled-0.34.7.crate (as Cargo.lock recorded it before the patch). */
const SHA256 = '7f96b4737c2ce5987354855aed3797279def4ebf734436c6aa4552cf8e169935'

const TRUNCATION = `
// Edited by sled-node (crates/sled-patch): a truncation runs on a thread of its own.
// Queued on sled's IO pool it could wait forever: \`bump_tip\` waits for it while holding
// the segment accountant's lock, and every pool thread could be waiting for that lock
// (writing a sealed buffer) with the truncation still queued behind them.
fn spawn_truncation<F: FnOnce() + Send + 'static>(work: F) -> Result<()> {
    std::thread::Builder::new()
        .name("sled-truncate".to_string())
        .spawn(work)
        .map(drop)
        .map_err(Error::from)
}
`

/** Each `find` must occur exactly once in its file. */
const EDITS = [
  {
    file: 'src/pagecache/segment.rs',
    find: 'threadpool::spawn(move || {\n            debug!("truncating file to length {}", at);',
    replace: 'spawn_truncation(move || {\n            debug!("truncating file to length {}", at);',
  },
  { file: 'src/pagecache/segment.rs', append: TRUNCATION },
  // A path dependency is linted like our own code (a registry crate's lints are capped):
  // sled's `deny` list fails on today's compiler, so its lints are allowed as for any
  // crate from the registry.
  { file: 'src/lib.rs', find: '#![deny(\n    missing_docs,', replace: '#![allow(\n    missing_docs,' },
  { file: 'src/lib.rs', find: '#![deny(\n    // over time', replace: '#![allow(\n    // over time' },
  { file: 'src/lib.rs', prepend: '#![allow(warnings)]\n' },
]

const here = dirname(fileURLToPath(import.meta.url))
const dest = join(here, `${NAME}-${VERSION}`)
const stampFile = join(dest, '.sled-node-patch')
const stamp = createHash('sha256').update(SHA256).update(JSON.stringify(EDITS)).digest('hex')

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')

function fail(message) {
  console.error(`crates/sled-patch/prepare.mjs: ${message}`)
  process.exit(1)
}

/** The .crate from cargo's download cache, if cargo has it. */
function cached() {
  const cache = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'registry', 'cache')
  if (!existsSync(cache)) return null
  for (const index of readdirSync(cache)) {
    const file = join(cache, index, `${NAME}-${VERSION}.crate`)
    if (existsSync(file)) return file
  }
  return null
}

/** Has cargo download the crate (with its own registry and network settings) into its cache. */
function download() {
  const project = mkdtempSync(join(tmpdir(), 'sled-patch-fetch-'))
  try {
    mkdirSync(join(project, 'src'))
    writeFileSync(join(project, 'src', 'lib.rs'), '')
    writeFileSync(
      join(project, 'Cargo.toml'),
      `[package]\nname = "fetch-sled"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n${NAME} = "=${VERSION}"\n\n[workspace]\n`,
    )
    const r = spawnSync('cargo', ['fetch', '--manifest-path', join(project, 'Cargo.toml')], { stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.error) fail(`cargo not runnable: ${r.error.message}`)
    if (r.status !== 0) fail(`cargo fetch of ${NAME} ${VERSION} failed`)
  } finally {
    rmSync(project, { recursive: true, force: true })
  }
  return cached() ?? fail(`cargo fetch did not leave ${NAME}-${VERSION}.crate in its cache`)
}

function edit(text, e) {
  if (e.append) return text + e.append
  if (e.prepend) return e.prepend + text
  const count = text.split(e.find).length - 1
  if (count !== 1) fail(`${e.file}: expected the text to edit once, found it ${count} times: ${JSON.stringify(e.find)}`)
  return text.replace(e.find, e.replace)
}

export function prepare() {
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return false
  const crate = cached() ?? download()
  const bytes = readFileSync(crate)
  const actual = sha256(bytes)
  if (actual !== SHA256) fail(`${crate} has sha256 ${actual}, not crates.io's ${SHA256}`)
  const work = mkdtempSync(join(here, '.unpack-'))
  try {
    // unpacked from a copy beside it, by relative names: GNU tar on Windows (Git's) reads
    // the `C:` of an absolute path as a remote host
    writeFileSync(join(work, 'sled.crate'), bytes)
    const r = spawnSync('tar', ['-xzf', 'sled.crate'], { cwd: work, stdio: 'inherit' })
    if (r.error || r.status !== 0) fail(`could not unpack ${crate} with tar`)
    const unpacked = join(work, `${NAME}-${VERSION}`)
    for (const e of EDITS) {
      const file = join(unpacked, e.file)
      writeFileSync(file, edit(readFileSync(file, 'utf8'), e))
    }
    writeFileSync(join(unpacked, '.sled-node-patch'), stamp)
    rmSync(dest, { recursive: true, force: true })
    try {
      renameSync(unpacked, dest)
    } catch (error) {
      // another run of this script put its copy in place first: the same edits are as good
      if (!(existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp)) throw error
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return true
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (prepare()) console.log(`prepared ${dest} (${NAME} ${VERSION} from crates.io, with sled-node's edits)`)
}
