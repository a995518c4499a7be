// Loads sled-node/keyv's CommonJS build for src/keyv-esm.mts (see src/esm-gate.mts).
import { preload } from './esm-gate.mjs'
preload('./keyv.js')
