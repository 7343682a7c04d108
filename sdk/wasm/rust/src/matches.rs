//! Builders for what a module returns: the matches of a batch and the
//! results of a function batch.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};

use crate::read::Value;
use crate::write::{
    fill_array_header, header_size, put_array_header, put_bool, put_float, put_int, put_map_header, put_str, put_value,
    Writer,
};

/// Room kept in front of the matches for the array header, whose size is
/// only known at the end (at most 5 bytes: array32).
const HEADER_ROOM: usize = 5;

/// The matches of one batch, written straight into the output buffer.
///
/// ```ignore
/// out.matched(ev.index());                                  // a bare index
/// out.matched_with(ev.index())                              // or a map
///     .msg("base64 payload opens /dev/tcp")
///     .data_str("marker", "/dev/tcp/")
///     .data_float("entropy", 5.2)
///     .action("kill");
/// ```
///
/// All buffers are kept between batches, so a long-running module stops
/// allocating once it has seen its largest batch.
#[derive(Debug)]
pub struct Matches {
    body: Vec<u8>,
    count: usize,
    // Scratch for the match being built: its parts are counted as they are
    // added, and written out once the builder is dropped.
    msg: String,
    has_msg: bool,
    data: Vec<u8>,
    data_n: usize,
    actions: Vec<u8>,
    actions_n: usize,
}

impl Default for Matches {
    fn default() -> Self {
        Matches::new()
    }
}

impl Matches {
    pub const fn new() -> Self {
        Matches {
            body: Vec::new(),
            count: 0,
            msg: String::new(),
            has_msg: false,
            data: Vec::new(),
            data_n: 0,
            actions: Vec::new(),
            actions_n: 0,
        }
    }

    /// Starts a new batch (keeps the buffers' capacity).
    pub fn reset(&mut self) {
        self.body.clear();
        self.body.extend_from_slice(&[0; HEADER_ROOM]);
        self.count = 0;
    }

    /// Reports event `index` as matching, with nothing more to say.
    pub fn matched(&mut self, index: usize) {
        self.ensure_started();
        put_int(&mut self.body, index as i64);
        self.count += 1;
    }

    /// Reports event `index` as matching and returns a builder for its
    /// message, data and actions. The match is written when the builder
    /// goes out of scope (at the end of the statement for a chain).
    pub fn matched_with(&mut self, index: usize) -> Match<'_> {
        self.ensure_started();
        self.msg.clear();
        self.has_msg = false;
        self.data.clear();
        self.data_n = 0;
        self.actions.clear();
        self.actions_n = 0;
        Match { m: self, index }
    }

    /// Number of matches so far in this batch.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn ensure_started(&mut self) {
        if self.body.len() < HEADER_ROOM {
            self.reset();
        }
    }

    /// The finished msgpack array. The header is written into the room
    /// kept for it, right before the first element, so nothing is copied.
    pub fn finish(&mut self) -> &[u8] {
        self.ensure_started();
        let h = header_size(self.count);
        let start = HEADER_ROOM - h;
        fill_array_header(&mut self.body[start..HEADER_ROOM], self.count);
        &self.body[start..]
    }

    fn write_current(&mut self, index: usize) {
        let n = 1 + self.has_msg as usize + (self.data_n > 0) as usize + (self.actions_n > 0) as usize;
        let b = &mut self.body;
        put_map_header(b, n);
        put_str(b, "i");
        put_int(b, index as i64);
        if self.has_msg {
            put_str(b, "msg");
            put_str(b, &self.msg);
        }
        if self.data_n > 0 {
            put_str(b, "data");
            put_map_header(b, self.data_n);
            b.extend_from_slice(&self.data);
        }
        if self.actions_n > 0 {
            put_str(b, "actions");
            put_array_header(b, self.actions_n);
            b.extend_from_slice(&self.actions);
        }
        self.count += 1;
    }
}

/// A match being described; see `Matches::matched_with`.
pub struct Match<'m> {
    m: &'m mut Matches,
    index: usize,
}

impl<'m> Match<'m> {
    /// The reason shown in the alert (replaces an earlier one).
    pub fn msg(&mut self, msg: &str) -> &mut Self {
        self.m.msg.clear();
        self.m.msg.push_str(msg);
        self.m.has_msg = true;
        self
    }

