// Loads sled-node/keyv's CommonJS build for src/adapters/keyv-esm.mts (see src/esm-gate.mts).
import { preload } from '../esm-gate.mjs'
preload('./adapters/keyv.js')
