// The framing the Rust IPC contenders share (crates/sled-http/src/wire.rs): each byte
// string is a u32 little-endian length and the bytes; length 0xFFFFFFFF means "missing".

const MISSING = 0xffffffff

export function frame(parts) {
  let size = 0
  for (const p of parts) size += 4 + p.length
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (const p of parts) {
    out.writeUInt32LE(p.length, at)
    out.set(p, at + 4)
    at += 4 + p.length
  }
  return out
}

export function unframe(buf) {
  const out = []
  for (let at = 0; at < buf.length; ) {
    const len = buf.readUInt32LE(at)
    if (len === MISSING) {
      out.push(undefined)
      at += 4
    } else {
      out.push(buf.subarray(at + 4, at + 4 + len))
      at += 4 + len
    }
  }
  return out
}
