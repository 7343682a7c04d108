//! A msgpack writer that appends to a growable buffer.
//!
//! Every value is written in its smallest encoding. Floats are always
//! float64 so that no precision is lost on the way to the host.

use alloc::vec::Vec;

use crate::read::Value;

/// Appends msgpack values to a byte buffer. Its capacity survives `clear`,
/// so a writer kept across batches stops allocating once it has grown to
/// the largest output seen.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub const fn new() -> Self {
        Writer { buf: Vec::new() }
    }

    /// Forgets the contents, keeps the capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    pub fn nil(&mut self) -> &mut Self {
        self.buf.push(0xc0);
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        put_bool(&mut self.buf, b);
        self
    }

    pub fn int(&mut self, v: i64) -> &mut Self {
        put_int(&mut self.buf, v);
        self
    }

    pub fn uint(&mut self, v: u64) -> &mut Self {
        put_uint(&mut self.buf, v);
        self
    }

    pub fn float(&mut self, v: f64) -> &mut Self {
        put_float(&mut self.buf, v);
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        put_str(&mut self.buf, s);
        self
    }

    pub fn bin(&mut self, b: &[u8]) -> &mut Self {
        put_len(&mut self.buf, b.len(), [0xc4, 0xc5, 0xc6], None);
        self.buf.extend_from_slice(b);
        self
    }

    /// An array header: the `len` elements must follow.
    pub fn array(&mut self, len: usize) -> &mut Self {
        put_array_header(&mut self.buf, len);
        self
    }

    /// A map header: `len` key/value pairs must follow.
    pub fn map(&mut self, len: usize) -> &mut Self {
        put_map_header(&mut self.buf, len);
        self
    }

    /// Copies a value read from another buffer (views are copied raw).
    pub fn value(&mut self, v: &Value<'_>) -> &mut Self {
        put_value(&mut self.buf, v);
        self
    }

    /// Appends bytes that already are msgpack.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }
}

// The encoders, as functions over a plain buffer so that the result
// builders can write into their own buffers too.

pub(crate) fn put_bool(buf: &mut Vec<u8>, b: bool) {
    buf.push(if b { 0xc3 } else { 0xc2 });
}

pub(crate) fn put_int(buf: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        put_uint(buf, v as u64);
    } else if v >= -32 {
        buf.push(v as i8 as u8);
    } else if v >= i8::MIN as i64 {
        buf.extend_from_slice(&[0xd0, v as i8 as u8]);
    } else if v >= i16::MIN as i64 {
        buf.push(0xd1);
        buf.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= i32::MIN as i64 {
        buf.push(0xd2);
        buf.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        buf.push(0xd3);
        buf.extend_from_slice(&v.to_be_bytes());
    }
}

pub(crate) fn put_uint(buf: &mut Vec<u8>, v: u64) {
    if v <= 0x7f {
        buf.push(v as u8);
    } else if v <= u8::MAX as u64 {
        buf.extend_from_slice(&[0xcc, v as u8]);
    } else if v <= u16::MAX as u64 {
        buf.push(0xcd);
        buf.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v <= u32::MAX as u64 {
        buf.push(0xce);
        buf.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        buf.push(0xcf);
        buf.extend_from_slice(&v.to_be_bytes());
    }
}

pub(crate) fn put_float(buf: &mut Vec<u8>, v: f64) {
    buf.push(0xcb);
    buf.extend_from_slice(&v.to_bits().to_be_bytes());
}

pub(crate) fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_len(buf, s.len(), [0xd9, 0xda, 0xdb], Some((0xa0, 31)));
    buf.extend_from_slice(s.as_bytes());
}

pub(crate) fn put_value(buf: &mut Vec<u8>, v: &Value<'_>) {
    match *v {
        Value::Nil => buf.push(0xc0),
        Value::Bool(b) => put_bool(buf, b),
        Value::Int(i) => put_int(buf, i),
        Value::Uint(u) => put_uint(buf, u),
        Value::Float(f) => put_float(buf, f),
        Value::Str(s) => put_str(buf, s),
        Value::Bin(b) => {
            put_len(buf, b.len(), [0xc4, 0xc5, 0xc6], None);
            buf.extend_from_slice(b);
        }
        Value::Array(a) => {
            put_array_header(buf, a.len());
            buf.extend_from_slice(a.raw());
        }
        Value::Map(m) => {
            put_map_header(buf, m.len());
            buf.extend_from_slice(m.raw());
        }
        Value::Ext(t, b) => {
            match b.len() {
                1 => buf.push(0xd4),
                2 => buf.push(0xd5),
                4 => buf.push(0xd6),
                8 => buf.push(0xd7),
                16 => buf.push(0xd8),
                n => put_len(buf, n, [0xc7, 0xc8, 0xc9], None),
            }
            buf.push(t as u8);
            buf.extend_from_slice(b);
        }
    }
}

/// Writes a length-prefixed header: the fix form when `fix` allows it,
/// else the 8/16/32-bit form.
fn put_len(buf: &mut Vec<u8>, len: usize, markers: [u8; 3], fix: Option<(u8, usize)>) {
    match fix {
        Some((base, max)) if len <= max => buf.push(base | len as u8),
        _ if len <= u8::MAX as usize => buf.extend_from_slice(&[markers[0], len as u8]),
        _ if len <= u16::MAX as usize => {
            buf.push(markers[1]);
            buf.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            buf.push(markers[2]);
            buf.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

/// Size in bytes of the smallest array or map header for `len` elements.
pub(crate) fn header_size(len: usize) -> usize {
    if len <= 15 {
        1
    } else if len <= u16::MAX as usize {
        3
    } else {
        5
    }
}

pub(crate) fn put_array_header(buf: &mut Vec<u8>, len: usize) {
    put_container_header(buf, len, 0x90, 0xdc, 0xdd);
}

pub(crate) fn put_map_header(buf: &mut Vec<u8>, len: usize) {
    put_container_header(buf, len, 0x80, 0xde, 0xdf);
}

fn put_container_header(buf: &mut Vec<u8>, len: usize, fix: u8, m16: u8, m32: u8) {
    if len <= 15 {
        buf.push(fix | len as u8);
    } else if len <= u16::MAX as usize {
        buf.push(m16);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        buf.push(m32);
        buf.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Writes the smallest array header for `len` into `dst`, which must be
/// exactly `header_size(len)` bytes long.
pub(crate) fn fill_array_header(dst: &mut [u8], len: usize) {
    match dst.len() {
        1 => dst[0] = 0x90 | len as u8,
        3 => {
            dst[0] = 0xdc;
            dst[1..].copy_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            dst[0] = 0xdd;
            dst[1..].copy_from_slice(&(len as u32).to_be_bytes());
        }
    }
}
