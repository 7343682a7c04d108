//! Typed views over what the host sends: a batch of events, the arguments
//! of a function call, the rule's configuration.
//!
//! All of them borrow from the input buffer, which the host overwrites with
//! the next batch: copy what you want to keep (into a `String`, a number)
//! before `check` returns. The borrow checker enforces this.

use alloc::string::String;
use core::fmt;

use crate::read::{Array, ArrayIter, BytesIter, Error, Map, MapIter, Reader, Value};

/// One batch of events: a msgpack array of `count` flat maps.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    data: &'a [u8],
    count: u32,
}

impl<'a> Batch<'a> {
    /// Checks the whole batch once (an array of exactly `count` maps, each
    /// well-formed), so that iterating it later cannot fail.
    pub fn parse(buf: &'a [u8], count: usize) -> Result<Batch<'a>, Error> {
        let mut r = Reader::new(buf);
        let n = r.read_array_len()?;
        if n as usize != count {
            return Err(Error::CountMismatch);
        }
        let start = r.position();
        for _ in 0..n {
            match r.read()? {
                Value::Map(_) => {}
                _ => return Err(Error::Unexpected),
            }
        }
        Ok(Batch { data: &buf[start..r.position()], count: n })
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The events in batch order; `Event::index` is their position.
    pub fn events(&self) -> Events<'a> {
        Events { r: Reader::new(self.data), index: 0, count: self.count as usize }
    }
}

pub struct Events<'a> {
    r: Reader<'a>,
    index: usize,
    count: usize,
}

impl<'a> Iterator for Events<'a> {
    type Item = Event<'a>;
    fn next(&mut self) -> Option<Event<'a>> {
        if self.index >= self.count {
            return None;
        }
        let map = self.r.read().ok()?.as_map()?;
        let ev = Event { map, index: self.index };
        self.index += 1;
        Some(ev)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count - self.index;
        (left, Some(left))
    }
}

/// One event: the fields the manifest declared, keyed by dotted ECS name.
/// Missing and null fields are absent, so every accessor returns an Option.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    map: Map<'a>,
    index: usize,
}

impl<'a> Event<'a> {
    /// Builds an event view over a map (for tests and custom batch code).
    pub fn new(map: Map<'a>, index: usize) -> Self {
        Event { map, index }
    }

    /// Position of the event in its batch: what `Matches::matched` wants.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The raw value of a field.
    pub fn get(&self, field: &str) -> Option<Value<'a>> {
        self.map.get(field)
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// A string field. Borrowed from the batch: no copy, but its UTF-8 is
    /// checked, which costs time in proportion to its length. For fields
    /// that can be huge (a command line can reach megabytes), prefer
    /// `str_head` or `bytes`, whose cost is bounded.
    pub fn str(&self, field: &str) -> Option<&'a str> {
        self.get(field)?.as_str()
    }

    /// At most the first `max_bytes` bytes of a string field, cut back to
    /// a character boundary; only those are validated. `None` if the field
    /// is not a string or its head is not UTF-8.
    pub fn str_head(&self, field: &str, max_bytes: usize) -> Option<&'a str> {
        crate::text::utf8_head(self.bytes(field)?, max_bytes)
    }

    /// The raw bytes of a string (or binary) field, unvalidated: O(1).
    pub fn bytes(&self, field: &str) -> Option<&'a [u8]> {
        self.map.find(field)?.read_bytes().ok()?
    }

    /// The raw bytes of each string of a multi-valued field (or of a single
    /// string field), unvalidated: O(1) per element.
    pub fn byte_strs(&self, field: &str) -> ByteStrs<'a> {
        let r = match self.map.find(field) {
            Some(r) => r,
            None => return ByteStrs::One(None),
        };
        let mut probe = r;
        if let Ok(Some(b)) = probe.read_bytes() {
            return ByteStrs::One(Some(b));
        }
        let mut r = r;
        match r.read() {
            Ok(Value::Array(a)) => ByteStrs::Many(a.iter_bytes()),
            _ => ByteStrs::One(None),
        }
    }

    /// An integer field (`process.pid`, `@timestamp` in nanoseconds).
    pub fn int(&self, field: &str) -> Option<i64> {
        self.get(field)?.as_int()
    }

    /// A numeric field as a float (integers are converted).
    pub fn float(&self, field: &str) -> Option<f64> {
        self.get(field)?.as_float()
    }

    pub fn bool(&self, field: &str) -> Option<bool> {
        self.get(field)?.as_bool()
    }

    /// The strings of a multi-valued field such as `process.args`. A field
    /// holding a single string yields that string; a missing field yields
    /// nothing; non-string elements are skipped.
    pub fn strs(&self, field: &str) -> Strs<'a> {
        match self.get(field) {
            Some(Value::Array(a)) => Strs::Many(a.iter()),
            Some(Value::Str(s)) => Strs::One(Some(s)),
            _ => Strs::One(None),
        }
    }

    /// All fields with string keys, in the order the host wrote them.
    pub fn fields(&self) -> Fields<'a> {
        Fields(self.map.iter())
    }

    /// The underlying map view.
    pub fn map(&self) -> Map<'a> {
        self.map
    }
}

