// A msgpack reader over a buffer in linear memory, and a msgpack writer into
// a growable buffer the SDK keeps for the module's lifetime.
//
// Only what the ABI needs: the reader validates every length against the end
// of the buffer while it walks (`skip`), so values it has walked over can then
// be decoded in place, by position, without further checks; the writer emits
// the shortest encodings. Format: https://github.com/msgpack/msgpack/blob/master/spec.md

import { utf8Length, utf8Write } from "./utf8";

/** The type of a msgpack value. `Nil` also stands for a missing field. */
export enum Kind {
  Nil = 0,
  Bool = 1,
  Int = 2,
  Float = 3,
  Str = 4,
  Bin = 5,
  Array = 6,
  Map = 7,
  Ext = 8,
  Invalid = 9,
}

// @ts-ignore: decorator
@inline function be16(p: usize): u32 {
  return <u32>bswap<u16>(load<u16>(p));
}

// @ts-ignore: decorator
@inline function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

// @ts-ignore: decorator
@inline function be64(p: usize): u64 {
  return bswap<u64>(load<u64>(p));
}

/** Type of the value whose first byte is at `p`. */
export function kindAt(p: usize): Kind {
  const t = <u32>load<u8>(p);
  if (t <= 0x7f || t >= 0xe0) return Kind.Int; // positive / negative fixint
  if (t <= 0x8f) return Kind.Map;
  if (t <= 0x9f) return Kind.Array;
  if (t <= 0xbf) return Kind.Str;
  switch (t) {
    case 0xc0: return Kind.Nil;
    case 0xc2: case 0xc3: return Kind.Bool;
    case 0xc4: case 0xc5: case 0xc6: return Kind.Bin;
    case 0xc7: case 0xc8: case 0xc9: return Kind.Ext;
    case 0xca: case 0xcb: return Kind.Float;
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: return Kind.Int;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return Kind.Ext;
    case 0xd9: case 0xda: case 0xdb: return Kind.Str;
    case 0xdc: case 0xdd: return Kind.Array;
    case 0xde: case 0xdf: return Kind.Map;
  }
  return Kind.Invalid; // 0xc1 is never used
}

// The decoders below take the position of a value the Reader has already
// walked over (so its bytes are known to be inside the buffer) and of the
// kind they decode; callers check `kindAt` first.

/** A boolean value. */
export function boolAt(p: usize): bool {
  return load<u8>(p) == 0xc3;
}

/** An integer value; uint64 above i64.MAX_VALUE wraps around. */
export function intAt(p: usize): i64 {
  const t = <u32>load<u8>(p);
  if (t <= 0x7f) return <i64>t;
  if (t >= 0xe0) return <i64>(<i8>t);
  switch (t) {
    case 0xcc: return <i64>load<u8>(p + 1);
    case 0xcd: return <i64>be16(p + 1);
    case 0xce: return <i64>be32(p + 1);
    case 0xcf: return <i64>be64(p + 1);
    case 0xd0: return <i64>load<i8>(p + 1);
    case 0xd1: return <i64>(<i16>be16(p + 1));
    case 0xd2: return <i64>(<i32>be32(p + 1));
    case 0xd3: return <i64>be64(p + 1);
  }
  return 0;
}

/** A float value (float32 or float64). */
export function floatAt(p: usize): f64 {
  if (load<u8>(p) == 0xca) return <f64>reinterpret<f32>(be32(p + 1));
  return reinterpret<f64>(be64(p + 1));
}

/** Byte length of a str or bin value. */
export function strLenAt(p: usize): i32 {
  const t = <u32>load<u8>(p);
  if (t >= 0xa0 && t <= 0xbf) return <i32>(t & 0x1f);
  switch (t) {
    case 0xd9: case 0xc4: return <i32>load<u8>(p + 1);
    case 0xda: case 0xc5: return <i32>be16(p + 1);
    case 0xdb: case 0xc6: return <i32>be32(p + 1);
  }
  return 0;
}

