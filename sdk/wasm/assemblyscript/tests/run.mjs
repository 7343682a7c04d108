// SDK tests: builds tests/sdk_test.ts with the same asc command line as a rule
// and drives the module through the ABI with node's WebAssembly, checking
// the msgpack reader and writer in both directions. Run: `npm test`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encode, decode, Ext } from "./msgpack.mjs";

const sdk = dirname(dirname(fileURLToPath(import.meta.url)));
const outFile = join(sdk, "tests", "build", "sdk_test.wasm");

// The rule build command (README.md, "Building"), applied to the test module.
function build() {
  mkdirSync(dirname(outFile), { recursive: true });
  const asc = join(sdk, "node_modules", ".bin", "asc");
  // From another directory, as a rule build runs (in the rule's directory).
  const r = spawnSync(asc, [join(sdk, "tests", "sdk_test.ts"), "--config", join(sdk, "asconfig.json"), "-o", outFile],
    { encoding: "utf8", cwd: "/" });
  if (r.status !== 0) throw new Error("asc failed:\n" + r.stdout + r.stderr);
}

build();
const wasmModule = new WebAssembly.Module(readFileSync(outFile));

function instantiate() {
  const logs = [];
  let memory;
  const imports = {
    kestrel: {
      log(level, ptr, len) {
        logs.push([level, new TextDecoder().decode(new Uint8Array(memory.buffer, ptr, len))]);
      },
      now_ns: () => 1_700_000_000_000_000_000n,
    },
  };
  const inst = new WebAssembly.Instance(wasmModule, imports);
  const ex = inst.exports;
  memory = ex.memory;

  // Writes `bytes` into the module's input buffer and calls `fn` on it.
  function raw(fn, bytes, count) {
    const ptr = ex.kestrel_alloc(bytes.length);
    assert.notEqual(ptr, 0);
    new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
    return fn(ptr, bytes.length, count);
  }
  // Same, and decodes the result buffer (or returns the negative status).
  function call(fn, value, opts = {}) {
    const bytes = value instanceof Uint8Array ? value : encode(value, opts);
    const r = raw(fn, bytes, opts.count ?? value.length);
    if (r < 0n) return Number(r);
    const ptr = Number(r >> 32n);
    const len = Number(r & 0xffffffffn);
    const out = new Uint8Array(memory.buffer, ptr, len).slice();
    return opts.bytes ? out : decode(out);
  }
  function init(cfg) {
    const bytes = cfg instanceof Uint8Array ? cfg : encode(cfg);
    const ptr = ex.kestrel_alloc(bytes.length);
    new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
    return ex.kestrel_init(ptr, bytes.length);
  }
  return { ex, logs, call, raw, init, memory: () => memory.buffer.byteLength };
}

const m = instantiate();

test("imports only kestrel.*, exports the ABI", () => {
  for (const i of WebAssembly.Module.imports(wasmModule)) assert.equal(i.module, "kestrel", i.name);
  const names = WebAssembly.Module.exports(wasmModule).map((e) => e.name);
  for (const n of ["memory", "kestrel_abi_version", "kestrel_alloc", "kestrel_init", "kestrel_match", "kestrel_fn_echo"]) {
    assert.ok(names.includes(n), n);
  }
  assert.equal(m.ex.kestrel_abi_version(), 1);
});

test("kestrel_alloc reuses one buffer and refuses absurd sizes", () => {
  const a = m.ex.kestrel_alloc(0);
  assert.notEqual(a, 0);
  assert.equal(m.ex.kestrel_alloc(100), a);
  assert.equal(m.ex.kestrel_alloc(64 << 10), a);
  const b = m.ex.kestrel_alloc(1 << 20);
  assert.notEqual(b, 0);
  assert.equal(m.ex.kestrel_alloc(10), b);
  assert.equal(m.ex.kestrel_alloc(1 << 30), 0);
  assert.equal(m.ex.kestrel_alloc(-1), 0); // 0xffffffff as usize
});

test("kestrel_init: Config view, refusals", () => {
  assert.equal(m.init({ threshold: 3, label: "żółw" }), 0);
  assert.equal(m.call(m.ex.kestrel_fn_cfg, [[]])[0], "żółw:3");
  assert.deepEqual(m.logs.at(-1), [1, "init threshold=3 label=żółw"]);
  assert.equal(m.init({ threshold: 3 }, { wide: true }), 0);
  assert.equal(m.init({}), 1);
  assert.equal(m.init({ threshold: 0 }), 1);
  assert.equal(m.init({ threshold: "3" }), 1);
  assert.equal(m.init([1, 2]), 1); // not a map
  assert.match(m.logs.at(-1)[1], /not a msgpack map/);
  assert.equal(m.init({ threshold: 5, label: "ok" }), 0);
});

