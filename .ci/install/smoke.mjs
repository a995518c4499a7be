import { createRequire } from 'node:module'
import * as sled from 'sled-node'
import check from './check.cjs'

// import and require must reach one copy of the facade: one SledError class per process
if (createRequire(import.meta.url)('sled-node').SledError !== sled.SledError) {
  throw new Error('import and require loaded two copies of sled-node')
}
await check(sled, 'import')
