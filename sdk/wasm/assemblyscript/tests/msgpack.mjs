// A small, independent msgpack codec for the SDK tests (JavaScript side).
// `encode(v, {wide: true})` uses the longest encodings (int64, float32 where
// exact, str32, array32, map32) to check that the SDK's reader accepts every
// form, not only the shortest one. Values: null, booleans, numbers
// (safe integers go out as ints), BigInt, strings, Uint8Array (bin), arrays,
// plain objects (maps), and `new Ext(type, bytes)`.

export class Ext {
  constructor(type, data) {
    this.type = type;
    this.data = data;
  }
}

const te = new TextEncoder();
const td = new TextDecoder("utf-8", { fatal: true });

export function encode(value, opts = {}) {
  const out = [];
  const wide = !!opts.wide;
  const u8 = (b) => out.push(b & 0xff);
  const be = (v, n) => {
    for (let i = n - 1; i >= 0; i--) u8(Number((BigInt(v) >> BigInt(8 * i)) & 0xffn));
  };
  const bytes = (b) => { for (const x of b) out.push(x); };
  const f64 = (v) => {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, v);
    bytes(new Uint8Array(dv.buffer));
  };
  function enc(v) {
    if (v === null || v === undefined) return u8(0xc0);
    if (v === true) return u8(0xc3);
    if (v === false) return u8(0xc2);
    if (typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v) && !Object.is(v, -0))) {
      const b = BigInt(v);
      if (wide) { u8(b < 0n ? 0xd3 : 0xcf); return be(BigInt.asUintN(64, b), 8); }
      if (b >= 0n) {
        if (b < 128n) return u8(Number(b));
        if (b < 256n) { u8(0xcc); return be(b, 1); }
        if (b < 65536n) { u8(0xcd); return be(b, 2); }
        if (b < 4294967296n) { u8(0xce); return be(b, 4); }
        u8(0xcf); return be(b, 8);
      }
      if (b >= -32n) return u8(Number(BigInt.asUintN(8, b)));
      if (b >= -128n) { u8(0xd0); return be(BigInt.asUintN(8, b), 1); }
      if (b >= -32768n) { u8(0xd1); return be(BigInt.asUintN(16, b), 2); }
      if (b >= -2147483648n) { u8(0xd2); return be(BigInt.asUintN(32, b), 4); }
      u8(0xd3); return be(BigInt.asUintN(64, b), 8);
    }
    if (typeof v === "number") {
      if (wide && Math.fround(v) === v) {
        const dv = new DataView(new ArrayBuffer(4));
        dv.setFloat32(0, v);
        u8(0xca); return bytes(new Uint8Array(dv.buffer));
      }
      u8(0xcb); return f64(v);
    }
    if (typeof v === "string") {
      const b = te.encode(v);
      if (wide) { u8(0xdb); be(b.length, 4); }
      else if (b.length < 32) u8(0xa0 | b.length);
      else if (b.length < 256) { u8(0xd9); be(b.length, 1); }
      else if (b.length < 65536) { u8(0xda); be(b.length, 2); }
      else { u8(0xdb); be(b.length, 4); }
      return bytes(b);
    }
    if (v instanceof Uint8Array) {
      if (wide || v.length >= 65536) { u8(0xc6); be(v.length, 4); }
      else if (v.length < 256) { u8(0xc4); be(v.length, 1); }
      else { u8(0xc5); be(v.length, 2); }
      return bytes(v);
    }
    if (v instanceof Ext) {
      const n = v.data.length;
      const fixed = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 }[n];
      if (fixed && !wide) u8(fixed);
      else if (n < 256 && !wide) { u8(0xc7); be(n, 1); }
      else { u8(0xc9); be(n, 4); }
      u8(v.type);
      return bytes(v.data);
    }
    if (Array.isArray(v)) {
      if (wide) { u8(0xdd); be(v.length, 4); }
      else if (v.length < 16) u8(0x90 | v.length);
      else if (v.length < 65536) { u8(0xdc); be(v.length, 2); }
      else { u8(0xdd); be(v.length, 4); }
      return v.forEach(enc);
    }
    if (typeof v === "object") {
      const keys = Object.keys(v);
      if (wide) { u8(0xdf); be(keys.length, 4); }
      else if (keys.length < 16) u8(0x80 | keys.length);
      else if (keys.length < 65536) { u8(0xde); be(keys.length, 2); }
      else { u8(0xdf); be(keys.length, 4); }
      for (const k of keys) { enc(k); enc(v[k]); }
      return;
    }
    throw new TypeError("cannot encode " + typeof v);
  }
  enc(value);
  return Uint8Array.from(out);
}

/**
 * Decodes one value and checks that it spans the whole buffer. Integers
 * come back as numbers when safe, else BigInt.
 */
export function decode(buf) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const need = (n) => { if (p + n > buf.length) throw new RangeError("truncated msgpack"); };
  const int = (b) => (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
  const str = (n) => { need(n); const s = td.decode(buf.subarray(p, p + n)); p += n; return s; };
  const arr = (n) => { const a = []; for (let i = 0; i < n; i++) a.push(dec()); return a; };
  const map = (n) => {
    const m = {};
    for (let i = 0; i < n; i++) { const k = dec(); m[k] = dec(); }
    return m;
  };
  function dec() {
    need(1);
    const t = buf[p++];
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 256;
    if (t <= 0x8f) return map(t & 0x0f);
    if (t <= 0x9f) return arr(t & 0x0f);
    if (t <= 0xbf) return str(t & 0x1f);
    const rd = (n, f) => { need(n); const v = f(p); p += n; return v; };
    switch (t) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xca: return rd(4, (q) => dv.getFloat32(q));
      case 0xcb: return rd(8, (q) => dv.getFloat64(q));
      case 0xcc: return rd(1, (q) => dv.getUint8(q));
      case 0xcd: return rd(2, (q) => dv.getUint16(q));
      case 0xce: return rd(4, (q) => dv.getUint32(q));
      case 0xcf: return int(rd(8, (q) => dv.getBigUint64(q)));
      case 0xd0: return rd(1, (q) => dv.getInt8(q));
      case 0xd1: return rd(2, (q) => dv.getInt16(q));
      case 0xd2: return rd(4, (q) => dv.getInt32(q));
      case 0xd3: return int(rd(8, (q) => dv.getBigInt64(q)));
      case 0xd9: return str(rd(1, (q) => dv.getUint8(q)));
      case 0xda: return str(rd(2, (q) => dv.getUint16(q)));
      case 0xdb: return str(rd(4, (q) => dv.getUint32(q)));
      case 0xdc: return arr(rd(2, (q) => dv.getUint16(q)));
      case 0xdd: return arr(rd(4, (q) => dv.getUint32(q)));
      case 0xde: return map(rd(2, (q) => dv.getUint16(q)));
      case 0xdf: return map(rd(4, (q) => dv.getUint32(q)));
    }
    throw new RangeError("unexpected msgpack type 0x" + t.toString(16));
  }
  const v = dec();
  if (p !== buf.length) throw new RangeError(`trailing bytes: ${buf.length - p}`);
  return v;
}
