// The length of a key or value view as V8 knows it. A Uint8Array subclass (or an own
// property) can make `.length` and `.byteLength` say anything; the facade tells the
// native side how many bytes to read from where it copied them, so a lying length would
// make it store bytes from outside the view (the previous call's data, or uninitialised
// memory). TypedArray.prototype's own getter cannot be overridden per object; it costs
// ~5 ns more than `.length` (measured on Node 20).
const getter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, 'byteLength')?.get as (this: Uint8Array) => number

/** The number of bytes `view` covers, whatever its `length` property says. */
export function byteLength(view: Uint8Array): number {
  return getter.call(view)
}
