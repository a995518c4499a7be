// Loads sled-node/level's CommonJS build for src/adapters/level-esm.mts (see src/esm-gate.mts).
import { preload } from '../esm-gate.mjs'
preload('./adapters/level.js')
