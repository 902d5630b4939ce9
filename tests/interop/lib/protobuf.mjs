// A minimal protobuf wire codec for tests that build or read messages by
// hand (to send what a well-behaved js-libp2p client never would, or to read
// a field js-libp2p does not expose).

// Unsigned varint as an array of bytes.
export function encodeVarint (n) {
  const out = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}

// Decodes a varint at buf[i]; returns [value, next index], or null when the
// buffer ends first.
export function readVarint (buf, i) {
  let v = 0; let s = 0
  for (;;) {
    if (i >= buf.length) return null
    const b = buf[i++]
    v += (b & 0x7f) * 2 ** s
    s += 7
    if (!(b & 0x80)) return [v, i]
  }
}

// Length-delimited and varint fields of a protobuf message, by field number.
export function protobufFields (buf) {
  const out = new Map()
  let i = 0
  while (i < buf.length) {
    let key;
    [key, i] = readVarint(buf, i)
    const field = Math.floor(key / 8)
    const wireType = key & 7
    let value
    if (wireType === 2) {
      let l;
      [l, i] = readVarint(buf, i)
      value = buf.subarray(i, i + l)
      i += l
    } else if (wireType === 0) {
      [value, i] = readVarint(buf, i)
    } else {
      throw new Error(`unexpected wire type ${wireType}`)
    }
    if (!out.has(field)) out.set(field, [])
    out.get(field).push(value)
  }
  return out
}

// Field encoders: bytes (wire type 2) and varint (wire type 0).
export function bytesField (num, bytes) { return [...encodeVarint((num << 3) | 2), ...encodeVarint(bytes.length), ...bytes] }
export function intField (num, v) { return [...encodeVarint(num << 3), ...encodeVarint(v)] }
// varint(length) || body, as every length-prefixed libp2p protocol frames messages.
export function lengthPrefixed (body) { return new Uint8Array([...encodeVarint(body.length), ...body]) }