const rich = {
  s: "hello",
  i: 42,
  f: 1.5,
  b: true,
  a: ["x", "y", 3, "z"],
  u: "żółw 🦀 ok",
};

test("Event view: every getter on every kind", () => {
  const [r] = m.call(m.ex.kestrel_match, [rich]);
  assert.equal(r.i, 0);
  assert.equal(r.msg, "event 0");
  const d = r.data;
  assert.equal(d.size, 6);
  assert.equal(d["s:s"], "hello");
  assert.equal(d["i:i"], 42);
  assert.equal(d["f:f"], 1.5);
  assert.equal(d["f:i"], 42); // int read as float
  assert.equal(d["i:f"], 1); // float read as int truncates
  assert.equal(d["b:b"], true);
  assert.equal(d["a:a"], "x|y|z"); // non-strings skipped
  assert.equal(d["a:s"], "hello"); // a plain string is a 1-element list
  assert.equal(d["s:u"], "żółw 🦀 ok");
  assert.equal(d["n:u"], new TextEncoder().encode("żółw 🦀 ok").length);
  assert.equal(d["k:s"], 4);
  assert.equal(d["k:a"], 6);
  assert.equal(d["k:missing"], 0);
  assert.equal(d["h:missing"], undefined);
  assert.equal(d["i:missing"], -999);
  assert.equal(d["f:missing"], -0.5);
  assert.equal(d["i:s"], -999); // a string is not an int
  assert.equal(d["s:i"], undefined);
  assert.equal(r.actions, undefined);
});

test("reader accepts the widest encodings too", () => {
  const narrow = m.call(m.ex.kestrel_match, [rich]);
  const wide = m.call(m.ex.kestrel_match, [rich], { wide: true });
  assert.deepEqual(wide, narrow);
});

test("Matches: bare index, skipped events, actions, many events", () => {
  const evs = [{ skip: 1 }, { bare: true }, { kill: true }, {}, { s: "needle" }];
  const r = m.call(m.ex.kestrel_match, evs);
  assert.equal(r.length, 4);
  assert.equal(r[0], 1);
  assert.deepEqual(r[1].actions, ["kill", "alert"]);
  assert.equal(r[1].i, 2);
  assert.equal(r[2].i, 3);
  assert.equal(r[2].data.size, 0);
  assert.equal(r[3].data["eq:s"], true);
  assert.equal(r[3].data["eq:u"], undefined);
  // An empty batch and a large one.
  assert.deepEqual(m.call(m.ex.kestrel_match, []), []);
  const many = Array.from({ length: 1000 }, (_, i) => (i % 3 ? { skip: 1 } : { bare: true }));
  const rm = m.call(m.ex.kestrel_match, many);
  assert.equal(rm.length, 334);
  assert.deepEqual(rm.slice(0, 3), [0, 3, 6]);
});

test("strings of every length class and unicode", () => {
  for (const n of [0, 31, 32, 255, 256, 65535, 65536, 200000]) {
    const s = "é".repeat(n >> 1) + "x".repeat(n & 1);
    const [r] = m.call(m.ex.kestrel_match, [{ s }]);
    assert.equal(r.data["s:s"], s, `length ${n}`);
    assert.deepEqual(m.call(m.ex.kestrel_fn_echo, [[s]]), [s]);
  }
  const odd = ["", "\u0000", "a\u0000b", "日本語", "🦀🦀", "\u07ff\u0800\uffff", "\u{10ffff}"];
  assert.deepEqual(m.call(m.ex.kestrel_fn_echo, odd.map((s) => [s])), odd);
  const te = new TextEncoder();
  assert.deepEqual(m.call(m.ex.kestrel_fn_u8len, odd.map((s) => [s])), odd.map((s) => te.encode(s).length));
});

test("invalid UTF-8 in and lone surrogates out do not trap", () => {
  // ED A0 80 is an encoded lone surrogate (U+D800); FF is never valid.
  const bytes = Uint8Array.from([0x92, 0x91, 0xa3, 0xed, 0xa0, 0x80, 0x91, 0xa2, 0xff, 0x41]);
  const out = m.call(m.ex.kestrel_fn_echo, bytes, { count: 2, bytes: true });
  // The lone surrogate goes back out as U+FFFD (EF BF BD).
  assert.deepEqual([...out.subarray(0, 5)], [0x92, 0xa3, 0xef, 0xbf, 0xbd]);
  const lens = m.call(m.ex.kestrel_fn_u8len, bytes, { count: 2 });
  assert.equal(lens[0], 3);
});

