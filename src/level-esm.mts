// The ESM entry of sled-node/level: re-exports the CommonJS build, so `import` and
// `require` share one SledLevel class and one copy of the facade.
export * from './level.js'
