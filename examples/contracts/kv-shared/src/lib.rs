//! `kv-shared`: the `kv` contract (same `main`, `lookup`, `add`: same logs, same output) for
//! shared-memory linking, plus `deep(n)`. no_std.
//!
//! - One linear memory: linked with `--import-memory`, it imports `env.memory` (the library's
//!   exported `memory`) and exports none. Its stack keeps the default 1 MiB (`__stack_pointer`
//!   starts at 0x100000), its static data sits just above 1 MiB; the library (built with
//!   `-zstack-size=2097152`) has its stack below 0x200000 and its data and heap above 2 MiB.
//! - No heap of its own: every allocation (the input buffer, the log line) goes to the library's
//!   `alloc`/`dealloc`, imported from `lib`, so a `bytes` result of the library (an i64
//!   `(len << 32) | ptr` into the shared memory) is freed with `lib.dealloc(ptr, len, 1)`.
//! - Calls into the library are direct wasm calls: a `bytes` parameter is just `(ptr, len)`.
//!
//! deep(n: i32) -> i32: checksums `TABLE` (64 non-zero bytes in this module's data segment, read
//!   volatile), calls `lib.recurse(n)` (512-byte frames on the library's shadow stack), checksums
//!   `TABLE` again, outputs both checksums (8 bytes, u32 LE each) and returns 1 if they are equal,
//!   0 if the library's stack ran down over this module's data.
#![no_std]

// rt's byte buffer and host wrappers, compiled here on top of the forwarding `heap` below
// (inside these files `crate::heap` and `crate::buf` are this crate's modules).
#[allow(dead_code)]
#[path = "../../../rt/src/buf.rs"]
mod buf;
#[allow(dead_code)]
#[path = "../../../rt/src/host.rs"]
mod host;

use buf::Buf;

#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The library's FFI, lowered (direct wasm calls over the shared memory), plus its allocator.
mod lib {
    #[link(wasm_import_module = "lib")]
    extern "C" {
        pub fn alloc(size: usize, align: usize) -> *mut u8;
        pub fn dealloc(ptr: *mut u8, size: usize, align: usize);
        pub fn map_new() -> u32;
        pub fn map_insert(h: u32, kp: *const u8, kl: usize, vp: *const u8, vl: usize);
        pub fn map_get(h: u32, kp: *const u8, kl: usize) -> u64;
        pub fn map_len(h: u32) -> i32;
        pub fn map_encode(h: u32) -> u64;
        pub fn map_free(h: u32);
        pub fn sha256(p: *const u8, l: usize) -> u64;
        pub fn add_i64(a: i64, b: i64) -> i64;
        pub fn recurse(n: i32) -> i32;
    }
}

/// The allocator `buf::Buf` uses: forwards everything to the library's heap (above 2 MiB).
#[allow(dead_code)]
mod heap {
    use super::lib;

    pub unsafe fn alloc(size: usize, align: usize) -> *mut u8 {
        lib::alloc(size, align)
    }

    /// The library may hand back a recycled block: always clear it.
    pub unsafe fn alloc_zeroed(size: usize, align: usize) -> *mut u8 {
        let p = lib::alloc(size, align);
        if !p.is_null() && size != 0 {
            core::ptr::write_bytes(p, 0, size);
        }
        p
    }

    pub unsafe fn dealloc(ptr: *mut u8, size: usize, align: usize) {
        if !ptr.is_null() && size != 0 {
            lib::dealloc(ptr, size, align)
        }
    }

    pub unsafe fn realloc(ptr: *mut u8, size: usize, align: usize, new_size: usize) -> *mut u8 {
        let q = alloc(new_size, align);
        if !q.is_null() && size != 0 {
            let n = if size < new_size { size } else { new_size };
            core::ptr::copy_nonoverlapping(ptr, q, n);
            dealloc(ptr, size, align);
        }
        q
    }
}

include!("../../kv/src/contract.rs");

/// 64 non-zero bytes in this module's own data segment (just above 0x100000).
static TABLE: [u8; 64] = [
    0x6b, 0x76, 0x2d, 0x73, 0x68, 0x61, 0x72, 0x65, 0x64, 0x3a, 0x20, 0x64, 0x61, 0x74, 0x61, 0x20,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
    0xf1, 0xe2, 0xd3, 0xc4, 0xb5, 0xa6, 0x97, 0x88, 0x79, 0x6a, 0x5b, 0x4c, 0x3d, 0x2e, 0x1f, 0x11,
    0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xba, 0xbe, 0x0b, 0xad, 0xf0, 0x0d, 0xfe, 0xed, 0xfa, 0xce,
];

/// FNV-1a over `TABLE`, read with volatile loads (never const-folded).
fn table_checksum() -> u32 {
    let p = TABLE.as_ptr();
    let mut h: u32 = 0x811c_9dc5;
    for i in 0..TABLE.len() {
        h = (h ^ unsafe { core::ptr::read_volatile(p.add(i)) } as u32).wrapping_mul(0x0100_0193);
    }
    h
}

#[no_mangle]
pub extern "C" fn deep(n: i32) -> i32 {
    let before = table_checksum();
    unsafe { lib::recurse(n) };
    let after = table_checksum();
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&before.to_le_bytes());
    out[4..].copy_from_slice(&after.to_le_bytes());
    host::output(&out);
    (before == after) as i32
}
