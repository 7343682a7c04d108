// UTF-16 (AssemblyScript strings) <-> UTF-8 (msgpack, kestrel.log) without
// allocating: the SDK compares field names and writes strings straight from
// the string's own storage, so looking up a field or emitting a result costs
// no garbage.
//
// A lone surrogate (invalid UTF-16) is written as U+FFFD, in all functions
// alike, so utf8Length() always equals what utf8Write() writes.

// @ts-ignore: decorator
@inline const REPLACEMENT_LEN: i32 = 3;

/** Byte length of `s` encoded as UTF-8. */
export function utf8Length(s: string): i32 {
  const p = changetype<usize>(s);
  const n = s.length;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u16>(p + (<usize>i << 1));
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && isLowSurrogate(load<u16>(p + (<usize>(i + 1) << 1)))) {
      bytes += 4;
      i++;
    } else bytes += REPLACEMENT_LEN; // BMP character or lone surrogate (U+FFFD)
  }
  return bytes;
}

/**
 * Writes `s` as UTF-8 at `dst`, at most `max` bytes (a character that does
 * not fit whole is left out). Returns the number of bytes written.
 */
export function utf8Write(s: string, dst: usize, max: i32 = i32.MAX_VALUE): i32 {
  const p = changetype<usize>(s);
  const n = s.length;
  let o = 0;
  for (let i = 0; i < n; i++) {
    let c = <u32>load<u16>(p + (<usize>i << 1));
    if (c < 0x80) {
      if (o + 1 > max) break;
      store<u8>(dst + o, c);
      o += 1;
    } else if (c < 0x800) {
      if (o + 2 > max) break;
      store<u8>(dst + o, 0xc0 | (c >> 6));
      store<u8>(dst + o + 1, 0x80 | (c & 0x3f));
      o += 2;
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const lo = <u32>load<u16>(p + (<usize>(i + 1) << 1));
        if (isLowSurrogate(lo)) {
          if (o + 4 > max) break;
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          store<u8>(dst + o, 0xf0 | (c >> 18));
          store<u8>(dst + o + 1, 0x80 | ((c >> 12) & 0x3f));
          store<u8>(dst + o + 2, 0x80 | ((c >> 6) & 0x3f));
          store<u8>(dst + o + 3, 0x80 | (c & 0x3f));
          o += 4;
          i++;
          continue;
        }
      }
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // lone surrogate
      if (o + 3 > max) break;
      store<u8>(dst + o, 0xe0 | (c >> 12));
      store<u8>(dst + o + 1, 0x80 | ((c >> 6) & 0x3f));
      store<u8>(dst + o + 2, 0x80 | (c & 0x3f));
      o += 3;
    }
  }
  return o;
}

/** Whether the `len` UTF-8 bytes at `ptr` spell exactly `s`. */
export function utf8Equals(ptr: usize, len: i32, s: string): bool {
  const p = changetype<usize>(s);
  const n = s.length;
  // Fast path, the usual case: ASCII field names compared byte by code unit.
  // Falls back to the general comparison at the first non-ASCII unit.
  let i = 0;
  let o = 0;
  while (i < n && o < len) {
    const c = <u32>load<u16>(p + (<usize>i << 1));
    if (c >= 0x80) break;
    if (<u32>load<u8>(ptr + o) != c) return false;
    i++;
    o++;
  }
  if (i == n) return o == len;
  if (o == len) return false;
  // General case: encode the rest of `s` one character at a time into a
  // 4-byte scratch word and compare.
  for (; i < n; i++) {
    let c = <u32>load<u16>(p + (<usize>i << 1));
    let enc: u32 = 0; // bytes in encoding order, lowest byte first
    let k = 0;
    if (c < 0x80) {
      enc = c;
      k = 1;
    } else if (c < 0x800) {
      enc = (0xc0 | (c >> 6)) | ((0x80 | (c & 0x3f)) << 8);
      k = 2;
    } else {
      let four = false;
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const lo = <u32>load<u16>(p + (<usize>(i + 1) << 1));
        if (isLowSurrogate(lo)) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          enc = (0xf0 | (c >> 18)) | ((0x80 | ((c >> 12) & 0x3f)) << 8) |
                ((0x80 | ((c >> 6) & 0x3f)) << 16) | ((0x80 | (c & 0x3f)) << 24);
          k = 4;
          i++;
          four = true;
        }
      }
      if (!four) {
        if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
        enc = (0xe0 | (c >> 12)) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
        k = 3;
      }
    }
    if (o + k > len) return false;
    for (let j = 0; j < k; j++) {
      if (<u32>load<u8>(ptr + o + j) != ((enc >> (<u32>j << 3)) & 0xff)) return false;
    }
    o += k;
  }
  return o == len;
}

/** Decodes `len` UTF-8 bytes at `ptr` into a new string. */
export function utf8Decode(ptr: usize, len: i32): string {
  // The standard decoder never reads past `len` and never writes past the
  // string it allocates, whatever the bytes; invalid sequences come out as
  // odd characters rather than a trap.
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

// @ts-ignore: decorator
@inline function isLowSurrogate(c: u32): bool {
  return c >= 0xdc00 && c < 0xe000;
}
