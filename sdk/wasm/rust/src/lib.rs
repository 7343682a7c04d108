//! # kestrel-sdk: Kestrel Wasm rules in Rust
//!
//! Implements the module side of the Kestrel Wasm rule ABI v1
//! (`docs/wasm-abi.md`): a zero-copy msgpack reader for the batches the
//! host writes into linear memory, builders for the results, a global
//! allocator that reuses memory, a panic hook that reports through
//! `kestrel.log`, and macros that generate the exports.
//!
//! ```ignore
//! #![no_std]
//! use kestrel_sdk::{export_rule, Config, ConfigError, Event, Matches, Rule};
//!
//! struct LongCmdline { max: usize }
//!
//! impl Rule for LongCmdline {
//!     fn init(config: &Config) -> Result<Self, ConfigError> {
//!         Ok(LongCmdline { max: config.int_or("max", 4096)? as usize })
//!     }
//!     fn check(&mut self, ev: &Event, out: &mut Matches) {
//!         if ev.str("process.command_line").map_or(false, |c| c.len() > self.max) {
//!             out.matched_with(ev.index()).msg("very long command line");
//!         }
//!     }
//! }
//!
//! export_rule!(LongCmdline);
//! ```
//!
//! The crate is `no_std` on wasm32 (it builds on the host with `std` so its
//! unit tests run with `cargo test`). It links `std` on wasm32 only for one
//! thing: rustc before 1.68 cannot link a `no_std` artifact that uses
//! `alloc` without the unstable `#[alloc_error_handler]`; std provides the
//! default one. On wasm32-unknown-unknown std has no imports, and a rule
//! crate can still be `#![no_std]`.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;
#[cfg(target_arch = "wasm32")]
extern crate std;

mod event;
// The allocator is only installed on wasm32; the host builds it for its tests.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod heap;
pub mod log;
mod matches;
pub mod math;
pub mod read;
#[doc(hidden)]
pub mod rt;
pub mod text;
pub mod write;

pub use event::{Args, Batch, ByteStrs, Config, ConfigError, Event, Events, Fields, Strs};
pub use log::now_ns;
pub use matches::{FnReturn, Match, Matches};
pub use read::{Array, Map, Value};
pub use write::Writer;

/// The ABI version this SDK speaks (`kestrel_abi_version` returns it).
pub const ABI_VERSION: i32 = 1;

/// A detection rule: configured once, then fed batches of events that
/// passed the manifest's EQL prefilter. The instance lives as long as the
/// module, so it may keep state between batches (keep it bounded: a
/// module runs for days).
pub trait Rule: Sized {
    /// Builds the rule from the manifest's `[config]` table. An error
    /// refuses the module at load time, with the message in the log.
    fn init(config: &Config<'_>) -> Result<Self, ConfigError>;

    /// Looks at one event; reports it through `out` if it matches
    /// (`out.matched(ev.index())` or `out.matched_with(ev.index())...`).
    fn check(&mut self, ev: &Event<'_>, out: &mut Matches);

    /// Looks at a whole batch. The default calls `check` for each event;
    /// override it to correlate events within a batch.
    fn check_batch(&mut self, batch: &Batch<'_>, out: &mut Matches) {
        for ev in batch.events() {
            self.check(&ev, out);
        }
    }
}

/// Exports `kestrel_init` and `kestrel_match` for a type implementing
/// `Rule`. Use it once per module; `kestrel_abi_version`, `kestrel_alloc`
/// and `memory` come with the SDK, so a module with only functions simply
/// leaves this out.
#[macro_export]
macro_rules! export_rule {
    ($rule:ty) => {
        const _: () = {
            static mut KESTREL_RULE: $crate::rt::Slot<$rule> = $crate::rt::Slot::Fresh;

            #[no_mangle]
            pub unsafe extern "C" fn kestrel_init(ptr: *const u8, len: usize) -> i32 {
                $crate::rt::wasm_init::<$rule>(&mut KESTREL_RULE, ptr, len)
            }

            #[no_mangle]
            pub unsafe extern "C" fn kestrel_match(ptr: *const u8, len: usize, count: usize) -> i64 {
                $crate::rt::wasm_match::<$rule>(&mut KESTREL_RULE, ptr, len, count)
            }
        };
    };
}

/// Exports `kestrel_fn_<name>`, the EQL-callable `wasm.<module>.<name>`,
/// calling `handler(&Args) -> R` for each call of a batch, where `R` is
/// anything implementing `FnReturn`: `bool`, integers, `f64`, `&str`,
/// `String`, `()` or an `Option` of those (`None` is nil).
///
/// ```ignore
/// fn shannon(args: &Args) -> Option<f64> { ... }
/// kestrel_sdk::export_function!(shannon, shannon);   // kestrel_fn_shannon
/// ```
#[macro_export]
macro_rules! export_function {
    ($name:ident, $handler:expr) => {
        const _: () = {
            #[export_name = ::core::concat!("kestrel_fn_", ::core::stringify!($name))]
            pub unsafe extern "C" fn kestrel_fn(ptr: *const u8, len: usize, count: usize) -> i64 {
                $crate::rt::wasm_call(ptr, len, count, |args, out| $crate::FnReturn::write_to(&($handler)(args), out))
            }
        };
    };
}

#[cfg(test)]
mod tests;
