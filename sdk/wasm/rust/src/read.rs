//! A msgpack reader that borrows from its input.
//!
//! Strings, binaries, arrays and maps come back as views into the input
//! buffer: reading an event never copies its strings and never allocates.
//! Arrays and maps are not decoded eagerly; `Array::iter` and `Map::get`
//! walk them on demand, which is cheap because event maps hold a handful of
//! fields.
//!
//! Every read is bounds-checked: malformed input yields `Error`, never a
//! panic or an out-of-bounds access.

use core::str;

/// Why a msgpack buffer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The buffer ends inside a value.
    Truncated,
    /// A byte that is not a valid msgpack type marker (0xc1).
    BadMarker(u8),
    /// A value of another type than the one required here (e.g. the batch
    /// is not an array, an event is not a map).
    Unexpected,
    /// The batch holds a different number of elements than announced.
    CountMismatch,
}

impl Error {
    /// A short description, for logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Error::Truncated => "truncated msgpack",
            Error::BadMarker(_) => "invalid msgpack type marker",
            Error::Unexpected => "unexpected msgpack type",
            Error::CountMismatch => "element count differs from the announced count",
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One decoded msgpack value. Compound values are views (see `Array`, `Map`).
///
/// Integers are `Int` whenever they fit an `i64`; only unsigned values
/// above `i64::MAX` are `Uint`. A msgpack str that is not valid UTF-8 is
/// returned as `Bin` with its raw bytes, so `as_str` refuses it but
/// `as_bytes` still sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a str),
    Bin(&'a [u8]),
    Array(Array<'a>),
    Map(Map<'a>),
    Ext(i8, &'a [u8]),
}

impl<'a> Value<'a> {
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The bytes of a str or bin value.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Value::Str(s) => Some(s.as_bytes()),
            Value::Bin(b) => Some(b),
            _ => None,
        }
    }
    /// An integer that fits an `i64`. Floats are not converted.
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Int(i) if i >= 0 => Some(i as u64),
            Value::Uint(u) => Some(u),
            _ => None,
        }
    }
    /// A float, or an integer converted to one (a config value written as
    /// `threshold = 5` is still a number).
    pub fn as_float(&self) -> Option<f64> {
        match *self {
            Value::Float(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            Value::Uint(u) => Some(u as f64),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<Array<'a>> {
        match *self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<Map<'a>> {
        match *self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
}

/// A value's type marker and, for strings and binaries, its raw payload.
/// Skipping uses this so that it never validates UTF-8 it will not use.
enum Head<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Ext(i8, &'a [u8]),
    Array(u32),
    Map(u32),
}

/// A cursor over a msgpack buffer.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether every byte has been consumed.
    pub fn is_at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(Error::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let b = *self.buf.get(self.pos).ok_or(Error::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn be_u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.be()?))
    }
    fn be_u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.be()?))
    }
    fn be_u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.be()?))
    }

    fn ext(&mut self, len: usize) -> Result<Head<'a>, Error> {
        let ty = self.byte()? as i8;
        Ok(Head::Ext(ty, self.take(len)?))
    }

    /// Reads one type marker and whatever belongs to it except the elements
    /// of arrays and maps (msgpack spec, "formats").
    fn head(&mut self) -> Result<Head<'a>, Error> {
        let m = self.byte()?;
        Ok(match m {
            0x00..=0x7f => Head::Int(m as i64),
            0x80..=0x8f => Head::Map((m & 0x0f) as u32),
            0x90..=0x9f => Head::Array((m & 0x0f) as u32),
            0xa0..=0xbf => Head::Str(self.take((m & 0x1f) as usize)?),
            0xc0 => Head::Nil,
            0xc1 => return Err(Error::BadMarker(m)),
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 => {
                let n = self.byte()? as usize;
                Head::Bin(self.take(n)?)
            }
            0xc5 => {
                let n = self.be_u16()? as usize;
                Head::Bin(self.take(n)?)
            }
            0xc6 => {
                let n = self.be_u32()? as usize;
                Head::Bin(self.take(n)?)
            }
            0xc7 => {
                let n = self.byte()? as usize;
                self.ext(n)?
            }
            0xc8 => {
                let n = self.be_u16()? as usize;
                self.ext(n)?
            }
            0xc9 => {
                let n = self.be_u32()? as usize;
                self.ext(n)?
            }
            0xca => Head::Float(f32::from_bits(self.be_u32()?) as f64),
            0xcb => Head::Float(f64::from_bits(self.be_u64()?)),
            0xcc => Head::Int(self.byte()? as i64),
            0xcd => Head::Int(self.be_u16()? as i64),
            0xce => Head::Int(self.be_u32()? as i64),
            0xcf => {
                let u = self.be_u64()?;
                if u <= i64::MAX as u64 {
                    Head::Int(u as i64)
                } else {
                    Head::Uint(u)
                }
            }
            0xd0 => Head::Int(self.byte()? as i8 as i64),
            0xd1 => Head::Int(self.be_u16()? as i16 as i64),
            0xd2 => Head::Int(self.be_u32()? as i32 as i64),
            0xd3 => Head::Int(self.be_u64()? as i64),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9 => {
                let n = self.byte()? as usize;
                Head::Str(self.take(n)?)
            }
            0xda => {
                let n = self.be_u16()? as usize;
                Head::Str(self.take(n)?)
            }
            0xdb => {
                let n = self.be_u32()? as usize;
                Head::Str(self.take(n)?)
            }
            0xdc => Head::Array(self.be_u16()? as u32),
            0xdd => Head::Array(self.be_u32()?),
            0xde => Head::Map(self.be_u16()? as u32),
            0xdf => Head::Map(self.be_u32()?),
            0xe0..=0xff => Head::Int(m as i8 as i64),
        })
    }

    /// Skips `n` values, nested ones included. Iterative (a counter of
    /// values still to skip), so hostile nesting cannot overflow the stack.
    fn skip_n(&mut self, n: u64) -> Result<(), Error> {
        let mut pending = n;
        while pending > 0 {
            pending -= 1;
            match self.head()? {
                Head::Array(k) => pending += k as u64,
                Head::Map(k) => pending += 2 * k as u64,
                _ => {}
            }
        }
        Ok(())
    }

    /// Skips one value.
    pub fn skip(&mut self) -> Result<(), Error> {
        self.skip_n(1)
    }

    /// Reads one value. Arrays and maps are checked to be well-formed and
    /// returned as views.
    pub fn read(&mut self) -> Result<Value<'a>, Error> {
        Ok(match self.head()? {
            Head::Nil => Value::Nil,
            Head::Bool(b) => Value::Bool(b),
            Head::Int(i) => Value::Int(i),
            Head::Uint(u) => Value::Uint(u),
            Head::Float(f) => Value::Float(f),
            Head::Str(b) => match str::from_utf8(b) {
                Ok(s) => Value::Str(s),
                Err(_) => Value::Bin(b),
            },
            Head::Bin(b) => Value::Bin(b),
            Head::Ext(t, b) => Value::Ext(t, b),
            Head::Array(len) => {
                let start = self.pos;
                self.skip_n(len as u64)?;
                Value::Array(Array { data: &self.buf[start..self.pos], len })
            }
            Head::Map(len) => {
                let start = self.pos;
                self.skip_n(2 * len as u64)?;
                Value::Map(Map { data: &self.buf[start..self.pos], len })
            }
        })
    }

    /// Reads an array header and returns its length.
    pub fn read_array_len(&mut self) -> Result<u32, Error> {
        match self.head()? {
            Head::Array(n) => Ok(n),
            _ => Err(Error::Unexpected),
        }
    }

    /// Reads a map header and returns its number of key/value pairs.
    pub fn read_map_len(&mut self) -> Result<u32, Error> {
        match self.head()? {
            Head::Map(n) => Ok(n),
            _ => Err(Error::Unexpected),
        }
    }

    /// The raw bytes of a str or bin value, without UTF-8 validation (O(1)
    /// whatever the length). Any other value is consumed and gives `None`.
    pub fn read_bytes(&mut self) -> Result<Option<&'a [u8]>, Error> {
        match self.head()? {
            Head::Str(b) | Head::Bin(b) => Ok(Some(b)),
            Head::Array(k) => self.skip_n(k as u64).map(|_| None),
            Head::Map(k) => self.skip_n(2 * k as u64).map(|_| None),
            _ => Ok(None),
        }
    }

    /// If the next value is a str whose bytes equal `key`, consumes it and
    /// returns true; otherwise consumes it (whatever it is) and returns false.
    fn key_is(&mut self, key: &[u8]) -> Result<bool, Error> {
        match self.head()? {
            Head::Str(b) => Ok(b == key),
            Head::Array(k) => self.skip_n(k as u64).map(|_| false),
            Head::Map(k) => self.skip_n(2 * k as u64).map(|_| false),
            _ => Ok(false),
        }
    }
}

