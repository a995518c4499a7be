// The ESM entry of sled-node/keyv: re-exports the CommonJS build, so `import` and
// `require` share one KeyvSled class and one copy of the facade.
export * from './keyv.js'
