//! Example FFI library (its `ffi` section, the lowering and the linking protocol: `docs/ABI.md`;
//! the link modes: `docs/API.md`).
//!
//! One source, three builds (see `examples/README.md`):
//! - `library.wasm` (this package): bridge mode, own memory, 1 MiB stack;
//! - `library-shared.wasm` (package `library-shared`, same file as its crate root): shared mode,
//!   `-zstack-size=2097152`, exports the memory the contract imports;
//! - statically inside `kv-standalone.wasm` (`#[path]` module, built with `--cfg library_static`):
//!   no `#[no_mangle]` exports, no `alloc`/`dealloc` exports, no `ffi` section; the contract calls
//!   these functions as plain Rust functions.
//!
//! Built with std (for `BTreeMap`/`Vec`), but with `rt`'s deterministic free-list
//! allocator as the global allocator, so the host's `alloc`/`dealloc` calls and Rust's
//! own allocations share one heap. No imports: a panic here (e.g. a bad handle) is an
//! `unreachable` trap.
//!
//! Lowering (what the exports look like in wasm):
//! - `handle`            -> i32 (pointer to a boxed [`Map`])
//! - `bytes` parameter   -> (ptr i32, len i32) in this module's memory; borrowed, the host frees it
//! - `bytes` result      -> i64 `(len << 32) | ptr`, allocated with `alloc(len, 1)`; the host
//!                          copies it out and frees it with `dealloc(ptr, len, 1)`
use std::collections::BTreeMap;

#[global_allocator]
static HEAP: rt::heap::Heap = rt::heap::Heap;

#[cfg(not(library_static))]
rt::export_allocator!();

/// The FFI declarations, as the wasm custom section `ffi` (text of `ffi.txt`, exact).
#[cfg(not(library_static))]
const FFI_TEXT: &[u8] = include_bytes!("../ffi.txt");
#[cfg(not(library_static))]
#[link_section = "ffi"]
#[used]
pub static FFI: [u8; FFI_TEXT.len()] = {
    let mut a = [0u8; FFI_TEXT.len()];
    let mut i = 0;
    while i < a.len() {
        a[i] = FFI_TEXT[i];
        i += 1;
    }
    a
};

const MAGIC: u32 = 0x4d41_5031; // "MAP1"

pub struct Map {
    magic: u32,
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

unsafe fn map<'a>(h: *mut Map) -> &'a mut Map {
    if h.is_null() || (h as usize) % core::mem::align_of::<Map>() != 0 || (*h).magic != MAGIC {
        core::arch::wasm32::unreachable();
    }
    &mut *h
}

unsafe fn arg<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        core::slice::from_raw_parts(ptr, len)
    }
}

/// Hands a buffer to the caller as `(len << 32) | ptr` (exact-size allocation, align 1).
fn ret(v: Vec<u8>) -> u64 {
    let b = v.into_boxed_slice();
    let len = b.len() as u64;
    let ptr = Box::into_raw(b) as *mut u8 as usize as u64;
    (len << 32) | ptr
}

/// SCALE compact encoding of a u32 (as used by parity-scale-codec).
fn compact(out: &mut Vec<u8>, n: u32) {
    if n < 1 << 6 {
        out.push((n << 2) as u8);
    } else if n < 1 << 14 {
        out.extend_from_slice(&(((n << 2) | 1) as u16).to_le_bytes());
    } else if n < 1 << 30 {
        out.extend_from_slice(&((n << 2) | 2).to_le_bytes());
    } else {
        out.push(3); // big-integer mode, 4 bytes follow
        out.extend_from_slice(&n.to_le_bytes());
    }
}

/// `map_new() -> handle`: a new empty map.
#[cfg_attr(not(library_static), no_mangle)]
pub extern "C" fn map_new() -> *mut Map {
    Box::into_raw(Box::new(Map { magic: MAGIC, entries: BTreeMap::new() }))
}

/// `map_insert(handle, bytes, bytes)`: inserts or replaces `key -> value`.
#[cfg_attr(not(library_static), no_mangle)]
pub unsafe extern "C" fn map_insert(h: *mut Map, kp: *const u8, kl: usize, vp: *const u8, vl: usize) {
    let m = map(h);
    m.entries.insert(arg(kp, kl).to_vec(), arg(vp, vl).to_vec());
}