test("strEquals (UTF-8 bytes vs UTF-16 string)", () => {
  const pairs = [
    ["abc", "abc", true], ["abc", "abd", false], ["abc", "ab", false], ["ab", "abc", false],
    ["", "", true], ["", "a", false], ["żółw", "żółw", true], ["żółw", "żółx", false],
    ["a🦀", "a🦀", true], ["a🦀", "a🦁", false], ["a🦀", "a", false], ["aé", "ae", false],
    ["process.command_line", "process.command_line", true],
  ];
  assert.deepEqual(m.call(m.ex.kestrel_fn_eq, pairs.map(([a, b]) => [a, b])), pairs.map((p) => p[2]));
  assert.deepEqual(m.call(m.ex.kestrel_fn_eq, [[null, "a"], ["a", null], [1, "1"]]), [false, null, false]);
});

test("writer: integers, floats, booleans, nil round-trip with shortest encodings", () => {
  const ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2 ** 53 - 1,
    -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -(2 ** 53 - 1), 2n ** 53n,
    9223372036854775807n, -9223372036854775808n];
  assert.deepEqual(m.call(m.ex.kestrel_fn_echo, ints.map((v) => [v])), ints);
  assert.deepEqual(m.call(m.ex.kestrel_fn_echo, ints.map((v) => [v]), { wide: true }), ints);
  const expect = {
    0: [0x00], 127: [0x7f], 128: [0xcc, 0x80], 256: [0xcd, 0x01, 0x00], 65536: [0xce, 0, 1, 0, 0],
    [-1]: [0xff], [-32]: [0xe0], [-33]: [0xd0, 0xdf], [-129]: [0xd1, 0xff, 0x7f],
  };
  for (const [v, b] of Object.entries(expect)) {
    const out = m.call(m.ex.kestrel_fn_echo, [[Number(v)]], { bytes: true });
    assert.deepEqual([...out], [0x91, ...b], `int ${v}`);
  }
  const floats = [0.5, -2.25, 1e300, -1e-300, Infinity, -Infinity];
  assert.deepEqual(m.call(m.ex.kestrel_fn_echo, floats.map((v) => [v])), floats);
  assert.ok(Number.isNaN(m.call(m.ex.kestrel_fn_echo, [[NaN]])[0]));
  assert.deepEqual(m.call(m.ex.kestrel_fn_echo, [[true], [false], [null], []]), [true, false, null, null]);
  assert.deepEqual(m.call(m.ex.kestrel_fn_echo, [[["a", "b"]], [{ k: 1 }], [new Uint8Array(3)], [new Ext(5, new Uint8Array(4))]]),
    ["a|b", "map", "bin", "ext"]);
});

test("Args view: count, first result wins", () => {
  assert.deepEqual(m.call(m.ex.kestrel_fn_nargs, [[], [1], [1, null, "x"], Array(20).fill(0)]), [0, 1, 3, 20]);
});

test("values skipped over: nested containers, bin, ext, non-string keys", () => {
  const ev = {
    n: { x: [1, [2, { y: [] }]], z: "deep" },
    e1: new Ext(1, new Uint8Array(1)), e2: new Ext(2, new Uint8Array(2)), e4: new Ext(4, new Uint8Array(4)),
    e8: new Ext(8, new Uint8Array(8)), e16: new Ext(16, new Uint8Array(16)), e3: new Ext(3, new Uint8Array(3)),
    bin: new Uint8Array(300),
    s: "after",
  };
  for (const wide of [false, true]) {
    const [r] = m.call(m.ex.kestrel_match, [ev, { s: "next" }], { wide });
    assert.equal(r.data["s:s"], "after");
    assert.equal(r.data.size, 9);
  }
  // {1: "x", "s": "ok"}: the integer key is ignored.
  const bytes = Uint8Array.from([0x91, 0x82, 0x01, 0xa1, 0x78, 0xa1, 0x73, 0xa2, 0x6f, 0x6b]);
  const [r] = m.call(m.ex.kestrel_match, bytes, { count: 1 });
  assert.equal(r.data["s:s"], "ok");
  assert.equal(r.data.size, 1);
});

