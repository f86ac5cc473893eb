//! Deterministic segregated free-list allocator.
//!
//! Every request `(size, align)` maps to a power-of-two size class
//! `c = next_pow2(max(size, align, 8))`. Each class has a LIFO free list threaded through
//! the first 4 bytes of its free blocks; blocks carry no header (the ABI's `dealloc`
//! passes the size and alignment back, like Rust's `GlobalAlloc`). A request pops its
//! class's list, or else is carved from the top of the heap (starting at `__heap_base`),
//! aligned to `min(c, 4096)`; the alignment gap is split into smaller free blocks so no
//! byte is lost. The heap grows with `memory.grow`; when that fails (memory cap reached)
//! `alloc` returns 0. Alignments above 4096 or sizes above 2 GiB are refused (0).
//!
//! Everything depends only on the sequence of calls, so the same program allocates the
//! same addresses on every run (the runner's determinism relies on it).
//! `alloc_zeroed` only clears recycled blocks (never-used heap is already zero).
//! `size == 0` returns `align` (a dangling, non-null, aligned pointer) and is never freed.

use core::arch::wasm32;

const MIN_LOG: u32 = 3; // 8-byte minimum block (a free-list link needs 4)
const MAX_BLOCK_ALIGN: usize = 4096;
const PAGE: usize = 65536;

struct State {
    free: [usize; 32],
    top: usize,
    end: usize,
}

static mut STATE: State = State { free: [0; 32], top: 0, end: 0 };

extern "C" {
    static __heap_base: u8;
}

#[inline]
fn class_log(size: usize, align: usize) -> Option<u32> {
    if align == 0 || !align.is_power_of_two() || align > MAX_BLOCK_ALIGN {
        return None;
    }
    let s = if size > align { size } else { align };
    let s = if s < (1 << MIN_LOG) { 1 << MIN_LOG } else { s };
    if s > (1usize << 31) {
        return None;
    }
    Some(s.next_power_of_two().trailing_zeros())
}

#[inline]
unsafe fn push(log: u32, p: usize) {
    *(p as *mut usize) = STATE.free[log as usize];
    STATE.free[log as usize] = p;
}

/// Allocates `size` bytes aligned to `align`; returns null (0) on failure.
pub unsafe fn alloc(size: usize, align: usize) -> *mut u8 {
    alloc_inner(size, align).0
}

/// Like [`alloc`], but the block is zero-filled. Blocks carved from never-used heap are
/// already zero (fresh or grown wasm memory), so only recycled blocks are cleared.
pub unsafe fn alloc_zeroed(size: usize, align: usize) -> *mut u8 {
    let (p, fresh) = alloc_inner(size, align);
    if !p.is_null() && !fresh && size != 0 {
        core::ptr::write_bytes(p, 0, size);
    }
    p
}

/// Returns the block and whether it comes from never-used heap (hence is all zero).
unsafe fn alloc_inner(size: usize, align: usize) -> (*mut u8, bool) {
    let log = match class_log(size, align) {
        Some(l) => l,
        None => return (core::ptr::null_mut(), false),
    };
    if size == 0 {
        return (align as *mut u8, true);
    }
    let head = STATE.free[log as usize];
    if head != 0 {
        STATE.free[log as usize] = *(head as *const usize);
        return (head as *mut u8, false);
    }
    if STATE.top == 0 {
        let base = &__heap_base as *const u8 as usize;
        STATE.top = (base + 7) & !7;
        STATE.end = wasm32::memory_size(0) * PAGE;
    }
    let c = 1usize << log;
    let a = if c < MAX_BLOCK_ALIGN { c } else { MAX_BLOCK_ALIGN };
    let start = match STATE.top.checked_add(a - 1) {
        Some(v) => v & !(a - 1),
        None => return (core::ptr::null_mut(), false),
    };
    let new_top = match start.checked_add(c) {
        Some(v) => v,
        None => return (core::ptr::null_mut(), false),
    };
    if new_top > STATE.end {
        let need = new_top - STATE.end;
        let pages = (need + PAGE - 1) / PAGE;
        if wasm32::memory_grow(0, pages) == usize::MAX {
            return (core::ptr::null_mut(), false);
        }
        STATE.end += pages * PAGE;
    }
    // Split the alignment gap [top, start) into free blocks of the largest aligned classes.
    let mut p = STATE.top;
    while p < start {
        let mut l = p.trailing_zeros().min(31);
        while p + (1usize << l) > start {
            l -= 1;
        }
        push(l, p);
        p += 1usize << l;
    }
    STATE.top = new_top;
    (start as *mut u8, true)
}

/// Returns a block obtained from [`alloc`] with the same `size` and `align`.
pub unsafe fn dealloc(ptr: *mut u8, size: usize, align: usize) {
    if ptr.is_null() || size == 0 {
        return;
    }
    if let Some(log) = class_log(size, align) {
        push(log, ptr as usize);
    }
}

/// Resizes a block; stays in place when the size class does not change.
pub unsafe fn realloc(ptr: *mut u8, size: usize, align: usize, new_size: usize) -> *mut u8 {
    if size != 0 && new_size != 0 && class_log(size, align) == class_log(new_size, align) {
        return ptr;
    }
    let q = alloc(new_size, align);
    if !q.is_null() && size != 0 {
        let n = if size < new_size { size } else { new_size };
        core::ptr::copy_nonoverlapping(ptr, q, n);
        dealloc(ptr, size, align);
    }
    q
}

/// `#[global_allocator]` adapter for std crates: `static A: rt::heap::Heap = rt::heap::Heap;`
pub struct Heap;

unsafe impl core::alloc::GlobalAlloc for Heap {
    unsafe fn alloc(&self, l: core::alloc::Layout) -> *mut u8 {
        alloc(l.size(), l.align())
    }
    unsafe fn alloc_zeroed(&self, l: core::alloc::Layout) -> *mut u8 {
        alloc_zeroed(l.size(), l.align())
    }
    unsafe fn dealloc(&self, p: *mut u8, l: core::alloc::Layout) {
        dealloc(p, l.size(), l.align())
    }
    unsafe fn realloc(&self, p: *mut u8, l: core::alloc::Layout, n: usize) -> *mut u8 {
        realloc(p, l.size(), l.align(), n)
    }
}

/// Emits the ABI exports `alloc(size: i32, align: i32) -> i32` and
/// `dealloc(ptr: i32, size: i32, align: i32)` backed by this allocator.
#[macro_export]
macro_rules! export_allocator {
    () => {
        #[no_mangle]
        pub unsafe extern "C" fn alloc(size: usize, align: usize) -> *mut u8 {
            $crate::heap::alloc(size, align)
        }
        #[no_mangle]
        pub unsafe extern "C" fn dealloc(ptr: *mut u8, size: usize, align: usize) {
            $crate::heap::dealloc(ptr, size, align)
        }
    };
}