/** Address of the bytes of a str or bin value. */
export function strDataAt(p: usize): usize {
  const t = <u32>load<u8>(p);
  if (t >= 0xa0 && t <= 0xbf) return p + 1;
  switch (t) {
    case 0xd9: case 0xc4: return p + 2;
    case 0xda: case 0xc5: return p + 3;
  }
  return p + 5;
}

/**
 * Sequential reader over `[ptr, ptr + len)`. Malformed or truncated input
 * sets the sticky `err` flag and every further read returns a neutral value:
 * it never reads outside the buffer.
 */
// @ts-ignore: decorator
@unmanaged
export class Reader {
  pos: usize = 0;
  end: usize = 0;
  err: bool = false;

  reset(ptr: usize, len: usize): void {
    this.pos = ptr;
    this.end = ptr + len;
    this.err = ptr + len < ptr; // wrap-around
  }

  /** Whether `n` more bytes are available; sets `err` if not. */
  @inline private need(n: u64): bool {
    if (this.err || <u64>(this.end - this.pos) < n) {
      this.err = true;
      return false;
    }
    return true;
  }

  /** Set by `strSpan()`: the bytes of the string it stepped over. */
  spanPtr: usize = 0;
  spanLen: i32 = 0;

  /**
   * If the next value is a string, steps over it and returns true, with its
   * bytes in `spanPtr`/`spanLen`. Otherwise consumes nothing and returns
   * false (with `err` set if the input is truncated). The fast path for map
   * keys.
   */
  strSpan(): bool {
    if (!this.need(1)) return false;
    const p = this.pos;
    const t = <u32>load<u8>(p);
    let hdr: usize = 1;
    let n: u64 = 0;
    if (t >= 0xa0 && t <= 0xbf) {
      n = <u64>(t & 0x1f);
    } else if (t == 0xd9) {
      if (!this.need(2)) return false;
      hdr = 2;
      n = <u64>load<u8>(p + 1);
    } else if (t == 0xda) {
      if (!this.need(3)) return false;
      hdr = 3;
      n = <u64>be16(p + 1);
    } else if (t == 0xdb) {
      if (!this.need(5)) return false;
      hdr = 5;
      n = <u64>be32(p + 1);
    } else {
      return false;
    }
    if (!this.need(<u64>hdr + n)) return false;
    this.spanPtr = p + hdr;
    this.spanLen = <i32>n;
    this.pos = p + hdr + <usize>n;
    return true;
  }

  /** Kind of the next value, without consuming it (Invalid at the end). */
  peekKind(): Kind {
    if (this.err || this.pos >= this.end) return Kind.Invalid;
    return kindAt(this.pos);
  }

  /**
   * Checks a container's claimed element count against the bytes left (each
   * value takes at least one byte), so callers can size tables by it.
   */
  private fits(n: u32, bytesPer: u64): i32 {
    if (<u64>n * bytesPer > <u64>(this.end - this.pos)) {
      this.err = true;
      return -1;
    }
    return <i32>n;
  }

  /** Reads an array header; returns its length, or -1 (and sets err). */
  arrayHeader(): i32 {
    if (!this.need(1)) return -1;
    const p = this.pos;
    const t = <u32>load<u8>(p);
    if (t >= 0x90 && t <= 0x9f) {
      this.pos = p + 1;
      return this.fits(t & 0x0f, 1);
    }
    if (t == 0xdc && this.need(3)) {
      this.pos = p + 3;
      return this.fits(be16(p + 1), 1);
    }
    if (t == 0xdd && this.need(5)) {
      this.pos = p + 5;
      return this.fits(be32(p + 1), 1);
    }
    this.err = true;
    return -1;
  }

  /** Reads a map header; returns its number of pairs, or -1 (and sets err). */
  mapHeader(): i32 {
    if (!this.need(1)) return -1;
    const p = this.pos;
    const t = <u32>load<u8>(p);
    if (t >= 0x80 && t <= 0x8f) {
      this.pos = p + 1;
      return this.fits(t & 0x0f, 2);
    }
    if (t == 0xde && this.need(3)) {
      this.pos = p + 3;
      return this.fits(be16(p + 1), 2);
    }
    if (t == 0xdf && this.need(5)) {
      this.pos = p + 5;
      return this.fits(be32(p + 1), 2);
    }
    this.err = true;
    return -1;
  }

