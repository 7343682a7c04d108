//! The glue the export macros expand to: decoding a call's input, running
//! the rule or function, packing the result pointer. Not part of the API
//! (names and signatures may change with the SDK).
//!
//! The `wasm_*` entry points use buffers kept in statics, so a module
//! allocates its output buffers once and reuses them for every batch.

use crate::event::{Args, Batch, Config};
use crate::log::{self, Level};
use crate::matches::Matches;
use crate::read::{Map, Reader, Value};
use crate::write::Writer;
use crate::Rule;

/// `kestrel_match`/`kestrel_fn_*` status: the input is not an array of
/// `count` well-formed elements of the expected type.
pub const BAD_INPUT: i64 = -1;
/// `kestrel_match` status: the rule has no valid configuration.
pub const NOT_INITIALISED: i64 = -2;
/// The output buffer lies where `(ptr << 32) | len` cannot express it.
pub const OUT_OF_RANGE: i64 = -3;

/// Where the export macros keep the rule instance.
pub enum Slot<R> {
    /// `kestrel_init` has not run.
    Fresh,
    Ready(R),
    /// `kestrel_init` refused the configuration: batches are refused too.
    Refused,
}

impl<R> Slot<R> {
    pub fn rule(&self) -> Option<&R> {
        match self {
            Slot::Ready(r) => Some(r),
            _ => None,
        }
    }
}

/// Runs `R::init` on a msgpack config map (an empty input counts as an
/// empty map). Returns 0 on success, 1 when the rule refused the config,
/// 2 when the config is not a map.
pub fn init_rule<R: Rule>(slot: &mut Slot<R>, input: &[u8]) -> i32 {
    let map = if input.is_empty() {
        Map::empty()
    } else {
        match crate::read::read_one(input) {
            Ok(Value::Map(m)) => m,
            _ => {
                *slot = Slot::Refused;
                log::error("kestrel_init: the configuration is not a msgpack map");
                return 2;
            }
        }
    };
    match R::init(&Config::new(map)) {
        Ok(rule) => {
            *slot = Slot::Ready(rule);
            0
        }
        Err(e) => {
            *slot = Slot::Refused;
            log::log_fmt(Level::Error, format_args!("configuration refused: {}", e));
            1
        }
    }
}

/// Runs one batch through the rule; returns the encoded matches.
pub fn match_batch<'o, R: Rule>(
    slot: &mut Slot<R>,
    input: &[u8],
    count: usize,
    out: &'o mut Matches,
) -> Result<&'o [u8], i64> {
    // A host that skipped kestrel_init gets the defaults, if they load;
    // a refused configuration stays refused.
    if let Slot::Fresh = slot {
        init_rule(slot, &[]);
    }
    let rule = match slot {
        Slot::Ready(r) => r,
        _ => return Err(NOT_INITIALISED),
    };
    let batch = match Batch::parse(input, count) {
        Ok(b) => b,
        Err(e) => {
            log::log_fmt(Level::Error, format_args!("kestrel_match: malformed batch ({})", e));
            return Err(BAD_INPUT);
        }
    };
    out.reset();
    rule.check_batch(&batch, out);
    Ok(out.finish())
}

/// Runs a batch of function calls: `f` writes exactly one result per call
/// (the export macro passes a closure over `FnReturn::write_to`).
pub fn call_function<'o>(
    input: &[u8],
    count: usize,
    out: &'o mut Writer,
    mut f: impl FnMut(&Args<'_>, &mut Writer),
) -> Result<&'o [u8], i64> {
    let mut r = Reader::new(input);
    match r.read_array_len() {
        Ok(n) if n as usize == count => {}
        _ => return Err(BAD_INPUT),
    }
    out.clear();
    out.array(count);
    for _ in 0..count {
        match r.read() {
            Ok(Value::Array(a)) => f(&Args::new(a), out),
            _ => return Err(BAD_INPUT),
        }
    }
    Ok(out.as_bytes())
}

