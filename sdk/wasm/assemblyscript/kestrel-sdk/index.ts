// Kestrel Wasm rule SDK for AssemblyScript (ABI version 1, docs/wasm-abi.md).
//
// A rule file re-exports the ABI entry points and registers its handlers at
// top level:
//
//     import { Event, Matches, Config, registerRule, registerInit } from "kestrel-sdk";
//     export { kestrel_abi_version, kestrel_alloc, kestrel_init, kestrel_match } from "kestrel-sdk";
//
//     function onEvent(ev: Event, out: Matches): void { ... out.matched(ev.index) ... }
//     registerRule(onEvent);
//
// EQL-callable functions are exported one by one, because the export name
// carries the function name:
//
//     export function kestrel_fn_entropy(ptr: usize, len: usize, count: i32): i64 {
//       return callFunction(ptr, len, count, entropy);
//     }

import { Reader, Writer } from "./msgpack";
import { Event, Config, Args } from "./views";
import { Matches, Result } from "./output";
import { log, Level } from "./host";

export {
  Kind, Reader, Writer, kindAt, boolAt, intAt, floatAt, strLenAt, strDataAt,
} from "./msgpack";
export { MapView, Event, Config, Args } from "./views";
export { Match, Matches, Result } from "./output";
export { log, nowNs, Level, LOG_MAX, kestrelAbort } from "./host";
export { utf8Length, utf8Write, utf8Equals, utf8Decode } from "./utf8";

/** Called for each event of a batch, in order. */
export type RuleHandler = (ev: Event, out: Matches) => void;
/** Called once with the manifest's [config]; return false to refuse it. */
export type InitHandler = (cfg: Config) => bool;
/** Called for each call of an EQL function; set the result on `out`. */
export type FunctionHandler = (args: Args, out: Result) => void;

/** Status codes returned to the host (any negative value is a fault). */
export const ERR_MALFORMED: i64 = -1;
export const ERR_NO_RULE: i64 = -2;
export const ERR_COUNT: i64 = -3;

/** Largest input buffer kestrel_alloc hands out (the allocator's block limit). */
const MAX_INPUT: usize = (1 << 30) - 64;
/** Smallest input buffer: most batches then fit the first one. */
const MIN_INPUT: usize = 64 << 10;

let ruleHandler: RuleHandler | null = null;
let initHandler: InitHandler | null = null;

// Everything below is allocated once and reused for every batch, so a rule
// that keeps no state of its own runs with flat memory.
let inBuf: usize = 0;
let inCap: usize = 0;
const reader = new Reader();
const out = new Writer();
const event = new Event();
const config = new Config();
const args = new Args();
const matches = new Matches();
const result = new Result(out);

/** Registers the rule's per-event handler (call at top level). */
export function registerRule(handler: RuleHandler): void {
  ruleHandler = handler;
}

/** Registers the handler of the manifest's [config] (call at top level). */
export function registerInit(handler: InitHandler): void {
  initHandler = handler;
}

/** ABI: version 1. */
export function kestrel_abi_version(): i32 {
  return 1;
}

/**
 * ABI: the input buffer. One buffer, grown (never shrunk) when a batch needs
 * more room; the host keeps reusing the address between calls.
 */
export function kestrel_alloc(size: usize): usize {
  if (size > MAX_INPUT) return 0;
  if (size > inCap || inBuf == 0) {
    let cap = inCap < MIN_INPUT ? MIN_INPUT : inCap;
    while (cap < size) cap <<= 1;
    if (cap > MAX_INPUT) cap = MAX_INPUT;
    if (inBuf != 0) heap.free(inBuf);
    inBuf = heap.alloc(cap);
    inCap = cap;
  }
  return inBuf;
}

/** ABI: the [config] map; non-zero refuses it. */
export function kestrel_init(ptr: usize, len: usize): i32 {
  reader.reset(ptr, len);
  if (!config.load(reader)) {
    log(Level.Error, "kestrel_init: config is not a msgpack map");
    return 1;
  }
  const h = initHandler;
  if (h === null) return 0;
  return h(config) ? 0 : 1;
}

/** ABI: one batch of `count` events; returns the packed result buffer. */
export function kestrel_match(ptr: usize, len: usize, count: i32): i64 {
  const h = ruleHandler;
  if (h === null) {
    log(Level.Error, "kestrel_match: no handler (call registerRule at top level)");
    return ERR_NO_RULE;
  }
  reader.reset(ptr, len);
  const n = reader.arrayHeader();
  if (n < 0) return ERR_MALFORMED;
  if (n != count) return ERR_COUNT;
  matches.reset();
  for (let i = 0; i < n; i++) {
    if (!event.load(reader)) return ERR_MALFORMED;
    event.index = i;
    h(event, matches);
  }
  out.reset();
  matches.writeTo(out);
  return out.packed();
}

/**
 * ABI helper for `kestrel_fn_<name>`: runs `fn` once per call of the batch
 * and returns the packed array of results.
 */
export function callFunction(ptr: usize, len: usize, count: i32, fn: FunctionHandler): i64 {
  reader.reset(ptr, len);
  const n = reader.arrayHeader();
  if (n < 0) return ERR_MALFORMED;
  if (n != count) return ERR_COUNT;
  out.reset();
  out.arrayHeader(<u32>n);
  for (let i = 0; i < n; i++) {
    if (!args.load(reader)) return ERR_MALFORMED;
    result.written = false;
    fn(args, result);
    if (!result.written) out.nil();
  }
  return out.packed();
}
