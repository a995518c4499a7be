// Loads a contender's adapter module and fills in the defaults of the one interface
// every adapter follows (see contenders/README.md).

import { adapterUrl } from './plan.mjs'

const DEFAULTS = {
  settings: '',
  durability: 'not stated', // what a write has reached when the call returns (or its promise resolves), in words
  block: 1000, // operations per tinybench iteration
  inFlight: {}, // method -> pending calls allowed; absent = synchronous method
  fillLimit: (workload, n) => n, // entries a fill workload inserts (slow IPC contenders insert fewer)
  unsupported: () => null, // workload -> reason it cannot run, or null
  probe: async () => null, // reason the contender cannot load, or null
}

export async function loadAdapter(id) {
  const mod = await import(adapterUrl(id))
  return { ...DEFAULTS, ...mod, id }
}

/** The `probe()` of a contender that needs only the package `name` to load; `hint` says how to fix it. */
export async function probeImport(name, hint = '') {
  try {
    await import(name)
    return null
  } catch (e) {
    return `cannot load ${name}${hint}: ${e.message}`
  }
}
