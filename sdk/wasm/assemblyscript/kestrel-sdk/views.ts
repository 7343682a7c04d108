// Read-only views over msgpack data in the input buffer: an event (a flat map
// keyed by dotted ECS names), the config map handed to kestrel_init, and the
// argument array of one EQL function call.
//
// A view is re-pointed at each event/call and indexes it once (where each
// value starts); lookups then compare keys in place. Views are only valid
// during the handler call they are passed to: the host overwrites the input
// buffer with the next batch. Copy what you keep (`str()` returns a copy).

import {
  Kind, Reader, kindAt, boolAt, intAt, floatAt, strLenAt, strDataAt,
} from "./msgpack";
import { utf8Equals, utf8Decode } from "./utf8";

/**
 * Growable scratch array of i32 in raw memory (outside the GC), reused from
 * one event to the next.
 */
// @ts-ignore: decorator
@unmanaged
class Slots {
  ptr: usize = 0;
  cap: i32 = 0;

  /** Room for `n` slots (n is bounded by the input size: see Reader.fits). */
  ensure(n: i32): void {
    if (n <= this.cap) return;
    let cap: i64 = this.cap < 16 ? 16 : this.cap;
    while (cap < n) cap <<= 1;
    const bytes = <usize>(cap << 2);
    this.ptr = this.ptr == 0 ? heap.alloc(bytes) : heap.realloc(this.ptr, bytes);
    this.cap = <i32>cap;
  }

  @inline get(i: i32): i32 {
    return load<i32>(this.ptr + (<usize>i << 2));
  }

  @inline set(i: i32, v: i32): void {
    store<i32>(this.ptr + (<usize>i << 2), v);
  }
}

// Walks arrays for stringsAt(); one instance, as Reader is unmanaged.
const arrayReader = new Reader();

/** Decodes the string(s) at value position `p`: an array's string elements, or a lone string. */
function stringsAt(p: usize, end: usize): string[] | null {
  const k = kindAt(p);
  if (k == Kind.Str) return [utf8Decode(strDataAt(p), strLenAt(p))];
  if (k != Kind.Array) return null;
  const r = arrayReader;
  r.reset(p, end - p);
  const n = r.arrayHeader();
  const out = new Array<string>(0);
  for (let i = 0; i < n && !r.err; i++) {
    const q = r.pos;
    if (kindAt(q) == Kind.Str) out.push(utf8Decode(strDataAt(q), strLenAt(q)));
    r.skip();
  }
  return out;
}

/** Converts the value at `p` to an integer (floats truncate toward zero). */
function toInt(p: usize, dflt: i64): i64 {
  const k = kindAt(p);
  if (k == Kind.Int) return intAt(p);
  if (k == Kind.Float) {
    const f = floatAt(p);
    // NaN and out-of-range floats give the default instead of a trap.
    if (f != f || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18) return dflt;
    return <i64>f;
  }
  return dflt;
}

/** Converts the value at `p` to a float (integers convert). */
function toFloat(p: usize, dflt: f64): f64 {
  const k = kindAt(p);
  if (k == Kind.Float) return floatAt(p);
  if (k == Kind.Int) return <f64>intAt(p);
  return dflt;
}

/** A msgpack map with string keys: an event or the config. */
// @ts-ignore: decorator
@unmanaged
export class MapView {
  protected entries: Slots = new Slots(); // triples: key ptr, key len, value ptr
  protected n: i32 = 0;
  protected end: usize = 0;

  /**
   * Points the view at the map at the reader's position and steps the reader
   * past it. Non-string keys are ignored. Returns false on malformed input.
   */
  load(r: Reader): bool {
    this.n = 0;
    this.end = r.end;
    const pairs = r.mapHeader(); // at most half the bytes left, so pairs * 3 fits
    if (pairs < 0) return false;
    this.entries.ensure(pairs * 3);
    let n = 0;
    for (let i = 0; i < pairs; i++) {
      const isStr = r.strSpan();
      if (!isStr) r.skip(); // a non-string key: its entry is ignored
      const vp = r.pos;
      r.skip();
      if (r.err) return false;
      if (!isStr) continue;
      this.entries.set(n * 3, <i32>r.spanPtr);
      this.entries.set(n * 3 + 1, r.spanLen);
      this.entries.set(n * 3 + 2, <i32>vp);
      n++;
    }
    this.n = n;
    return true;
  }

  /** Where the value of `key` starts, or 0 when the map has no such key. */
  protected find(key: string): usize {
    const e = this.entries;
    for (let i = 0, n = this.n; i < n; i++) {
      if (utf8Equals(<usize>e.get(i * 3), e.get(i * 3 + 1), key)) return <usize>e.get(i * 3 + 2);
    }
    return 0;
  }

  /** Number of fields in the map. */
  get size(): i32 {
    return this.n;
  }

  /** Whether the map holds `key` (the host leaves null fields out). */
  has(key: string): bool {
    const p = this.find(key);
    return p != 0 && kindAt(p) != Kind.Nil;
  }

  /** Type of the value of `key`; `Kind.Nil` when it is missing. */
  kind(key: string): Kind {
    const p = this.find(key);
    return p == 0 ? Kind.Nil : kindAt(p);
  }

  /** The string value of `key` (a new string), or null if missing or not a string. */
  str(key: string): string | null {
    const p = this.find(key);
    if (p == 0 || kindAt(p) != Kind.Str) return null;
    return utf8Decode(strDataAt(p), strLenAt(p));
  }

