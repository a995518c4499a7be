// The ESM entry of sled-node/keyv: re-exports the CommonJS build, so `import` and
// `require` share one KeyvSled class and one copy of the facade. The gate loads it first
// (a catchable failure on Node 20: src/esm-gate.mts).
import './esm-load-keyv.mjs'
// named, not `export *` (which would also export the CommonJS build's `__esModule`)
export type * from './keyv.js'
export { KeyvSled } from './keyv.js'