/// Reads exactly one value that must fill the whole buffer.
pub fn read_one(buf: &[u8]) -> Result<Value<'_>, Error> {
    let mut r = Reader::new(buf);
    let v = r.read()?;
    if r.is_at_end() {
        Ok(v)
    } else {
        Err(Error::Unexpected)
    }
}

/// A view of a msgpack array: `len` elements encoded back to back in `data`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Array<'a> {
    data: &'a [u8],
    len: u32,
}

impl<'a> Array<'a> {
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn iter(&self) -> ArrayIter<'a> {
        ArrayIter { r: Reader::new(self.data), left: self.len }
    }
    /// The element at `i` (walks the array: O(i)).
    pub fn get(&self, i: usize) -> Option<Value<'a>> {
        self.iter().nth(i)
    }
    /// The raw bytes of element `i` if it is a str or bin, unvalidated.
    pub fn bytes_at(&self, i: usize) -> Option<&'a [u8]> {
        let mut r = Reader::new(self.data);
        if i >= self.len as usize {
            return None;
        }
        for _ in 0..i {
            r.skip().ok()?;
        }
        r.read_bytes().ok()?
    }
    /// The raw bytes of the str and bin elements, unvalidated; other
    /// elements are skipped.
    pub fn iter_bytes(&self) -> BytesIter<'a> {
        BytesIter { r: Reader::new(self.data), left: self.len }
    }
    /// The raw msgpack bytes of the elements (without the array header).
    pub fn raw(&self) -> &'a [u8] {
        self.data
    }
}

