//! `kv-standalone`: the `kv` contract (same `main`, `lookup`, `add`: same logs, same output) with
//! the example library's code linked in statically. Imports only from `host`; its own memory (the
//! default layout: 1 MiB stack, then data, then the heap); no `lib` imports, no `ffi` section.
//!
//! The library's `src/lib.rs` is compiled here as the module `library` (with `--cfg
//! library_static`, see build.rs), so the contract calls the library's Rust functions directly.
//! Like the library it uses std (`BTreeMap`, `Vec`), on `rt`'s allocator as the global allocator
//! (declared in the library module): the library's `bytes` results (`Box<[u8]>`) and the
//! contract's `rt::buf::Buf`s live in the same heap, so `Buf::from_ffi` frees them correctly.

use rt::buf::Buf;
use rt::host;

#[allow(dead_code)]
#[path = "../../../library/src/lib.rs"]
mod library;

/// The library's FFI with the same lowered types as the `lib` imports of `kv`, as plain calls.
mod lib {
    use crate::library as l;

    pub unsafe fn map_new() -> u32 {
        l::map_new() as usize as u32
    }
    pub unsafe fn map_insert(h: u32, kp: *const u8, kl: usize, vp: *const u8, vl: usize) {
        l::map_insert(h as usize as *mut l::Map, kp, kl, vp, vl)
    }
    pub unsafe fn map_get(h: u32, kp: *const u8, kl: usize) -> u64 {
        l::map_get(h as usize as *mut l::Map, kp, kl)
    }
    pub unsafe fn map_len(h: u32) -> i32 {
        l::map_len(h as usize as *mut l::Map)
    }
    pub unsafe fn map_encode(h: u32) -> u64 {
        l::map_encode(h as usize as *mut l::Map)
    }
    pub unsafe fn map_free(h: u32) {
        l::map_free(h as usize as *mut l::Map)
    }
    pub unsafe fn sha256(p: *const u8, l: usize) -> u64 {
        crate::library::sha256(p, l)
    }
    pub unsafe fn add_i64(a: i64, b: i64) -> i64 {
        l::add_i64(a, b)
    }
}

include!("../../kv/src/contract.rs");
