//! Small text helpers that keep modules free of float formatting (which
//! costs tens of kilobytes of code) and of char-boundary mistakes.

use alloc::string::String;

/// The first `max_chars` characters of `s` (all of it if shorter).
pub fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The UTF-8 text in the first `max_bytes` bytes of `bytes`: a character
/// cut by the limit is dropped; invalid UTF-8 before it gives `None`. Costs
/// O(max_bytes) however long `bytes` is.
pub fn utf8_head(bytes: &[u8], max_bytes: usize) -> Option<&str> {
    let head = &bytes[..bytes.len().min(max_bytes)];
    match core::str::from_utf8(head) {
        Ok(s) => Some(s),
        // error_len() == None: the head ends inside a character.
        Err(e) if e.error_len().is_none() => core::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    }
}

/// Appends the decimal form of `v`.
pub fn push_int(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_uint(out, v.unsigned_abs());
}

/// Appends the decimal form of `u`.
pub fn push_uint(out: &mut String, mut u: u64) {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (u % 10) as u8;
        n += 1;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    for &d in digits[..n].iter().rev() {
        out.push(d as char);
    }
}

/// Appends `v` with `decimals` digits after the point (at most 9), rounded
/// half away from zero: `push_fixed(&mut s, 4.5678, 2)` appends `4.57`.
pub fn push_fixed(out: &mut String, v: f64, decimals: u32) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let decimals = decimals.min(9);
    let scale = 10u64.pow(decimals);
    let neg = v < 0.0;
    let mag = if neg { -v } else { v };
    // `as` saturates: huge values print as u64::MAX / scale, not garbage.
    let scaled = (mag * scale as f64 + 0.5) as u64;
    if neg && scaled != 0 {
        out.push('-');
    }
    push_uint(out, scaled / scale);
    if decimals > 0 {
        out.push('.');
        let frac = scaled % scale;
        let mut digits = [b'0'; 9];
        let mut f = frac;
        for i in (0..decimals as usize).rev() {
            digits[i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        for &d in &digits[..decimals as usize] {
            out.push(d as char);
        }
    }
}
