//! Logging through the host (`kestrel.log`) and the host's clock
//! (`kestrel.now_ns`): the only two imports a module may have.
//!
//! The host rate-limits log lines and tags them with the rule id; log what
//! helps an operator (refused configuration, surprising input), not every
//! event.
//!
//! On a native target (unit tests) lines go to stderr and the clock is the
//! system clock.

use core::fmt;

/// Log levels, as numbered by the ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "kestrel")]
    extern "C" {
        #[link_name = "log"]
        pub fn log(level: i32, ptr: *const u8, len: usize);
        #[link_name = "now_ns"]
        pub fn now_ns() -> i64;
    }
}

/// Writes one line to Kestrel's log.
pub fn log(level: Level, msg: &str) {
    #[cfg(target_arch = "wasm32")]
    unsafe {
        imports::log(level as i32, msg.as_ptr(), msg.len())
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[kestrel {:?}] {}", level, msg);
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}

pub fn info(msg: &str) {
    log(Level::Info, msg)
}

pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}

pub fn error(msg: &str) {
    log(Level::Error, msg)
}

/// Longest formatted line; longer ones are cut (at a character boundary).
const LINE: usize = 512;

/// A fixed buffer to format into: formatting a log line must not allocate,
/// because it also reports allocation failures and panics.
pub(crate) struct LineBuf {
    buf: [u8; LINE],
    len: usize,
}

impl LineBuf {
    pub(crate) const fn new() -> Self {
        LineBuf { buf: [0; LINE], len: 0 }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole characters are ever copied in.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = LINE - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Formats and logs one line without allocating (see the `log_*!` macros).
pub fn log_fmt(level: Level, args: fmt::Arguments<'_>) {
    let mut line = LineBuf::new();
    let _ = fmt::write(&mut line, args);
    log(level, line.as_str());
}

/// Wall-clock time from the host, in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    #[cfg(target_arch = "wasm32")]
    unsafe {
        imports::now_ns()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
    }
}

/// `log_debug!("seen {} events", n)`: formats without allocating.
#[macro_export]
macro_rules! log_debug {
    ($($arg:tt)*) => { $crate::log::log_fmt($crate::log::Level::Debug, ::core::format_args!($($arg)*)) };
}

/// `log_info!("...", args)`
#[macro_export]
macro_rules! log_info {
    ($($arg:tt)*) => { $crate::log::log_fmt($crate::log::Level::Info, ::core::format_args!($($arg)*)) };
}

/// `log_warn!("...", args)`
#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)*) => { $crate::log::log_fmt($crate::log::Level::Warn, ::core::format_args!($($arg)*)) };
}

/// `log_error!("...", args)`
#[macro_export]
macro_rules! log_error {
    ($($arg:tt)*) => { $crate::log::log_fmt($crate::log::Level::Error, ::core::format_args!($($arg)*)) };
}
