//! `kv`: a contract linked with the example library over the bridge. no_std.
//!
//! Input: lines separated by '\n' (a trailing '\r' is dropped); empty lines are skipped;
//! each line is split at its first '=' into key and value (no '=': the whole line is the
//! key and the value is empty). Later lines replace earlier ones with the same key.
//!
//! main()   -> i32: builds a library map from the input lines, logs "kv: N entries" (info),
//!                  outputs map_encode(map) followed by sha256(map_encode(map)) (32 bytes),
//!                  frees the map, returns map_len (N).
//! lookup() -> i32: the first input line is the key to look up, the remaining lines are
//!                  the pairs; outputs map_get(map, key) (empty if absent), returns its length.
//! add(a: i64, b: i64) -> i64: lib.add_i64(a, b) (a directly wired import).
#![no_std]

use rt::buf::Buf;
use rt::host;

// The contract itself (contract.rs), shared word for word with kv-shared and kv-standalone, which
// provide their own `Buf`, `host` and `lib`. Included first: it keeps kv.wasm's function order.
include!("contract.rs");

rt::export_allocator!();

#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The library's FFI, lowered: handle -> i32, bytes param -> (ptr, len), bytes result -> i64.
mod lib {
    #[link(wasm_import_module = "lib")]
    extern "C" {
        pub fn map_new() -> u32;
        pub fn map_insert(h: u32, kp: *const u8, kl: usize, vp: *const u8, vl: usize);
        pub fn map_get(h: u32, kp: *const u8, kl: usize) -> u64;
        pub fn map_len(h: u32) -> i32;
        pub fn map_encode(h: u32) -> u64;
        pub fn map_free(h: u32);
        pub fn sha256(p: *const u8, l: usize) -> u64;
        pub fn add_i64(a: i64, b: i64) -> i64;
    }
}
