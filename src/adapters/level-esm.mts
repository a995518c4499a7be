// The ESM entry of sled-node/level: re-exports the CommonJS build, so `import` and
// `require` share one SledLevel class and one copy of the facade. The gate loads it first
// (a catchable failure on Node 20: src/esm-gate.mts).
import './esm-load-level.mjs'
// named, not `export *` (which would also export the CommonJS build's `__esModule`)
export type * from './level.js'
export { SledLevel } from './level.js'
