// Loads sled-node's CommonJS build for src/esm.mts (see src/esm-gate.mts).
import { preload } from './esm-gate.mjs'
preload('../index.js')
