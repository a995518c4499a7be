// The README's bundler recipe: a small ESM app and a small CommonJS app bundled with esbuild,
// the native binary copied next to each bundle and named through NAPI_RS_NATIVE_LIBRARY_PATH
// (set by the app before sled-node loads), then run with node from a directory that has no
// node_modules: nothing of sled-node is loaded but the bundle and the binary.
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build, type BuildOptions } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { tempDir } from './helpers/tmp.js'

const root = new URL('..', import.meta.url).pathname
const binary = readdirSync(join(root, 'dist')).find((f) => f.endsWith('.node'))!

// the project: sled-node installed (this repository)
const project = tempDir()
mkdirSync(join(project, 'node_modules'))
symlinkSync(root, join(project, 'node_modules', 'sled-node'))

const app = `const db = open(process.argv[2], { keyEncoding: 'ordered', valueEncoding: 'json' })
db.insert(['user', 10], 'a'); db.insert(['user', 2], 'b')
console.log(JSON.stringify(db.iter().toArray()))
db.close()
`
writeFileSync(
  join(project, 'binary.mjs'),
  `// first import of the app: runs before sled-node loads; in the bundle, import.meta.url is the bundle's
import { fileURLToPath } from 'node:url'
process.env.NAPI_RS_NATIVE_LIBRARY_PATH ??= fileURLToPath(new URL('./${binary}', import.meta.url))
`,
)
writeFileSync(join(project, 'app.mjs'), `import './binary.mjs'\nimport { open } from 'sled-node'\n${app}`)
writeFileSync(
  join(project, 'app.cjs'),
  `process.env.NAPI_RS_NATIVE_LIBRARY_PATH ??= require('node:path').join(__dirname, '${binary}')
const { open } = require('sled-node')
${app}`,
)

// the README's options
const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['*.node', 'sled-node-*', '@node-rs/crc32', 'msgpackr'],
  absWorkingDir: project,
  logLevel: 'silent',
}

const expected = `${JSON.stringify([
  [['user', 2], 'b'],
  [['user', 10], 'a'],
])}\n`

function runBundle(bundle: string, env: NodeJS.ProcessEnv = {}) {
  // a directory of its own: no node_modules above it but the temp dir's
  const out = tempDir()
  copyFileSync(join(project, 'out', bundle), join(out, bundle))
  copyFileSync(join(root, 'dist', binary), join(out, binary))
  return spawnSync(process.execPath, [join(out, bundle), join(out, 'db')], { cwd: out, encoding: 'utf8', env: { ...process.env, ...env } })
}

describe('bundled with esbuild', () => {
  it('an ESM app runs with the binary next to the bundle', async () => {
    await build({
      ...common,
      entryPoints: ['app.mjs'],
      outfile: 'out/app.mjs',
      format: 'esm',
      // bundled CommonJS code (sled-node's) calls require() for Node's built-ins
      banner: { js: "import { createRequire as topLevelCreateRequire } from 'node:module'; const require = topLevelCreateRequire(import.meta.url);" },
    })
    const result = runBundle('app.mjs', { NAPI_RS_NATIVE_LIBRARY_PATH: undefined })
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe(expected)
  })

  it('a CommonJS app runs with the binary next to the bundle', async () => {
    await build({ ...common, entryPoints: ['app.cjs'], outfile: 'out/app.cjs', format: 'cjs' })
    const result = runBundle('app.cjs', { NAPI_RS_NATIVE_LIBRARY_PATH: undefined })
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe(expected)
  })

  it('without the binary, the bundle fails with SLED_NO_BINARY', async () => {
    await build({ ...common, entryPoints: ['app.cjs'], outfile: 'out/app.cjs', format: 'cjs' })
    const result = runBundle('app.cjs', { NAPI_RS_NATIVE_LIBRARY_PATH: join(project, 'missing.node') })
    expect(result.status).not.toBe(0)
    expect(result.stderr).toContain('SLED_NO_BINARY')
  })
})
