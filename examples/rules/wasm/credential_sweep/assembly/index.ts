// Credential file sweep: one process opening credential files of several
// *distinct* stores (SSH keys, cloud CLI credentials, kube config, shadow, ...)
// within a short window. Each store alone is routinely read by its own tool
// (ssh its keys, kubectl its config); one process touching many of them is
// credential harvesting.
//
// EQL cannot count distinct values per process over a sliding window, so this
// is a small state machine: the prefilter passes only opens of credential
// paths, and the module keeps, per process (process.entity_id), the most
// recently opened distinct credential locations with their times.
//
// A "location" is the file itself, except under directories that one tool
// reads as a whole: every file below ~/.ssh/, ~/.aws/, ~/.config/gcloud/,
// ~/.azure/ or ~/.gnupg/ counts as that directory. Otherwise a plain `ssh`
// (config, a few identity files, known_hosts) or `aws` (config + credentials)
// would count as a sweep on its own.
//
// State is bounded: at most `max_processes` processes (least recently seen
// evicted first), at most `threshold` locations each, and a process not seen
// for a whole window is dropped.

import {
  Event, Matches, Config, Kind, registerRule, registerInit, nowNs, log, Level, utf8Equals, utf8Decode,
} from "kestrel-sdk";
export { kestrel_abi_version, kestrel_alloc, kestrel_init, kestrel_match } from "kestrel-sdk";

const NS_PER_S: f64 = 1e9;
/** Longest path Linux opens (bytes); longer ones are ignored. */
const PATH_MAX: i32 = 4096;
/** Longest process.entity_id kept (bytes); longer ones are ignored. */
const MAX_ID: i32 = 256;
/** Longest process.name put in the alert message (characters). */
const MAX_NAME: i32 = 256;

// Configuration ([config] in wasm-rule.toml).
let threshold: i32 = 4;
let windowS: f64 = 60;
let windowNs: i64 = 60_000_000_000;
let maxProcesses: i32 = 4096;

/** Directories whose files all belong to one credential store. */
const STORE_DIRS = ["/.ssh/", "/.aws/", "/.config/gcloud/", "/.azure/", "/.gnupg/"];