static mut MATCHES: Matches = Matches::new();
static mut RESULTS: Writer = Writer::new();

unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        core::slice::from_raw_parts(ptr, len)
    }
}

/// `(ptr << 32) | len`, the ABI's way of returning a buffer.
fn pack(out: &[u8]) -> i64 {
    let ptr = out.as_ptr() as usize as u64;
    let len = out.len() as u64;
    if ptr > i32::MAX as u64 || len > u32::MAX as u64 {
        return OUT_OF_RANGE;
    }
    ((ptr << 32) | len) as i64
}

/// `kestrel_init` body.
///
/// # Safety
/// `ptr..ptr+len` must be readable; called by the host only.
pub unsafe fn wasm_init<R: Rule>(slot: &mut Slot<R>, ptr: *const u8, len: usize) -> i32 {
    install_panic_hook();
    init_rule(slot, input(ptr, len))
}

/// `kestrel_match` body.
///
/// # Safety
/// `ptr..ptr+len` must be readable; called by the host only, never
/// re-entered (the output buffer is a static).
pub unsafe fn wasm_match<R: Rule>(slot: &mut Slot<R>, ptr: *const u8, len: usize, count: usize) -> i64 {
    install_panic_hook();
    match match_batch(slot, input(ptr, len), count, &mut MATCHES) {
        Ok(out) => pack(out),
        Err(status) => status,
    }
}

/// `kestrel_fn_<name>` body.
///
/// # Safety
/// As for `wasm_match`.
pub unsafe fn wasm_call(ptr: *const u8, len: usize, count: usize, f: impl FnMut(&Args<'_>, &mut Writer)) -> i64 {
    install_panic_hook();
    match call_function(input(ptr, len), count, &mut RESULTS, f) {
        Ok(out) => pack(out),
        Err(status) => status,
    }
}

/// Sends panic messages to `kestrel.log` (level 3). The trap that follows
/// (`unreachable`, from the abort) is what the host sees as a fault.
#[cfg(target_arch = "wasm32")]
pub(crate) fn install_panic_hook() {
    static mut INSTALLED: bool = false;
    unsafe {
        if INSTALLED {
            return;
        }
        INSTALLED = true;
    }
    std::panic::set_hook(alloc::boxed::Box::new(|info| {
        log::log_fmt(Level::Error, format_args!("{}", info));
    }));
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn install_panic_hook() {}

#[cfg(target_arch = "wasm32")]
mod exports {
    use core::alloc::Layout;
    use core::ptr;

    /// The input buffer: address and capacity, reused until a call needs more.
    static mut INPUT: (usize, usize) = (0, 0);
    const INPUT_ALIGN: usize = 16;

    #[no_mangle]
    pub extern "C" fn kestrel_abi_version() -> i32 {
        super::install_panic_hook();
        1
    }

    /// Returns the input buffer, grown (to a power of two) when `size` does
    /// not fit. On failure returns 0 and keeps the old buffer.
    #[no_mangle]
    pub unsafe extern "C" fn kestrel_alloc(size: usize) -> *mut u8 {
        super::install_panic_hook();
        let (old, cap) = INPUT;
        if old != 0 && size <= cap {
            return old as *mut u8;
        }
        let want = match size.max(256).checked_next_power_of_two() {
            Some(w) => w,
            None => return ptr::null_mut(),
        };
        let layout = match Layout::from_size_align(want, INPUT_ALIGN) {
            Ok(l) => l,
            Err(_) => return ptr::null_mut(),
        };
        let new = alloc::alloc::alloc(layout);
        if new.is_null() {
            return new;
        }
        if old != 0 {
            alloc::alloc::dealloc(old as *mut u8, Layout::from_size_align_unchecked(cap, INPUT_ALIGN));
        }
        INPUT = (new as usize, want);
        new
    }
}
