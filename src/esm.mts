// The ESM entry: re-exports the CommonJS build so `import` and `require` share one
// copy of the facade (one SledError class per process). The gate loads it first, so that a
// failure to load is an ordinary, catchable rejection on every Node (src/esm-gate.mts).
import './esm-load-index.mjs'
export * from '../index.js'
