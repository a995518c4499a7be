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
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
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
  // A blob write that fails (say EFBIG) must still leave the IO buffer it reserved space in:
  // returned early, its writer count never dropped, the buffer was never written, and every
  // later flush (close, the exit flush) waited forever. The reservation is made and aborted.
  {
    file: 'src/pagecache/logger.rs',
    find: '            self.iobufs.encapsulate(\n                item,\n                message_header,\n                destination,\n                blob_id,\n            )?;\n\n            M.log_reservation_success();\n',
    replace: '            // edited by sled-node (crates/sled-patch): a failure aborts the reservation below\n            let encapsulated = self.iobufs.encapsulate(\n                item,\n                message_header,\n                destination,\n                blob_id,\n            );\n',
  },
  {
    file: 'src/pagecache/logger.rs',
    find: '            return Ok(Reservation {\n',
    replace: '            let reservation = Reservation {\n',
  },
  {
    file: 'src/pagecache/logger.rs',
    find: '                header_len: usize::try_from(message_header.serialized_size())\n                    .unwrap(),\n            });\n',
    replace: '                header_len: usize::try_from(message_header.serialized_size())\n                    .unwrap(),\n            };\n            if let Err(e) = encapsulated {\n                // marks the message canceled and leaves the buffer (also when removing\n                // the partial blob fails: the reservation is dropped unflushed then)\n                let _ = reservation.abort();\n                return Err(e);\n            }\n            M.log_reservation_success();\n            return Ok(reservation);\n',
  },
  // A path dependency is linted like our own code (a registry crate's lints are capped):
  // sled's `deny` list fails on today's compiler, so its lints are allowed as for any
  // crate from the registry.
  { file: 'src/lib.rs', find: '#![deny(\n    missing_docs,', replace: '#![allow(\n    missing_docs,' },
  { file: 'src/lib.rs', find: '#![deny(\n    // over time', replace: '#![allow(\n    // over time' },
  { file: 'src/lib.rs', prepend: '#![allow(warnings)]\n' },
]

const here = dirname(fileURLToPath(import.meta.url))
const dest = join(here, `${NAME}-${VERSION}`)
/** The stamp's name, in the copy: which crate and edits made it, and its files' digest. */
const STAMP = '.sled-node-patch'
const stampFile = join(dest, STAMP)
/** Held while a run makes the copy, so that two runs never replace each other's. */
const lockDir = join(here, '.lock')
/** Which crate and edits made the copy. */
const recipe = createHash('sha256').update(SHA256).update(JSON.stringify(EDITS)).digest('hex')

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')

/** A digest of every file of the copy but the stamp: names and contents. */
function digest(dir) {
  const hash = createHash('sha256')
  const walk = (at) => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(at, entry.name)
      if (at === dir && entry.name === STAMP) continue
      if (entry.isDirectory()) walk(path)
      else hash.update(relative(dir, path)).update('\0').update(readFileSync(path)).update('\0')
    }
  }
  walk(dir)
  return hash.digest('hex')
}

/**
 * Whether the copy is made by this recipe and unchanged since (a file deleted or edited by
 * hand, say the truncation put back on sled's pool, makes it stale). Hashing its ~1 MB
 * takes a few milliseconds.
 */
function current() {
  if (!existsSync(stampFile)) return false
  const [made, files] = readFileSync(stampFile, 'utf8').split('\n')
  return made === recipe && files === digest(dest)
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** Runs `fn` holding the lock; a lock older than 10 minutes was left by a run that died. */
function locked(fn) {
  for (;;) {
    try {
      mkdirSync(lockDir)
      break
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 600_000) rmSync(lockDir, { recursive: true, force: true })
      } catch {
        // removed meanwhile by its owner
      }
      sleep(100)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(lockDir, { recursive: true, force: true })
  }
}

/** Throws (not exits), so that the lock is let go of. */
function fail(message) {
  throw new Error(`crates/sled-patch/prepare.mjs: ${message}`)
}

/** The .crate from cargo's download cache, if cargo has one whose sha256 is crates.io's. */
function cached() {
  const cache = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'registry', 'cache')
  if (!existsSync(cache)) return null
  let bad = null
  for (const index of readdirSync(cache)) {
    const file = join(cache, index, `${NAME}-${VERSION}.crate`)
    if (!existsSync(file)) continue
    const bytes = readFileSync(file)
    if (sha256(bytes) === SHA256) return bytes
    bad = file
  }
  // cargo trusts its cache and would not download it again
  if (bad) fail(`${bad} is not the crate crates.io publishes (its sha256 differs): delete it and run this again`)
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

/** Makes the copy unless it is current; whether it did. */
export function prepare() {
  if (current()) return false
  return locked(() => {
    // another run may have made it while this one waited
    if (current()) return false
    const bytes = cached() ?? download()
    const work = mkdtempSync(join(here, '.unpack-'))
    try {
      // unpacked from a copy beside it, by relative names: GNU tar on Windows (Git's) reads
      // the `C:` of an absolute path as a remote host
      writeFileSync(join(work, 'sled.crate'), bytes)
      const r = spawnSync('tar', ['-xzf', 'sled.crate'], { cwd: work, stdio: 'inherit' })
      if (r.error || r.status !== 0) fail(`could not unpack ${NAME}-${VERSION}.crate with tar`)
      const unpacked = join(work, `${NAME}-${VERSION}`)
      for (const e of EDITS) {
        const file = join(unpacked, e.file)
        writeFileSync(file, edit(readFileSync(file, 'utf8'), e))
      }
      writeFileSync(join(unpacked, STAMP), `${recipe}\n${digest(unpacked)}`)
      rmSync(dest, { recursive: true, force: true })
      renameSync(unpacked, dest)
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
    return true
  })
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  try {
    if (prepare()) console.log(`prepared ${dest} (${NAME} ${VERSION} from crates.io, with sled-node's edits)`)
  } catch (error) {
    console.error(error.message)
    process.exitCode = 1
  }
}
