// Test module for the SDK: each handler reflects what the SDK decoded back
// through the SDK's writer, so tests/run.mjs can check both directions.

import {
  Event, Matches, Config, Args, Result, Kind,
  registerRule, registerInit, callFunction, utf8Length, log, Level,
} from "kestrel-sdk";
export { kestrel_abi_version, kestrel_alloc, kestrel_init, kestrel_match } from "kestrel-sdk";

let threshold: i64 = 0;
let label = "";

function onInit(cfg: Config): bool {
  if (cfg.kind("threshold") != Kind.Int) return false;
  threshold = cfg.int("threshold");
  if (threshold <= 0) return false;
  const l = cfg.str("label");
  label = l !== null ? l : "";
  log(Level.Info, "init threshold=" + threshold.toString() + " label=" + label);
  return true;
}

const KEYS = ["s", "i", "f", "b", "a", "u", "missing"];

function onEvent(ev: Event, out: Matches): void {
  if (ev.has("skip")) return;
  const m = out.matched(ev.index);
  if (ev.bool("bare")) return; // bare index
  m.msg("event " + ev.index.toString()).int("size", ev.size);
  for (let j = 0; j < KEYS.length; j++) {
    const k = KEYS[j];
    m.int("k:" + k, <i64>ev.kind(k));
    if (ev.has(k)) m.bool("h:" + k, true);
    const s = ev.str(k);
    if (s !== null) m.str("s:" + k, s);
    m.int("i:" + k, ev.int(k, -999));
    m.float("f:" + k, ev.float(k, -0.5));
    if (ev.kind(k) == Kind.Bool) m.bool("b:" + k, ev.bool(k));
    const a = ev.strs(k);
    if (a !== null) m.str("a:" + k, a.join("|"));
    if (ev.strEquals(k, "needle")) m.bool("eq:" + k, true);
    if (ev.strBytes(k)) m.int("n:" + k, ev.bytesLen);
  }
  if (ev.bool("kill")) m.action("kill").action("alert");
}

registerInit(onInit);
registerRule(onEvent);

function echo(a: Args, r: Result): void {
  switch (a.kind(0)) {
    case Kind.Str: r.str(a.str(0)!); break;
    case Kind.Int: r.int(a.int(0)); break;
    case Kind.Float: r.float(a.float(0)); break;
    case Kind.Bool: r.bool(a.bool(0)); break;
    case Kind.Array: r.str(a.strs(0)!.join("|")); break;
    case Kind.Map: r.str("map"); break;
    case Kind.Bin: r.str("bin"); break;
    case Kind.Ext: r.str("ext"); break;
    default: break; // nil: no result written -> null
  }
}
export function kestrel_fn_echo(p: usize, l: usize, n: i32): i64 {
  return callFunction(p, l, n, echo);
}

function eq(a: Args, r: Result): void {
  const b = a.str(1);
  if (b === null) return;
  r.bool(a.strEquals(0, b));
}
export function kestrel_fn_eq(p: usize, l: usize, n: i32): i64 {
  return callFunction(p, l, n, eq);
}

function u8len(a: Args, r: Result): void {
  const s = a.str(0);
  if (s !== null) r.int(utf8Length(s));
}
export function kestrel_fn_u8len(p: usize, l: usize, n: i32): i64 {
  return callFunction(p, l, n, u8len);
}

function nargs(a: Args, r: Result): void {
  r.int(a.length);
  r.int(-1); // ignored: the first value set wins
}
export function kestrel_fn_nargs(p: usize, l: usize, n: i32): i64 {
  return callFunction(p, l, n, nargs);
}

function cfg(a: Args, r: Result): void {
  r.str(label + ":" + threshold.toString());
}
export function kestrel_fn_cfg(p: usize, l: usize, n: i32): i64 {
  return callFunction(p, l, n, cfg);
}

function boom(a: Args, r: Result): void {
  throw new Error("boom " + a.int(0).toString());
}
export function kestrel_fn_boom(p: usize, l: usize, n: i32): i64 {
  return callFunction(p, l, n, boom);
}

// Churn: allocates garbage on every call, so tests can check the collector
// keeps memory flat.
let keep: string[] = [];
function churn(a: Args, r: Result): void {
  let s = "";
  for (let i = 0; i < 50; i++) s += a.str(0)!;
  keep.push(s);
  if (keep.length > 100) keep = [];
  r.int(s.length);
}
export function kestrel_fn_churn(p: usize, l: usize, n: i32): i64 {
  return callFunction(p, l, n, churn);
}

function traced(a: Args, r: Result): void {
  trace("hello", 2, 1.5, -2);
  r.str("ok|" + Math.random().toString());
}
export function kestrel_fn_trace(p: usize, l: usize, n: i32): i64 {
  return callFunction(p, l, n, traced);
}
