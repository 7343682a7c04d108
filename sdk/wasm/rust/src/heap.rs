//! The global allocator for wasm32: segregated free lists over
//! power-of-two size classes, fed by `memory.grow`.
//!
//! Why this design: a rule runs for days, so freed memory must be reused
//! (a bump allocator would grow with every event that allocates), but the
//! allocator should stay small and O(1). Every block has a power-of-two
//! size and is aligned to that size (up to 64 KiB), so any `Layout` whose
//! alignment does not exceed its size class is served; freed blocks go on
//! their class's list and are handed out again as is. Blocks are never
//! split or merged across classes, which bounds the heap at roughly the
//! peak in-use bytes of each class: fine for a module whose working set
//! per batch is steady.
//!
//! * classes 2^4 (16 B) ..= 2^30; a request is rounded up to
//!   `max(size, align, 16)`;
//! * blocks below 4 KiB are carved from 4 KiB chunks, themselves blocks
//!   of the 4 KiB class;
//! * blocks of 4 KiB and more come from the top of the heap, aligned to
//!   `min(size, 64 KiB)`; the alignment gap is returned to the 4 KiB list.
//!
//! Linear memory can only grow, never shrink, so the heap's high-water
//! mark is what the module keeps; `limits.memory_mb` caps it. When
//! `memory.grow` fails the allocation logs it and returns null: `Vec` then
//! traps, which the host reports as a fault.

use core::alloc::Layout;
use core::ptr;

pub(crate) const PAGE: usize = 65536;
const MIN_CLASS: u32 = 4;
const CHUNK_CLASS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_CLASS;
const MAX_CLASS: u32 = 30;

/// Where the heap gets its memory from: wasm's `memory.grow`, or a test
/// arena on the host.
pub(crate) trait Memory {
    /// The first free address and the end of the memory available now.
    fn start(&mut self) -> (usize, usize);
    /// Adds `pages` pages of 64 KiB at the end; false if refused.
    fn grow(&mut self, pages: usize) -> bool;
}

/// The allocator's state. Free-list links are stored in the free blocks.
pub(crate) struct Arena {
    free: [usize; MAX_CLASS as usize + 1],
    top: usize,
    end: usize,
}

fn align_up(x: usize, align: usize) -> Option<usize> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

/// The size class (log2 of the block size) serving `layout`.
fn class_of(layout: &Layout) -> Option<u32> {
    if layout.align() > PAGE {
        return None;
    }
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS);
    let class = size.checked_next_power_of_two()?.trailing_zeros();
    if class > MAX_CLASS {
        None
    } else {
        Some(class)
    }
}

impl Arena {
    pub(crate) const fn new() -> Self {
        Arena { free: [0; MAX_CLASS as usize + 1], top: 0, end: 0 }
    }

    unsafe fn push(&mut self, class: u32, block: usize) {
        ptr::write(block as *mut usize, self.free[class as usize]);
        self.free[class as usize] = block;
    }

    unsafe fn pop(&mut self, class: u32) -> Option<usize> {
        let block = self.free[class as usize];
        if block == 0 {
            return None;
        }
        self.free[class as usize] = ptr::read(block as *const usize);
        Some(block)
    }

    unsafe fn alloc_class(&mut self, class: u32, mem: &mut impl Memory) -> *mut u8 {
        if let Some(block) = self.pop(class) {
            return block as *mut u8;
        }
        if class < CHUNK_CLASS {
            let chunk = self.alloc_class(CHUNK_CLASS, mem);
            if chunk.is_null() {
                return chunk;
            }
            // Keep the first block; the rest of the chunk goes on the
            // list, pushed from the top so it is handed out bottom-up.
            let size = 1usize << class;
            let mut off = CHUNK - size;
            while off > 0 {
                self.push(class, chunk as usize + off);
                off -= size;
            }
            return chunk;
        }
        self.bump(1usize << class, mem)
    }

    /// Takes `size` bytes (a power of two, at least a chunk) from the top.
    unsafe fn bump(&mut self, size: usize, mem: &mut impl Memory) -> *mut u8 {
        if self.top == 0 {
            let (start, end) = mem.start();
            self.top = match align_up(start, CHUNK) {
                Some(t) => t,
                None => return ptr::null_mut(),
            };
            self.end = end;
        }
        let start = match align_up(self.top, size.min(PAGE)) {
            Some(s) => s,
            None => return ptr::null_mut(),
        };
        let new_top = match start.checked_add(size) {
            Some(t) => t,
            None => return ptr::null_mut(),
        };
        if new_top > self.end {
            let pages = (new_top - self.end + PAGE - 1) / PAGE;
            if !mem.grow(pages) {
                return ptr::null_mut();
            }
            self.end += pages * PAGE;
        }
        // `top` is always chunk-aligned, so the gap is whole chunks.
        let mut gap = self.top;
        while gap < start {
            self.push(CHUNK_CLASS, gap);
            gap += CHUNK;
        }
        self.top = new_top;
        start as *mut u8
    }

    pub(crate) unsafe fn alloc(&mut self, layout: Layout, mem: &mut impl Memory) -> *mut u8 {
        match class_of(&layout) {
            Some(class) => self.alloc_class(class, mem),
            None => ptr::null_mut(),
        }
    }

    pub(crate) unsafe fn dealloc(&mut self, block: *mut u8, layout: Layout) {
        if let Some(class) = class_of(&layout) {
            self.push(class, block as usize);
        }
    }