  /**
   * Steps over one complete value, however deeply nested, checking every
   * length against the end of the buffer. Iterative (a count of values still
   * to step over), so hostile nesting cannot overflow the stack.
   */
  skip(): void {
    let pending: i64 = 1;
    while (pending > 0) {
      if (!this.need(1)) return;
      pending--;
      const p = this.pos;
      const t = <u32>load<u8>(p);
      // Bytes of this value's own encoding (not its children); u64 so that a
      // 32-bit length plus its header cannot wrap around.
      let size: u64 = 1;
      if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
        size = 1;
      } else if (t <= 0x8f) {
        pending += <i64>(t & 0x0f) * 2;
      } else if (t <= 0x9f) {
        pending += <i64>(t & 0x0f);
      } else if (t <= 0xbf) {
        size = 1 + <u64>(t & 0x1f);
      } else {
        switch (t) {
          case 0xcc: case 0xd0: size = 2; break;
          case 0xcd: case 0xd1: size = 3; break;
          case 0xce: case 0xd2: case 0xca: size = 5; break;
          case 0xcf: case 0xd3: case 0xcb: size = 9; break;
          case 0xd4: size = 3; break;  // fixext 1: type + 1
          case 0xd5: size = 4; break;  // fixext 2
          case 0xd6: size = 6; break;  // fixext 4
          case 0xd7: size = 10; break; // fixext 8
          case 0xd8: size = 18; break; // fixext 16
          case 0xc4: case 0xd9: {
            if (!this.need(2)) return;
            size = 2 + <u64>load<u8>(p + 1);
            break;
          }
          case 0xc5: case 0xda: {
            if (!this.need(3)) return;
            size = 3 + <u64>be16(p + 1);
            break;
          }
          case 0xc6: case 0xdb: {
            if (!this.need(5)) return;
            size = 5 + <u64>be32(p + 1);
            break;
          }
          case 0xc7: {
            if (!this.need(2)) return;
            size = 3 + <u64>load<u8>(p + 1);
            break;
          }
          case 0xc8: {
            if (!this.need(3)) return;
            size = 4 + <u64>be16(p + 1);
            break;
          }
          case 0xc9: {
            if (!this.need(5)) return;
            size = 6 + <u64>be32(p + 1);
            break;
          }
          case 0xdc: {
            if (!this.need(3)) return;
            size = 3;
            pending += <i64>be16(p + 1);
            break;
          }
          case 0xdd: {
            if (!this.need(5)) return;
            size = 5;
            pending += <i64>be32(p + 1);
            break;
          }
          case 0xde: {
            if (!this.need(3)) return;
            size = 3;
            pending += <i64>be16(p + 1) * 2;
            break;
          }
          case 0xdf: {
            if (!this.need(5)) return;
            size = 5;
            pending += <i64>be32(p + 1) * 2;
            break;
          }
          default: { // 0xc1: never used
            this.err = true;
            return;
          }
        }
      }
      // A container's element count can claim more values than the buffer
      // could possibly hold (each takes at least one byte): reject early
      // rather than loop on a bogus count.
      if (!this.need(size)) return;
      this.pos = p + <usize>size;
      if (<u64>pending > <u64>(this.end - this.pos)) {
        this.err = true;
        return;
      }
    }
  }
}

/**
 * msgpack writer into a buffer from `heap.alloc`, outside the garbage
 * collector's reach. The buffer only ever grows (doubling) and is reused by
 * `reset()`, so steady-state encoding allocates nothing.
 */
// @ts-ignore: decorator
@unmanaged
export class Writer {
  buf: usize = 0;
  cap: usize = 0;
  len: usize = 0;

  reset(): void {
    this.len = 0;
  }

