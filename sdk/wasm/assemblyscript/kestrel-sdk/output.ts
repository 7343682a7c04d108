// Result builders: `Matches` for kestrel_match, `Result` for one EQL
// function call.

import { Writer } from "./msgpack";

/**
 * One matching event. Build it fluently:
 *
 *     out.matched(ev.index).msg("why").int("count", n).str("paths", p).action("kill");
 *
 * A match with nothing but its index is sent as a bare integer. Match
 * objects are pooled by `Matches` and reused from batch to batch: do not keep
 * references to them.
 */
export class Match {
  index: i32 = 0;
  message: string | null = null;
  /** The `data` map's key/value pairs, already encoded. */
  data: Writer = new Writer();
  dataCount: i32 = 0;
  actions: string[] = [];

  /** Resets this pooled match for event `i`. */
  reuse(i: i32): void {
    this.index = i;
    this.message = null;
    this.data.reset();
    this.dataCount = 0;
    this.actions.length = 0;
  }

  /** The reason shown in the alert (`reason`). */
  msg(s: string): Match {
    this.message = s;
    return this;
  }

  /** A string fact in the alert's `data`. */
  str(key: string, value: string): Match {
    this.data.str(key);
    this.data.str(value);
    this.dataCount++;
    return this;
  }

  /** An integer fact in the alert's `data`. */
  int(key: string, value: i64): Match {
    this.data.str(key);
    this.data.int(value);
    this.dataCount++;
    return this;
  }

  /** A float fact in the alert's `data`. */
  float(key: string, value: f64): Match {
    this.data.str(key);
    this.data.float(value);
    this.dataCount++;
    return this;
  }

  /** A boolean fact in the alert's `data`. */
  bool(key: string, value: bool): Match {
    this.data.str(key);
    this.data.bool(value);
    this.dataCount++;
    return this;
  }

  /**
   * Requests an action (e.g. "kill") for this match. The host only runs
   * actions the manifest lists in `rule.actions`.
   */
  action(name: string): Match {
    this.actions.push(name);
    return this;
  }

  /** Appends this match as one element of the result array. */
  writeTo(w: Writer): void {
    const hasMsg = this.message !== null;
    const hasData = this.dataCount > 0;
    const nActions = this.actions.length;
    if (!hasMsg && !hasData && nActions == 0) {
      w.int(this.index);
      return;
    }
    w.mapHeader(1 + (hasMsg ? 1 : 0) + (hasData ? 1 : 0) + (nActions > 0 ? 1 : 0));
    w.str("i");
    w.int(this.index);
    if (hasMsg) {
      w.str("msg");
      w.str(<string>this.message);
    }
    if (hasData) {
      w.str("data");
      w.mapHeader(<u32>this.dataCount);
      w.bytes(this.data.buf, this.data.len);
    }
    if (nActions > 0) {
      w.str("actions");
      w.arrayHeader(<u32>nActions);
      for (let i = 0; i < nActions; i++) w.str(unchecked(this.actions[i]));
    }
  }
}

/** The matches of one batch, handed to the rule handler with each event. */
export class Matches {
  private pool: Match[] = [];
  private used: i32 = 0;

  /** Starts a new batch (matches of the previous batch are recycled). */
  reset(): void {
    this.used = 0;
  }

  /**
   * Reports event `i` (normally `ev.index`) as a match; returns the match to
   * add a message, data and actions to. Call it once per matching event.
   */
  matched(i: i32): Match {
    let m: Match;
    if (this.used < this.pool.length) {
      m = unchecked(this.pool[this.used]);
    } else {
      m = new Match();
      this.pool.push(m);
    }
    this.used++;
    m.reuse(i);
    return m;
  }

  /** Number of matches so far in this batch. */
  get count(): i32 {
    return this.used;
  }

  /** Encodes the result array. */
  writeTo(w: Writer): void {
    w.arrayHeader(<u32>this.used);
    for (let i = 0; i < this.used; i++) unchecked(this.pool[i]).writeTo(w);
  }
}

/**
 * The result of one EQL function call. Set it once; the first value set wins
 * and a call that sets none returns null.
 */
export class Result {
  /** Whether a value was written for the current call. */
  written: bool = false;
  w: Writer;

  constructor(w: Writer) {
    this.w = w;
  }

  @inline private claim(): bool {
    if (this.written) return false;
    this.written = true;
    return true;
  }

  nil(): void {
    if (this.claim()) this.w.nil();
  }

  bool(v: bool): void {
    if (this.claim()) this.w.bool(v);
  }

  int(v: i64): void {
    if (this.claim()) this.w.int(v);
  }

  float(v: f64): void {
    if (this.claim()) this.w.float(v);
  }

  str(s: string): void {
    if (this.claim()) this.w.str(s);
  }
}