  /** Whether `key` holds exactly the string `s`; allocates nothing. */
  strEquals(key: string, s: string): bool {
    const p = this.find(key);
    if (p == 0 || kindAt(p) != Kind.Str) return false;
    return utf8Equals(strDataAt(p), strLenAt(p), s);
  }

  /**
   * The UTF-8 bytes of `key`'s string value in place, for scanning without a
   * copy: sets `bytesPtr`/`bytesLen` and returns true when it is a string.
   */
  strBytes(key: string): bool {
    const p = this.find(key);
    if (p == 0 || kindAt(p) != Kind.Str) return false;
    this.bytesPtr = strDataAt(p);
    this.bytesLen = strLenAt(p);
    return true;
  }

  /** Set by `strBytes()`. */
  bytesPtr: usize = 0;
  bytesLen: i32 = 0;

  /** The integer value of `key` (floats truncate), or `dflt`. */
  int(key: string, dflt: i64 = 0): i64 {
    const p = this.find(key);
    return p == 0 ? dflt : toInt(p, dflt);
  }

  /** The numeric value of `key` as a float, or `dflt`. */
  float(key: string, dflt: f64 = 0): f64 {
    const p = this.find(key);
    return p == 0 ? dflt : toFloat(p, dflt);
  }

  /** The boolean value of `key`, or `dflt` if missing or not a boolean. */
  bool(key: string, dflt: bool = false): bool {
    const p = this.find(key);
    if (p == 0 || kindAt(p) != Kind.Bool) return dflt;
    return boolAt(p);
  }

  /**
   * The strings of a multi-valued field (`process.args`): its string
   * elements, or a one-element array for a plain string; null if missing.
   */
  strs(key: string): string[] | null {
    const p = this.find(key);
    return p == 0 ? null : stringsAt(p, this.end);
  }
}

/** One event of a batch. Valid only during the handler call. */
// @ts-ignore: decorator
@unmanaged
export class Event extends MapView {
  /** Index of the event in its batch: what `Matches.matched()` takes. */
  index: i32 = 0;
}

/** The manifest's `[config]` table, during `kestrel_init` only. */
// @ts-ignore: decorator
@unmanaged
export class Config extends MapView {}

/** The arguments of one EQL function call. Valid only during the call. */
// @ts-ignore: decorator
@unmanaged
export class Args {
  private slots: Slots = new Slots(); // value positions
  private n: i32 = 0;
  private end: usize = 0;

  /** Points the view at the argument array at the reader's position. */
  load(r: Reader): bool {
    this.n = 0;
    this.end = r.end;
    const count = r.arrayHeader();
    if (count < 0) return false;
    this.slots.ensure(count);
    for (let i = 0; i < count; i++) {
      this.slots.set(i, <i32>r.pos);
      r.skip();
      if (r.err) return false;
    }
    this.n = count;
    return true;
  }

  @inline private at(i: i32): usize {
    return i >= 0 && i < this.n ? <usize>this.slots.get(i) : 0;
  }

  /** Number of arguments. */
  get length(): i32 {
    return this.n;
  }

  /** Type of argument `i`; `Kind.Nil` for null or beyond the last argument. */
  kind(i: i32): Kind {
    const p = this.at(i);
    return p == 0 ? Kind.Nil : kindAt(p);
  }

  /** Whether argument `i` is null (or missing). */
  isNull(i: i32): bool {
    return this.kind(i) == Kind.Nil;
  }

  /** Argument `i` as a new string, or null if it is not a string. */
  str(i: i32): string | null {
    const p = this.at(i);
    if (p == 0 || kindAt(p) != Kind.Str) return null;
    return utf8Decode(strDataAt(p), strLenAt(p));
  }

  /** Whether argument `i` is exactly the string `s`; allocates nothing. */
  strEquals(i: i32, s: string): bool {
    const p = this.at(i);
    if (p == 0 || kindAt(p) != Kind.Str) return false;
    return utf8Equals(strDataAt(p), strLenAt(p), s);
  }

  /**
   * Argument `i`'s UTF-8 bytes in place, for scanning without a copy: sets
   * `bytesPtr`/`bytesLen` and returns true when it is a string.
   */
  strBytes(i: i32): bool {
    const p = this.at(i);
    if (p == 0 || kindAt(p) != Kind.Str) return false;
    this.bytesPtr = strDataAt(p);
    this.bytesLen = strLenAt(p);
    return true;
  }

  /** Set by `strBytes()`. */
  bytesPtr: usize = 0;
  bytesLen: i32 = 0;

  /** Argument `i` as an integer (floats truncate), or `dflt`. */
  int(i: i32, dflt: i64 = 0): i64 {
    const p = this.at(i);
    return p == 0 ? dflt : toInt(p, dflt);
  }

  /** Argument `i` as a float (integers convert), or `dflt`. */
  float(i: i32, dflt: f64 = 0): f64 {
    const p = this.at(i);
    return p == 0 ? dflt : toFloat(p, dflt);
  }

  /** Argument `i` as a boolean, or `dflt`. */
  bool(i: i32, dflt: bool = false): bool {
    const p = this.at(i);
    if (p == 0 || kindAt(p) != Kind.Bool) return dflt;
    return boolAt(p);
  }

  /** Argument `i`'s strings (array elements, or a plain string), or null. */
  strs(i: i32): string[] | null {
    const p = this.at(i);
    return p == 0 ? null : stringsAt(p, this.end);
  }
}