/// `map_get(handle, bytes) -> bytes`: the value for `key`, empty if absent.
#[cfg_attr(not(library_static), no_mangle)]
pub unsafe extern "C" fn map_get(h: *mut Map, kp: *const u8, kl: usize) -> u64 {
    let m = map(h);
    ret(m.entries.get(arg(kp, kl)).cloned().unwrap_or_default())
}

/// `map_len(handle) -> i32`: number of entries.
#[cfg_attr(not(library_static), no_mangle)]
pub unsafe extern "C" fn map_len(h: *mut Map) -> i32 {
    map(h).entries.len() as i32
}

/// `map_encode(handle) -> bytes`: `compact(n)` then, in ascending bytewise key order,
/// `compact(len(key)) key compact(len(value)) value` (= SCALE of `BTreeMap<Vec<u8>, Vec<u8>>`).
#[cfg_attr(not(library_static), no_mangle)]
pub unsafe extern "C" fn map_encode(h: *mut Map) -> u64 {
    let m = map(h);
    let mut out = Vec::new();
    compact(&mut out, m.entries.len() as u32);
    for (k, v) in m.entries.iter() {
        compact(&mut out, k.len() as u32);
        out.extend_from_slice(k);
        compact(&mut out, v.len() as u32);
        out.extend_from_slice(v);
    }
    ret(out)
}

/// `map_free(handle)`: frees the map; the handle is invalid afterwards.
#[cfg_attr(not(library_static), no_mangle)]
pub unsafe extern "C" fn map_free(h: *mut Map) {
    let m = map(h);
    m.magic = 0;
    drop(Box::from_raw(h));
}

/// `sha256(bytes) -> bytes`: the 32-byte SHA-256 digest.
#[cfg_attr(not(library_static), no_mangle)]
pub unsafe extern "C" fn sha256(p: *const u8, l: usize) -> u64 {
    ret(rt::sha256::sha256(arg(p, l)).to_vec())
}

/// `hex(bytes) -> bytes`: lowercase hex, two ASCII characters per byte.
#[cfg_attr(not(library_static), no_mangle)]
pub unsafe extern "C" fn hex(p: *const u8, l: usize) -> u64 {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let src = arg(p, l);
    let mut out = Vec::with_capacity(src.len() * 2);
    for &b in src {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
    ret(out)
}

/// `add_i64(i64, i64) -> i64`: wrapping addition (no `bytes`: wired wasm-to-wasm directly).
#[cfg_attr(not(library_static), no_mangle)]
pub extern "C" fn add_i64(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// Words in one [`recurse`] frame: 128 × 4 = 512 bytes of shadow stack per level.
const FRAME_WORDS: usize = 128;

/// `recurse(i32) -> i32`: a real, non-tail recursion on Rust's shadow stack (in linear memory).
///
/// Every activation fills a local 512-byte array with volatile writes (so it cannot be optimised
/// away or kept in wasm locals: each level moves `__stack_pointer` down by at least 512 bytes),
/// recurses with `n - 1` while `n > 0`, then folds its array, read back (volatile), into the inner
/// result (0 for the innermost): `sum = (sum ^ word[i]) * 0x01000193` for i = 0..128, where
/// `word[i] = (128 * n + i + 1) * 0x9e3779b9` (all wrapping u32). `max(n, 0) + 1` activations; the
/// result depends only on `n`.
#[cfg_attr(not(library_static), no_mangle)]
pub extern "C" fn recurse(n: i32) -> i32 {
    // Uninitialised (no memset): every word is written below before it is read.
    let mut frame = core::mem::MaybeUninit::<[u32; FRAME_WORDS]>::uninit();
    let p = frame.as_mut_ptr() as *mut u32;
    for i in 0..FRAME_WORDS {
        let word = (n as u32).wrapping_mul(128).wrapping_add(i as u32 + 1).wrapping_mul(0x9e37_79b9);
        unsafe { core::ptr::write_volatile(p.add(i), word) };
    }
    let mut sum = if n > 0 { recurse(n - 1) as u32 } else { 0 };
    for i in 0..FRAME_WORDS {
        sum = (sum ^ unsafe { core::ptr::read_volatile(p.add(i)) }).wrapping_mul(0x0100_0193);
    }
    sum as i32
}
