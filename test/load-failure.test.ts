// A failure to load sled-node (no native binary; abstract-level missing for sled-node/level) is
// thrown to the caller of require() or import() and the process goes on, for every entry point,
// on Node 20 (this process's node in CI's main run), Node 22 and Node 24 (.ci/runtime.sh).
// Node 20 used to print the caught error again and exit 1 for import() (src/esm-gate.mts).
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { moduleHider } from './helpers/child.js'
import { tempDir } from './helpers/tmp.js'

const root = new URL('..', import.meta.url).pathname

function runtimes(): [string, string][] {
  const found = new Map<string, string>()
  for (const bin of [process.execPath, ...['node22', 'node24'].map((name) => execFileSync(join(root, '.ci/runtime.sh'), [name], { encoding: 'utf8' }).trim())]) {
    const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()
    found.set(version.split('.')[0]!, bin)
  }
  return [...found]
}

// a project with sled-node installed: node_modules/sled-node is this repository
const dir = tempDir()
mkdirSync(join(dir, 'node_modules'))
symlinkSync(root, join(dir, 'node_modules', 'sled-node'))
// makes abstract-level unresolvable in the child, as when the optional peer is not installed
const hideAbstractLevel = moduleHider(dir, 'abstract-level')

const entries = ['sled-node', 'sled-node/level', 'sled-node/keyv']

function child(bin: string, kind: 'require' | 'import', entry: string, env: NodeJS.ProcessEnv, preload: string[] = []) {
  const load = kind === 'require' ? `require(${JSON.stringify(entry)})` : `await import(${JSON.stringify(entry)})`
  // one attempt: on Node 20 a second import() used to hide the uncaught report of the first
  const code = `
try { ${load}; console.log('loaded') } catch (e) { console.log('caught ' + e.code) }
setTimeout(() => console.log('still running'), 50)`
  const file = join(dir, `load-${kind}-${Math.random().toString(36).slice(2)}.${kind === 'require' ? 'cjs' : 'mjs'}`)
  writeFileSync(file, code)
  return spawnSync(bin, [...preload, file], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8' })
}

/** Runs `body` as an ES module in the project, with `require` available beside `import`. */
function bothWays(bin: string, body: string) {
  const file = join(dir, `esm-${Math.random().toString(36).slice(2)}.mjs`)
  writeFileSync(file, `import { createRequire } from 'node:module'\nconst require = createRequire(import.meta.url)\n${body}`)
  return spawnSync(bin, [file], { cwd: dir, encoding: 'utf8' })
}

describe.each(runtimes())('Node %s', (_major, bin) => {
  for (const kind of ['require', 'import'] as const) {
    for (const entry of entries) {
      it(`${kind} ${entry} without a native binary: caught, and the process goes on`, () => {
        const result = child(bin, kind, entry, { NAPI_RS_NATIVE_LIBRARY_PATH: join(dir, 'missing.node') })
        expect(result.stdout).toBe('caught SLED_NO_BINARY\nstill running\n')
        expect(result.stderr).toBe('')
        expect(result.status).toBe(0)
      })
    }
    it(`${kind} sled-node/level without abstract-level: caught, and the process goes on`, () => {
      const result = child(bin, kind, 'sled-node/level', {}, ['-r', hideAbstractLevel])
      expect(result.stdout).toBe('caught MODULE_NOT_FOUND\nstill running\n')
      expect(result.stderr).toBe('')
      expect(result.status).toBe(0)
    })
  }

  it('import and require still share one copy of the facade when the binary loads', () => {
    const result = bothWays(
      bin,
      `const esm = await import('sled-node'); const cjs = require('sled-node')
const level = await import('sled-node/level'); const keyv = await import('sled-node/keyv')
console.log(esm.SledError === cjs.SledError, esm.open === cjs.open, typeof level.SledLevel, typeof keyv.KeyvSled)`,
    )
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe('true true function function\n')
  })

  it('each ESM entry exports exactly what its CommonJS entry does, the same objects, and no __esModule', () => {
    const result = bothWays(
      bin,
      `const out = {}
for (const id of ${JSON.stringify(entries)}) {
  const esm = await import(id)
  const cjs = require(id)
  out[id] = {
    esm: Object.keys(esm).sort(),
    cjs: Object.keys(cjs).sort(),
    different: Object.keys(esm).filter((k) => esm[k] !== cjs[k]),
  }
}
console.log(JSON.stringify(out))`,
    )
    expect(result.stderr).toBe('')
    const out = JSON.parse(result.stdout) as Record<string, { esm: string[]; cjs: string[]; different: string[] }>
    for (const [id, { esm, cjs, different }] of Object.entries(out)) {
      // the CommonJS build's marker is not enumerable; `export *` exported it anyway
      expect(esm, id).not.toContain('__esModule')
      expect(esm, id).toEqual(cjs)
      expect(different, id).toEqual([])
    }
    expect(out['sled-node']?.esm).toContain('open')
  })
})