/// Iterator over an array's elements. It ends early on malformed data
/// (which `Reader::read` already ruled out for views it returned).
#[derive(Clone)]
pub struct ArrayIter<'a> {
    r: Reader<'a>,
    left: u32,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = Value<'a>;
    fn next(&mut self) -> Option<Value<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        match self.r.read() {
            Ok(v) => Some(v),
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

/// Iterator over the raw bytes of an array's strings; see `Array::iter_bytes`.
#[derive(Clone)]
pub struct BytesIter<'a> {
    r: Reader<'a>,
    left: u32,
}

impl<'a> Iterator for BytesIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        while self.left > 0 {
            self.left -= 1;
            match self.r.read_bytes() {
                Ok(Some(b)) => return Some(b),
                Ok(None) => {}
                Err(_) => self.left = 0,
            }
        }
        None
    }
}

/// A view of a msgpack map: `len` key/value pairs encoded back to back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Map<'a> {
    data: &'a [u8],
    len: u32,
}

impl<'a> Map<'a> {
    /// A map with no entries.
    pub const fn empty() -> Map<'static> {
        Map { data: &[], len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The value under the string key `key` (the first one if repeated).
    /// Walks the map comparing key bytes; values of other keys are skipped
    /// without being decoded.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.find(key)?.read().ok()
    }
    /// A reader positioned on the value under `key`, to read it in a
    /// particular way (e.g. `read_bytes`).
    pub fn find(&self, key: &str) -> Option<Reader<'a>> {
        let mut r = Reader::new(self.data);
        for _ in 0..self.len {
            if r.key_is(key.as_bytes()).ok()? {
                return Some(r);
            }
            r.skip().ok()?;
        }
        None
    }
    /// All key/value pairs, in encoding order.
    pub fn iter(&self) -> MapIter<'a> {
        MapIter { r: Reader::new(self.data), left: self.len }
    }
    /// The raw msgpack bytes of the pairs (without the map header).
    pub fn raw(&self) -> &'a [u8] {
        self.data
    }
}

#[derive(Clone)]
pub struct MapIter<'a> {
    r: Reader<'a>,
    left: u32,
}

impl<'a> Iterator for MapIter<'a> {
    type Item = (Value<'a>, Value<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        match (self.r.read(), self.r.read()) {
            (Ok(k), Ok(v)) => Some((k, v)),
            _ => {
                self.left = 0;
                None
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}
