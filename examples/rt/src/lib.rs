//! `rt`: the small no_std runtime shared by the example library and contracts.
//!
//! - [`heap`]: a deterministic segregated free-list allocator over linear memory
//!   (used as `#[global_allocator]` by the std crates and directly by the no_std ones),
//!   plus [`export_allocator!`] which emits the ABI's `alloc` / `dealloc` exports.
//! - [`host`]: the host ABI v1 imports (module `host`) and safe wrappers.
//! - [`buf::Buf`]: a minimal owned byte buffer for no_std crates (no `alloc` crate:
//!   rustc 1.63 needs the unstable `#[alloc_error_handler]` for `alloc` in no_std).
//! - [`sha256`]: hand-written SHA-256 (FIPS 180-4).
//! - [`fmt_u32`]: decimal formatting without `core::fmt` (keeps contracts small).
#![no_std]

pub mod buf;
pub mod heap;
pub mod host;
pub mod sha256;

/// Writes `n` in decimal into `out` and returns the used suffix of it.
pub fn fmt_u32(mut n: u32, out: &mut [u8; 10]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &out[i..]
}
