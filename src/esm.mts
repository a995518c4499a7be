// The ESM entry: re-exports the CommonJS build so `import` and `require` share one
// copy of the facade (one SledError class per process).
export * from '../index.js'