  /** Ensures room for `n` more bytes; returns the address to write them at. */
  reserve(n: usize): usize {
    const want = this.len + n;
    if (want > this.cap) {
      let cap = this.cap < 256 ? <usize>256 : this.cap;
      while (cap < want) cap <<= 1;
      this.buf = this.buf == 0 ? heap.alloc(cap) : heap.realloc(this.buf, cap);
      this.cap = cap;
    }
    return this.buf + this.len;
  }

  /** Appends `n` raw bytes from `src`. */
  bytes(src: usize, n: usize): void {
    const d = this.reserve(n);
    memory.copy(d, src, n);
    this.len += n;
  }

  @inline private u8(v: u32): void {
    const d = this.reserve(1);
    store<u8>(d, v);
    this.len += 1;
  }

  @inline private tag16(t: u32, v: u32): void {
    const d = this.reserve(3);
    store<u8>(d, t);
    store<u16>(d + 1, bswap<u16>(<u16>v));
    this.len += 3;
  }

  @inline private tag32(t: u32, v: u32): void {
    const d = this.reserve(5);
    store<u8>(d, t);
    store<u32>(d + 1, bswap<u32>(v));
    this.len += 5;
  }

  @inline private tag64(t: u32, v: u64): void {
    const d = this.reserve(9);
    store<u8>(d, t);
    store<u64>(d + 1, bswap<u64>(v));
    this.len += 9;
  }

  nil(): void {
    this.u8(0xc0);
  }

  bool(v: bool): void {
    this.u8(v ? 0xc3 : 0xc2);
  }

  int(v: i64): void {
    if (v >= 0) {
      if (v <= 0x7f) this.u8(<u32>v);
      else if (v <= 0xff) { this.u8(0xcc); this.u8(<u32>v); }
      else if (v <= 0xffff) this.tag16(0xcd, <u32>v);
      else if (v <= 0xffffffff) this.tag32(0xce, <u32>v);
      else this.tag64(0xcf, <u64>v);
    } else {
      if (v >= -32) this.u8(<u32>(<i32>v) & 0xff);
      else if (v >= -128) { this.u8(0xd0); this.u8(<u32>(<i32>v) & 0xff); }
      else if (v >= -32768) this.tag16(0xd1, <u32>(<i32>v) & 0xffff);
      else if (v >= -2147483648) this.tag32(0xd2, <u32>(<i32>v));
      else this.tag64(0xd3, <u64>v);
    }
  }

  float(v: f64): void {
    this.tag64(0xcb, reinterpret<u64>(v));
  }

  /** A string, encoded from UTF-16 straight into the buffer. */
  str(s: string): void {
    const n = utf8Length(s);
    this.strHeader(<u32>n);
    const d = this.reserve(<usize>n);
    utf8Write(s, d);
    this.len += <usize>n;
  }

  /** A string given as `n` UTF-8 bytes at `src` (copied as they are). */
  strBytes(src: usize, n: i32): void {
    this.strHeader(<u32>n);
    this.bytes(src, <usize>n);
  }

  strHeader(n: u32): void {
    if (n <= 31) this.u8(0xa0 | n);
    else if (n <= 0xff) { this.u8(0xd9); this.u8(n); }
    else if (n <= 0xffff) this.tag16(0xda, n);
    else this.tag32(0xdb, n);
  }

  arrayHeader(n: u32): void {
    if (n <= 15) this.u8(0x90 | n);
    else if (n <= 0xffff) this.tag16(0xdc, n);
    else this.tag32(0xdd, n);
  }

  mapHeader(n: u32): void {
    if (n <= 15) this.u8(0x80 | n);
    else if (n <= 0xffff) this.tag16(0xde, n);
    else this.tag32(0xdf, n);
  }

  /** The ABI's return value for this buffer: `(ptr << 32) | len`. */
  packed(): i64 {
    // An empty buffer still needs a valid (non-null) address.
    if (this.buf == 0) this.reserve(1);
    return (<i64>this.buf << 32) | <i64>this.len;
  }
}
