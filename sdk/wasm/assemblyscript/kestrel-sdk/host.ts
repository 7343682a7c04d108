// The two imports Kestrel grants (module "kestrel"), and the abort handler
// the build substitutes for AssemblyScript's `env.abort` import.

import { utf8Length, utf8Write } from "./utf8";
import { Writer } from "./msgpack";

// @ts-ignore: decorator
@external("kestrel", "log")
declare function hostLog(level: i32, ptr: usize, len: usize): void;

// @ts-ignore: decorator
@external("kestrel", "now_ns")
declare function hostNowNs(): i64;

/** Log levels of `log()`. */
export enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

/** Longest log line sent, in bytes; longer messages are cut. */
export const LOG_MAX: i32 = 4096;

const logBuf = new Writer();

/** Writes a line to Kestrel's log (rate-limited by the host). */
export function log(level: Level, msg: string): void {
  let n = utf8Length(msg);
  if (n > LOG_MAX) n = LOG_MAX;
  logBuf.reset();
  const d = logBuf.reserve(<usize>n);
  const written = utf8Write(msg, d, n);
  hostLog(level, d, <usize>written);
}

/** Wall-clock time, nanoseconds since the epoch (from the host). */
export function nowNs(): i64 {
  return hostNowNs();
}

// The abort handler must work when the heap itself is broken (an abort can
// come from the allocator), so it formats into a static buffer. It is
// compiled before this file's globals exist, hence no globals (not even
// constants) here: the buffer is 512 bytes.

function putStr(buf: usize, o: i32, s: string | null): i32 {
  if (s === null) return o;
  return o + utf8Write(s, buf + <usize>o, 512 - o);
}

function putUint(buf: usize, o: i32, v: u32): i32 {
  let digits = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  if (o + digits > 512) return o;
  for (let j = digits - 1; j >= 0; j--) {
    store<u8>(buf + <usize>(o + j), 0x30 + v % 10);
    v /= 10;
  }
  return o + digits;
}

/**
 * Replaces AssemblyScript's `abort`, which would otherwise be an `env.abort`
 * import the host refuses: build with `--use abort=kestrelAbort` (`@global`
 * makes the short name resolvable). Logs the message at error level, then
 * traps, which the host reports as a fault of the rule.
 */
// @ts-ignore: decorator
@global
export function kestrelAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const buf = memory.data(512);
  let o = putStr(buf, 0, "abort: ");
  o = putStr(buf, o, message);
  if (fileName !== null) {
    o = putStr(buf, o, " at ");
    o = putStr(buf, o, fileName);
    o = putStr(buf, o, ":");
    o = putUint(buf, o, line);
    o = putStr(buf, o, ":");
    o = putUint(buf, o, column);
  }
  hostLog(Level.Error, buf, <usize>o);
  unreachable();
}

/**
 * Replaces AssemblyScript's `trace` (an `env.trace` import otherwise): build
 * with `--use trace=kestrelTrace`, and `trace("x", 2, a, b)` writes a debug
 * line to Kestrel's log.
 */
// @ts-ignore: decorator
@global
export function kestrelTrace(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let line = "trace: " + message;
  if (n > 0) line += " " + a0.toString();
  if (n > 1) line += ", " + a1.toString();
  if (n > 2) line += ", " + a2.toString();
  if (n > 3) line += ", " + a3.toString();
  if (n > 4) line += ", " + a4.toString();
  log(Level.Debug, line);
}

/**
 * Seeds `Math.random` from the host clock (an `env.seed` import otherwise):
 * build with `--use seed=kestrelSeed`.
 */
// @ts-ignore: decorator
@global
export function kestrelSeed(): f64 {
  return <f64>hostNowNs();
}