test("malformed input gives a negative status, never a trap", () => {
  const evs = encode([{ s: "hello" }, { i: 1 }]);
  assert.equal(m.raw(m.ex.kestrel_match, evs, 3), -3n); // count mismatch
  for (let cut = 0; cut < evs.length; cut++) {
    assert.equal(m.raw(m.ex.kestrel_match, evs.subarray(0, cut), 2), -1n, `cut ${cut}`);
  }
  assert.equal(m.raw(m.ex.kestrel_match, encode({ a: 1 }), 1), -1n); // not an array
  assert.equal(m.raw(m.ex.kestrel_match, encode([1]), 1), -1n); // event not a map
  assert.equal(m.raw(m.ex.kestrel_fn_echo, encode(["x"]), 1), -1n); // call args not an array
  // Lengths that claim more than the buffer holds.
  assert.equal(m.raw(m.ex.kestrel_match, Uint8Array.from([0xdd, 0x7f, 0xff, 0xff, 0xff]), 0x7fffffff), -1n);
  assert.equal(m.raw(m.ex.kestrel_match, Uint8Array.from([0x91, 0x81, 0xa1, 0x73, 0xdf, 0xff, 0xff, 0xff, 0xff]), 1), -1n);
  assert.equal(m.raw(m.ex.kestrel_match, Uint8Array.from([0x91, 0x81, 0xa1, 0x73, 0xdb, 0xff, 0xff, 0xff, 0xf0]), 1), -1n);
  assert.equal(m.raw(m.ex.kestrel_match, Uint8Array.from([0x91, 0x81, 0xa1, 0x73, 0xc1]), 1), -1n); // never-used byte
  // 32-bit lengths whose header + length would wrap a 32-bit size: as a value and as a key.
  for (const len of [[0xff, 0xff, 0xff, 0xfb], [0xff, 0xff, 0xff, 0xff]]) {
    for (const tag of [0xdb, 0xc6, 0xc9]) {
      const value = Uint8Array.from([0x91, 0x81, 0xa1, 0x73, tag, ...len, 0xa1, 0x73, 0xa1, 0x73, 0xa1, 0x73]);
      assert.equal(m.raw(m.ex.kestrel_match, value, 1), -1n, `value tag ${tag}`);
    }
    const key = Uint8Array.from([0x91, 0x81, 0xdb, ...len, 0xa1, 0x73, 0xa1, 0x73, 0xa1, 0x73]);
    assert.equal(m.raw(m.ex.kestrel_match, key, 1), -1n, "key");
  }
  // Container counts larger than the bytes that follow (before any table is sized by them).
  const pairs = Uint8Array.from([0x91, 0xdf, 0x55, 0x55, 0x55, 0x56, ...encode("s"), ...encode("x")]);
  assert.equal(m.raw(m.ex.kestrel_match, pairs, 1), -1n);
  assert.equal(m.raw(m.ex.kestrel_match, Uint8Array.from([0x91, 0xde, 0xff, 0xff, 0xa1, 0x73, 0xa1, 0x73]), 1), -1n);
  assert.equal(m.raw(m.ex.kestrel_match, Uint8Array.from([0x91, 0x83, 0xa1, 0x73, 0xa1, 0x73]), 1), -1n);
  assert.equal(m.raw(m.ex.kestrel_fn_echo, Uint8Array.from([0x91, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01]), 1), -1n);
  assert.equal(m.raw(m.ex.kestrel_fn_echo, Uint8Array.from([0x92, 0x91, 0x01]), 2), -1n);
  // Still healthy afterwards.
  assert.equal(m.call(m.ex.kestrel_match, [{ s: "ok" }])[0].data["s:s"], "ok");
});

test("memory stays flat over many batches", () => {
  const batch = encode(Array.from({ length: 256 }, (_, i) => ({ ...rich, i, s: "s" + i })));
  const args = encode(Array.from({ length: 256 }, (_, i) => ["chunk" + i]));
  const run = (n) => {
    for (let k = 0; k < n; k++) {
      assert.ok(m.raw(m.ex.kestrel_match, batch, 256) > 0n);
      assert.ok(m.raw(m.ex.kestrel_fn_churn, args, 256) > 0n);
    }
  };
  run(30);
  const warm = m.memory();
  run(300);
  assert.equal(m.memory(), warm, `memory grew from ${warm} to ${m.memory()}`);
});

test("trace() logs at debug level, Math.random() works (no env imports)", () => {
  const [line, r] = m.call(m.ex.kestrel_fn_trace, [[]])[0].split("|");
  assert.equal(line, "ok");
  assert.ok(Number(r) >= 0 && Number(r) < 1);
  assert.deepEqual(m.logs.at(-1), [0, "trace: hello 1.5, -2.0"]);
});

test("abort: logged at error level, then a trap", () => {
  const t = instantiate();
  assert.throws(() => t.call(t.ex.kestrel_fn_boom, [[7]]), WebAssembly.RuntimeError);
  const [level, line] = t.logs.at(-1);
  assert.equal(level, 3);
  assert.match(line, /^abort: boom 7 at \S*sdk_test\.ts:\d+:\d+$/);
});
