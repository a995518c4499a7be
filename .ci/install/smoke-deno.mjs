// Deno resolves npm: specifiers from the project's node_modules (package.json present).
import * as sled from 'npm:sled-node'
import check from './check.cjs'

await check(sled, 'npm: specifier')