/// Iterator over the strings of a field; see `Event::strs`.
#[derive(Clone)]
pub enum Strs<'a> {
    One(Option<&'a str>),
    Many(ArrayIter<'a>),
}

impl<'a> Iterator for Strs<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        match self {
            Strs::One(s) => s.take(),
            Strs::Many(it) => loop {
                if let Some(s) = it.next()?.as_str() {
                    return Some(s);
                }
            },
        }
    }
}

/// Iterator over the raw strings of a field; see `Event::byte_strs`.
#[derive(Clone)]
pub enum ByteStrs<'a> {
    One(Option<&'a [u8]>),
    Many(BytesIter<'a>),
}

impl<'a> Iterator for ByteStrs<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            ByteStrs::One(b) => b.take(),
            ByteStrs::Many(it) => it.next(),
        }
    }
}

/// Iterator over an event's `(field, value)` pairs.
#[derive(Clone)]
pub struct Fields<'a>(MapIter<'a>);

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a str, Value<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (k, v) = self.0.next()?;
            if let Some(k) = k.as_str() {
                return Some((k, v));
            }
        }
    }
}

/// The arguments of one call of an EQL-callable function. EQL nulls are
/// msgpack nils and read as `None`, like missing arguments.
#[derive(Debug, Clone, Copy)]
pub struct Args<'a> {
    arr: Array<'a>,
}

impl<'a> Args<'a> {
    pub fn new(arr: Array<'a>) -> Self {
        Args { arr }
    }

    pub fn len(&self) -> usize {
        self.arr.len()
    }

    pub fn is_empty(&self) -> bool {
        self.arr.is_empty()
    }

    /// Argument `i`, `None` when it is null or absent.
    pub fn get(&self, i: usize) -> Option<Value<'a>> {
        match self.arr.get(i)? {
            Value::Nil => None,
            v => Some(v),
        }
    }

    pub fn str(&self, i: usize) -> Option<&'a str> {
        self.get(i)?.as_str()
    }

    /// The raw bytes of a string argument, unvalidated.
    pub fn bytes(&self, i: usize) -> Option<&'a [u8]> {
        self.arr.bytes_at(i)
    }

    pub fn int(&self, i: usize) -> Option<i64> {
        self.get(i)?.as_int()
    }

    pub fn float(&self, i: usize) -> Option<f64> {
        self.get(i)?.as_float()
    }

    pub fn bool(&self, i: usize) -> Option<bool> {
        self.get(i)?.as_bool()
    }

    /// All arguments, nils included (as `Value::Nil`).
    pub fn iter(&self) -> ArrayIter<'a> {
        self.arr.iter()
    }
}

/// The manifest's `[config]` table, as handed to `kestrel_init`.
///
/// `get_*` return `None` when the key is missing or holds another type;
/// `*_or` return the default when the key is missing and an error when it
/// holds another type, so that a typo'd value is refused at load time
/// rather than silently replaced.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    map: Map<'a>,
}

impl<'a> Config<'a> {
    pub fn new(map: Map<'a>) -> Self {
        Config { map }
    }

    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.map.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn get_str(&self, key: &str) -> Option<&'a str> {
        self.get(key)?.as_str()
    }

    pub fn get_int(&self, key: &str) -> Option<i64> {
        self.get(key)?.as_int()
    }

    /// A number (integers are converted: `threshold = 5` works).
    pub fn get_float(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_float()
    }

    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key)?.as_bool()
    }

    /// The strings of an array value (`names = ["a", "b"]`).
    pub fn get_strs(&self, key: &str) -> Strs<'a> {
        match self.get(key) {
            Some(Value::Array(a)) => Strs::Many(a.iter()),
            Some(Value::Str(s)) => Strs::One(Some(s)),
            _ => Strs::One(None),
        }
    }

    pub fn str_or(&self, key: &str, default: &'a str) -> Result<&'a str, ConfigError> {
        self.typed(key, default, |v| v.as_str(), "a string")
    }

    pub fn int_or(&self, key: &str, default: i64) -> Result<i64, ConfigError> {
        self.typed(key, default, |v| v.as_int(), "an integer")
    }

    pub fn float_or(&self, key: &str, default: f64) -> Result<f64, ConfigError> {
        self.typed(key, default, |v| v.as_float(), "a number")
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        self.typed(key, default, |v| v.as_bool(), "a boolean")
    }

    fn typed<T>(
        &self,
        key: &str,
        default: T,
        conv: impl Fn(&Value<'a>) -> Option<T>,
        what: &str,
    ) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => conv(&v).ok_or_else(|| ConfigError::new(alloc::format!("config `{}` must be {}", key, what))),
        }
    }

    /// All keys and values.
    pub fn iter(&self) -> Fields<'a> {
        Fields(self.map.iter())
    }
}

/// Why a rule refused its configuration; logged by the host at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl ConfigError {
    pub fn new(msg: impl Into<String>) -> Self {
        ConfigError(msg.into())
    }
}

impl From<&str> for ConfigError {
    fn from(s: &str) -> Self {
        ConfigError(String::from(s))
    }
}

impl From<String> for ConfigError {
    fn from(s: String) -> Self {
        ConfigError(s)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
