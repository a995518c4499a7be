// `npm test` tests what is built and builds nothing itself (build first: `npm run build`, or
// `npm run build:debug && npm run build:ts` while iterating). Without a build every file
// would fail on its own import; this says why once, before any of them runs.
import { existsSync, readdirSync } from 'node:fs'

export default function requireBuild(): void {
  const dist = new URL('../dist/', import.meta.url)
  const built = existsSync(new URL('index.js', dist)) && readdirSync(dist).some((f) => f.endsWith('.node'))
  if (!built) throw new Error('sled-node is not built: run `npm run build` (or `npm run build:debug && npm run build:ts`) before `npm test`')
}