/** Whether the ASCII `marker` occurs in the bytes at `p` (with `room` bytes left). */
function bytesStartWith(p: usize, room: i32, marker: string): bool {
  const n = marker.length;
  if (n > room) return false;
  for (let k = 0; k < n; k++) {
    if (<i32>load<u8>(p + <usize>k) != marker.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Length of the credential location (see the header comment) of the UTF-8
 * path at `ptr`: the path up to the end of the first store directory in it,
 * else the whole path. Works on the bytes in place; every marker starts with
 * "/.", so only those spots are checked.
 */
function locationLen(ptr: usize, len: i32): i32 {
  for (let i = 0; i + 1 < len; i++) {
    if (load<u8>(ptr + <usize>i) != 0x2f || load<u8>(ptr + <usize>i + 1) != 0x2e) continue; // "/."
    for (let j = 0; j < STORE_DIRS.length; j++) {
      const d = unchecked(STORE_DIRS[j]);
      if (bytesStartWith(ptr + <usize>i, len - i, d)) return i + d.length;
    }
  }
  return len;
}

/** What we remember about one process (a few hundred bytes live). */
class Proc {
  key: string;
  /**
   * The most recently opened distinct locations (at most `threshold`) and
   * when each was last opened. Keeping only the `threshold` most recent is
   * enough to know whether `threshold` distinct ones fall within the window.
   * Fixed-size arrays: one allocation each, never regrown.
   */
  paths: StaticArray<string | null> = new StaticArray<string | null>(threshold);
  times: StaticArray<i64> = new StaticArray<i64>(threshold);
  count: i32 = 0;
  lastSeen: i64 = 0;
  alerted: bool = false;
  alertedAt: i64 = 0;
  // Neighbours in the recency list (prev: more recent, next: less recent).
  prev: Proc | null = null;
  next: Proc | null = null;

  constructor(key: string) {
    this.key = key;
  }

  /** Forgets locations last opened more than a window before `t`. */
  expire(t: i64): void {
    let k = 0;
    for (let j = 0, n = this.count; j < n; j++) {
      if (t - unchecked(this.times[j]) <= windowNs) {
        unchecked((this.paths[k] = this.paths[j]));
        unchecked((this.times[k] = this.times[j]));
        k++;
      }
    }
    for (let j = k; j < this.count; j++) unchecked((this.paths[j] = null));
    this.count = k;
  }

  /**
   * Records an open, at `t`, of the location whose UTF-8 bytes are at
   * `ptr`; returns the number of distinct locations in the window. Compares
   * in place and copies the location only when it is new to this process.
   */
  open(ptr: usize, len: i32, t: i64): i32 {
    this.expire(t);
    const n = this.count;
    for (let j = 0; j < n; j++) {
      if (utf8Equals(ptr, len, unchecked(this.paths[j])!)) {
        if (t > unchecked(this.times[j])) unchecked((this.times[j] = t));
        return n;
      }
    }
    let slot = n;
    if (n == this.times.length) {
      // Full: the new location replaces the one opened longest ago.
      slot = 0;
      for (let j = 1; j < n; j++) {
        if (unchecked(this.times[j]) < unchecked(this.times[slot])) slot = j;
      }
    } else {
      this.count = n + 1;
    }
    unchecked((this.paths[slot] = utf8Decode(ptr, len)));
    unchecked((this.times[slot] = t));
    return this.count;
  }

  /** The locations, comma-separated. */
  joined(): string {
    let s = "";
    for (let j = 0; j < this.count; j++) {
      if (j > 0) s += ",";
      s += unchecked(this.paths[j])!;
    }
    return s;
  }
}

// Processes by entity id, plus a recency list to evict and expire in O(1).
const procs = new Map<string, Proc>();
let newest: Proc | null = null;
let oldest: Proc | null = null;
let evictions: i64 = 0;

function unlink(p: Proc): void {
  const prev = p.prev;
  const next = p.next;
  if (prev !== null) prev.next = next;
  else newest = next;
  if (next !== null) next.prev = prev;
  else oldest = prev;
  p.prev = null;
  p.next = null;
}

function pushNewest(p: Proc): void {
  p.next = newest;
  p.prev = null;
  const n = newest;
  if (n !== null) n.prev = p;
  newest = p;
  if (oldest === null) oldest = p;
}

function drop(p: Proc): void {
  unlink(p);
  procs.delete(p.key);
}

/** Drops processes not seen for a whole window (their state no longer matters). */
function expireIdle(t: i64): void {
  let p = oldest;
  while (p !== null && t - p.lastSeen > windowNs) {
    const next = p.prev;
    drop(p);
    p = next;
  }
}

function onEvent(ev: Event, out: Matches): void {
  // Check sizes in place before copying anything: no real path is longer
  // than PATH_MAX, and a hostile megabyte-long one must not eat the fuel.
  if (!ev.strBytes("process.entity_id") || ev.bytesLen == 0 || ev.bytesLen > MAX_ID) return;
  if (!ev.strBytes("file.path") || ev.bytesLen == 0 || ev.bytesLen > PATH_MAX) return;
  // The path stays in the input buffer (valid for this call): only a new
  // location gets copied, in Proc.open.
  const pathPtr = ev.bytesPtr;
  const locLen = locationLen(pathPtr, ev.bytesLen);
  const id = ev.str("process.entity_id")!;
  // The host sends @timestamp as integer nanoseconds when it is a declared field.
  const t = ev.kind("@timestamp") == Kind.Int ? ev.int("@timestamp") : nowNs();

  expireIdle(t);
  let p: Proc;
  if (procs.has(id)) {
    p = procs.get(id);
    unlink(p);
  } else {
    if (procs.size >= maxProcesses) {
      const victim = oldest;
      if (victim !== null) drop(victim);
      if (evictions++ == 0) log(Level.Warn, "credsweep: process table full (" + maxProcesses.toString() + "), evicting the least recently seen");
    }
    p = new Proc(id);
    procs.set(id, p);
  }
  pushNewest(p);
  if (t > p.lastSeen) p.lastSeen = t;

  const count = p.open(pathPtr, locLen, t);
  if (count < threshold) return;
  // Once per process and window: a sweep of 50 files is one alert.
  if (p.alerted && t - p.alertedAt <= windowNs) return;
  p.alerted = true;
  p.alertedAt = t;

  const name = ev.str("process.name");
  const who = name === null ? "process" : name.length > MAX_NAME ? name.substring(0, MAX_NAME) + "..." : name;
  const paths = p.joined();
  out.matched(ev.index)
    .msg(who + " opened files of " + count.toString() + " distinct credential stores within " + fmtSeconds(windowS) + "s")
    .int("count", count)
    .str("paths", paths)
    .float("window_s", windowS);
}

function fmtSeconds(s: f64): string {
  return s == Math.floor(s) ? (<i64>s).toString() : s.toString();
}

/** Reads one numeric option; false (after logging) if present but not a number. */
function numberOption(cfg: Config, key: string): bool {
  const k = cfg.kind(key);
  if (k == Kind.Nil || k == Kind.Int || k == Kind.Float) return true;
  log(Level.Error, "credsweep: config " + key + " must be a number");
  return false;
}

function onInit(cfg: Config): bool {
  if (!numberOption(cfg, "threshold") || !numberOption(cfg, "window_s") || !numberOption(cfg, "max_processes")) return false;
  const th = cfg.int("threshold", 4);
  const win = cfg.float("window_s", 60);
  const maxp = cfg.int("max_processes", 4096);
  if (th < 2 || th > 64) {
    log(Level.Error, "credsweep: threshold must be between 2 and 64");
    return false;
  }
  if (!(win > 0 && win <= 86400)) {
    log(Level.Error, "credsweep: window_s must be in (0, 86400]");
    return false;
  }
  if (maxp < 1 || maxp > 262_144) {
    log(Level.Error, "credsweep: max_processes must be between 1 and 262144");
    return false;
  }
  threshold = <i32>th;
  windowS = win;
  windowNs = <i64>(win * NS_PER_S);
  maxProcesses = <i32>maxp;
  return true;
}

registerInit(onInit);
registerRule(onEvent);
