// How a block of operations is issued. A synchronous API is called in a plain loop (an
// `await` per call would time the microtask queue, not the store); a promise API runs
// `inFlight` lanes, each awaiting its own calls, so at most `inFlight` are pending.

/** Calls op(start + j) for j in 0..count, synchronously. */
export function syncBlock(op, start, count) {
  for (let j = 0; j < count; j++) op(start + j)
}

/** Calls op(start + j) for j in 0..count with at most `inFlight` pending promises. */
export async function asyncBlock(op, start, count, inFlight) {
  let next = 0
  const lane = async () => {
    while (next < count) await op(start + next++)
  }
  const lanes = []
  for (let l = 0; l < Math.min(inFlight, count); l++) lanes.push(lane())
  await Promise.all(lanes)
}

/** The block runner for a method: `inFlight` undefined means the method is synchronous. */
export function blockRunner(op, inFlight) {
  return inFlight === undefined
    ? (start, count) => syncBlock(op, start, count)
    : (start, count) => asyncBlock(op, start, count, inFlight)
}
