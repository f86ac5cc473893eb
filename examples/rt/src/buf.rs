//! A minimal owned, growable byte buffer on top of [`crate::heap`] (for no_std crates).

use crate::heap;

pub struct Buf {
    ptr: *mut u8,
    len: usize,
    cap: usize,
}

impl Buf {
    pub const fn new() -> Buf {
        Buf { ptr: 1 as *mut u8, len: 0, cap: 0 }
    }

    /// A zero-filled buffer of `len` bytes. Traps (unreachable) if memory is exhausted.
    pub fn zeroed(len: usize) -> Buf {
        if len == 0 {
            return Buf::new();
        }
        let ptr = unsafe { heap::alloc_zeroed(len, 1) };
        if ptr.is_null() {
            core::arch::wasm32::unreachable();
        }
        Buf { ptr, len, cap: len }
    }

    pub fn with_capacity(cap: usize) -> Buf {
        if cap == 0 {
            return Buf::new();
        }
        let ptr = unsafe { heap::alloc(cap, 1) };
        if ptr.is_null() {
            core::arch::wasm32::unreachable();
        }
        Buf { ptr, len: 0, cap }
    }

    /// Takes ownership of `len` bytes at `ptr` allocated with `alloc(len, 1)`
    /// (e.g. a `bytes` result handed over by the bridge).
    pub unsafe fn from_raw(ptr: *mut u8, len: usize) -> Buf {
        if len == 0 {
            return Buf::new();
        }
        Buf { ptr, len, cap: len }
    }

    /// Splits a bridge `bytes` result `(len << 32) | ptr` and takes ownership of it.
    pub unsafe fn from_ffi(v: u64) -> Buf {
        Buf::from_raw(v as u32 as usize as *mut u8, (v >> 32) as usize)
    }

    pub fn extend(&mut self, s: &[u8]) {
        let need = self.len + s.len();
        if need > self.cap {
            let mut cap = if self.cap == 0 { 16 } else { self.cap * 2 };
            if cap < need {
                cap = need;
            }
            let p = unsafe {
                if self.cap == 0 {
                    heap::alloc(cap, 1)
                } else {
                    heap::realloc(self.ptr, self.cap, 1, cap)
                }
            };
            if p.is_null() {
                core::arch::wasm32::unreachable();
            }
            self.ptr = p;
            self.cap = cap;
        }
        unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), self.ptr.add(self.len), s.len()) };
        self.len = need;
    }

    pub fn as_slice(&self) -> &[u8] {
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        unsafe { heap::dealloc(self.ptr, self.cap, 1) };
    }
}