    /// The reason, formatted: `.msg_fmt(format_args!("{} tokens", n))`.
    pub fn msg_fmt(&mut self, args: fmt::Arguments<'_>) -> &mut Self {
        self.m.msg.clear();
        let _ = self.m.msg.write_fmt(args);
        self.m.has_msg = true;
        self
    }

    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        self.m.data_n += 1;
        put_str(&mut self.m.data, key);
        &mut self.m.data
    }

    pub fn data_str(&mut self, key: &str, value: &str) -> &mut Self {
        put_str(self.key(key), value);
        self
    }

    pub fn data_int(&mut self, key: &str, value: i64) -> &mut Self {
        put_int(self.key(key), value);
        self
    }

    pub fn data_float(&mut self, key: &str, value: f64) -> &mut Self {
        put_float(self.key(key), value);
        self
    }

    pub fn data_bool(&mut self, key: &str, value: bool) -> &mut Self {
        put_bool(self.key(key), value);
        self
    }

    /// A list of strings under `key`.
    pub fn data_strs<'s>(&mut self, key: &str, values: impl IntoIterator<Item = &'s str>) -> &mut Self {
        // The count comes first in msgpack; encode the items aside first.
        let mut items = Vec::new();
        let mut n = 0;
        for v in values {
            put_str(&mut items, v);
            n += 1;
        }
        let b = self.key(key);
        put_array_header(b, n);
        b.extend_from_slice(&items);
        self
    }

    /// Any value read from the input (copied as is).
    pub fn data_value(&mut self, key: &str, value: &Value<'_>) -> &mut Self {
        put_value(self.key(key), value);
        self
    }

    /// Requests an action for this match (e.g. `"kill"`). The host honours
    /// only actions listed in the manifest's `rule.actions`.
    pub fn action(&mut self, action: &str) -> &mut Self {
        self.m.actions_n += 1;
        put_str(&mut self.m.actions, action);
        self
    }
}

impl Drop for Match<'_> {
    fn drop(&mut self) {
        self.m.write_current(self.index);
    }
}

/// What an EQL-callable function may return: nil, a boolean, an integer, a
/// float or a string. `Option::None` is nil, so a handler can simply
/// return `Option<f64>` or `Option<&str>`.
pub trait FnReturn {
    fn write_to(&self, w: &mut Writer);
}

impl FnReturn for () {
    fn write_to(&self, w: &mut Writer) {
        w.nil();
    }
}

impl FnReturn for bool {
    fn write_to(&self, w: &mut Writer) {
        w.bool(*self);
    }
}

macro_rules! fn_return_int {
    ($($t:ty),*) => {$(
        impl FnReturn for $t {
            fn write_to(&self, w: &mut Writer) {
                w.int(*self as i64);
            }
        }
    )*};
}
fn_return_int!(i8, i16, i32, i64, u8, u16, u32, isize);

impl FnReturn for u64 {
    fn write_to(&self, w: &mut Writer) {
        w.uint(*self);
    }
}

impl FnReturn for usize {
    fn write_to(&self, w: &mut Writer) {
        w.uint(*self as u64);
    }
}

impl FnReturn for f64 {
    fn write_to(&self, w: &mut Writer) {
        w.float(*self);
    }
}

impl FnReturn for f32 {
    fn write_to(&self, w: &mut Writer) {
        w.float(*self as f64);
    }
}

impl FnReturn for str {
    fn write_to(&self, w: &mut Writer) {
        w.str(self);
    }
}

impl FnReturn for String {
    fn write_to(&self, w: &mut Writer) {
        w.str(self);
    }
}

impl<T: FnReturn + ?Sized> FnReturn for &T {
    fn write_to(&self, w: &mut Writer) {
        (**self).write_to(w);
    }
}

impl<T: FnReturn> FnReturn for Option<T> {
    fn write_to(&self, w: &mut Writer) {
        match self {
            Some(v) => v.write_to(w),
            None => {
                w.nil();
            }
        }
    }
}

impl FnReturn for Value<'_> {
    fn write_to(&self, w: &mut Writer) {
        w.value(self);
    }
}