    pub(crate) unsafe fn realloc(
        &mut self,
        block: *mut u8,
        layout: Layout,
        new_size: usize,
        mem: &mut impl Memory,
    ) -> *mut u8 {
        let new_layout = match Layout::from_size_align(new_size, layout.align()) {
            Ok(l) => l,
            Err(_) => return ptr::null_mut(),
        };
        let class = class_of(&layout);
        if class.is_some() && class == class_of(&new_layout) {
            // Same block size: nothing moves (Vec growth within a class).
            return block;
        }
        let new = self.alloc(new_layout, mem);
        if !new.is_null() {
            ptr::copy_nonoverlapping(block, new, layout.size().min(new_size));
            self.dealloc(block, layout);
        }
        new
    }

    /// Bytes handed out from the top so far (the heap's high-water mark).
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.top
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) mod wasm {
    use super::{Arena, Memory, PAGE};
    use core::alloc::{GlobalAlloc, Layout};
    use core::arch::wasm32;
    use core::cell::UnsafeCell;

    extern "C" {
        // Set by the linker (wasm-ld): the first byte after static data.
        static __heap_base: u8;
    }

    struct LinearMemory;

    impl Memory for LinearMemory {
        fn start(&mut self) -> (usize, usize) {
            let base = unsafe { &__heap_base as *const u8 as usize };
            (base, wasm32::memory_size(0).saturating_mul(PAGE))
        }
        fn grow(&mut self, pages: usize) -> bool {
            if wasm32::memory_grow(0, pages) == usize::MAX {
                crate::log::error("kestrel-sdk: out of linear memory (raise limits.memory_mb?)");
                return false;
            }
            true
        }
    }

    pub struct Heap(UnsafeCell<Arena>);

    // wasm32-unknown-unknown without the atomics feature has one thread.
    unsafe impl Sync for Heap {}

    unsafe impl GlobalAlloc for Heap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            (*self.0.get()).alloc(layout, &mut LinearMemory)
        }
        unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
            (*self.0.get()).dealloc(block, layout)
        }
        unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            (*self.0.get()).realloc(block, layout, new_size, &mut LinearMemory)
        }
    }

    #[global_allocator]
    static HEAP: Heap = Heap(UnsafeCell::new(Arena::new()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// A host-side stand-in for linear memory: a fixed buffer of which
    /// `pages` pages are "grown".
    struct TestMemory {
        buf: Vec<u8>,
        pages: usize,
        max_pages: usize,
    }

    impl TestMemory {
        fn new(max_pages: usize) -> Self {
            TestMemory { buf: vec![0; (max_pages + 1) * PAGE], pages: 1, max_pages }
        }
        fn base(&self) -> usize {
            (self.buf.as_ptr() as usize + PAGE - 1) & !(PAGE - 1)
        }
    }

    impl Memory for TestMemory {
        fn start(&mut self) -> (usize, usize) {
            (self.base() + 100, self.base() + self.pages * PAGE)
        }
        fn grow(&mut self, pages: usize) -> bool {
            if self.pages + pages > self.max_pages {
                return false;
            }
            self.pages += pages;
            true
        }
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_reused() {
        let mut mem = TestMemory::new(64);
        let mut a = Arena::new();
        unsafe {
            let mut blocks = Vec::new();
            for (i, &(size, align)) in
                [(1, 1), (16, 8), (17, 4), (100, 8), (4096, 8), (5000, 16), (70000, 8), (24, 64)].iter().enumerate()
            {
                let p = a.alloc(layout(size, align), &mut mem);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0);
                ptr::write_bytes(p, i as u8, size);
                blocks.push((p, size, align, i as u8));
            }
            // Nothing overlapped: every block still holds its own byte.
            for &(p, size, _, tag) in &blocks {
                assert!(std::slice::from_raw_parts(p, size).iter().all(|&b| b == tag));
            }
            let high = a.used();
            for &(p, size, align, _) in &blocks {
                a.dealloc(p, layout(size, align));
            }
            for &(size, align) in
                [(1, 1), (16, 8), (17, 4), (100, 8), (4096, 8), (5000, 16), (70000, 8), (24, 64)].iter()
            {
                assert!(!a.alloc(layout(size, align), &mut mem).is_null());
            }
            assert_eq!(a.used(), high, "freed blocks are reused, the heap does not grow");
        }
    }

    #[test]
    fn steady_churn_stays_flat() {
        let mut mem = TestMemory::new(64);
        let mut a = Arena::new();
        unsafe {
            let mut high = 0;
            for round in 0..10_000usize {
                let n = 1 + round % 3000;
                let p = a.alloc(layout(n, 1), &mut mem);
                let q = a.realloc(p, layout(n, 1), n * 3, &mut mem);
                assert!(!q.is_null());
                a.dealloc(q, layout(n * 3, 1));
                if round == 5000 {
                    high = a.used();
                }
            }
            assert_eq!(a.used(), high);
        }
    }

    #[test]
    fn out_of_memory_returns_null() {
        let mut mem = TestMemory::new(4);
        let mut a = Arena::new();
        unsafe {
            assert!(a.alloc(layout(10 * PAGE, 8), &mut mem).is_null());
            assert!(!a.alloc(layout(PAGE, 8), &mut mem).is_null());
            assert!(a.alloc(layout(1 << 31, 8), &mut mem).is_null());
        }
    }

    #[test]
    fn realloc_within_a_class_keeps_the_block() {
        let mut mem = TestMemory::new(4);
        let mut a = Arena::new();
        unsafe {
            let p = a.alloc(layout(40, 8), &mut mem);
            ptr::write_bytes(p, 7, 40);
            assert_eq!(a.realloc(p, layout(40, 8), 64, &mut mem), p);
            let q = a.realloc(p, layout(64, 8), 65, &mut mem);
            assert_ne!(q, p);
            assert!(std::slice::from_raw_parts(q, 40).iter().all(|&b| b == 7));
        }
    }
}
