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

fn split_pair(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b'=') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[]),
    }
}

/// Calls `f` for every non-empty line (without '\n' and a trailing '\r').
fn for_lines<'a>(input: &'a [u8], mut f: impl FnMut(&'a [u8])) {
    for mut line in input.split(|&b| b == b'\n') {
        if let Some((&b'\r', rest)) = line.split_last() {
            line = rest;
        }
        if !line.is_empty() {
            f(line);
        }
    }
}

fn insert_lines(h: u32, input: &[u8]) {
    for_lines(input, |line| {
        let (k, v) = split_pair(line);
        unsafe { lib::map_insert(h, k.as_ptr(), k.len(), v.as_ptr(), v.len()) };
    });
}

#[no_mangle]
pub extern "C" fn main() -> i32 {
    let input = host::input();
    unsafe {
        let h = lib::map_new();
        insert_lines(h, input.as_slice());
        let n = lib::map_len(h);

        let mut msg = Buf::with_capacity(24);
        let mut digits = [0u8; 10];
        msg.extend(b"kv: ");
        msg.extend(rt::fmt_u32(n as u32, &mut digits));
        msg.extend(b" entries");
        host::log(host::INFO, msg.as_slice());

        let enc = Buf::from_ffi(lib::map_encode(h));
        let digest = Buf::from_ffi(lib::sha256(enc.as_ptr(), enc.len()));
        host::output(enc.as_slice());
        host::output(digest.as_slice());
        lib::map_free(h);
        n
    }
}

#[no_mangle]
pub extern "C" fn lookup() -> i32 {
    let input = host::input();
    let all = input.as_slice();
    let (first, rest) = match all.iter().position(|&b| b == b'\n') {
        Some(i) => (&all[..i], &all[i + 1..]),
        None => (all, &[][..]),
    };
    let key = match first.split_last() {
        Some((&b'\r', k)) => k,
        _ => first,
    };
    unsafe {
        let h = lib::map_new();
        insert_lines(h, rest);
        let v = Buf::from_ffi(lib::map_get(h, key.as_ptr(), key.len()));
        host::output(v.as_slice());
        lib::map_free(h);
        v.len() as i32
    }
}

#[no_mangle]
pub extern "C" fn add(a: i64, b: i64) -> i64 {
    unsafe { lib::add_i64(a, b) }
}
