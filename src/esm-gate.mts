// Loads the CommonJS build before an ESM entry's static re-export of it does (src/esm.mts,
// src/adapters/level-esm.mts, src/adapters/keyv-esm.mts import this first). Node 20's ESM
// loader, when a CommonJS module that an ES module imports statically throws while it
// evaluates (no native binary; abstract-level missing for sled-node/level), rejects the
// caller's import() *and* reports the error once more as an uncaught exception, which ends
// the process although the caller caught it. require() throws an ordinary exception: thrown
// here, it fails this module before the entry's static import is evaluated, and the caller's
// try/catch is the end of it.
// On success the static import finds the module in require's cache: one copy, one evaluation.

import { createRequire } from 'node:module'

/** Requires `specifier` (relative to dist/src/) when it is there; bundles have no such file. */
export function preload(specifier: string): void {
  // an ESM bundle keeps import.meta.url (the bundle's own file), a CommonJS bundle has none
  const url: unknown = import.meta.url
  if (typeof url !== 'string') return
  const require = createRequire(url)
  // bundled, this file is the bundle: whatever '../../package.json' is, it is not sled-node's,
  // and the bundler has inlined the module, whose errors are ordinary throws
  let name: unknown
  try {
    name = (require('../../package.json') as { name?: unknown }).name
  } catch {
    return
  }
  if (name === 'sled-node') require(specifier)
}
