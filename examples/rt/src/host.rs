//! Host ABI v1 (`docs/ABI.md`, "Host ABI v1"): imports from wasm module `host`.
//! An import only appears in a module that actually uses it.

use crate::buf::Buf;

pub mod raw {
    #[link(wasm_import_module = "host")]
    extern "C" {
        pub fn input_len() -> i32;
        pub fn input_read(dst: *mut u8);
        pub fn output(ptr: *const u8, len: usize);
        pub fn log(level: i32, ptr: *const u8, len: usize);
        pub fn panic(ptr: *const u8, len: usize);
    }
}

pub const TRACE: i32 = 0;
pub const DEBUG: i32 = 1;
pub const INFO: i32 = 2;
pub const WARN: i32 = 3;
pub const ERROR: i32 = 4;

/// Reads the whole request input into a fresh buffer.
pub fn input() -> Buf {
    let n = unsafe { raw::input_len() } as u32 as usize;
    let mut b = Buf::zeroed(n);
    if n > 0 {
        unsafe { raw::input_read(b.as_mut_slice().as_mut_ptr()) };
    }
    b
}

/// Appends `bytes` to the execution's output.
pub fn output(bytes: &[u8]) {
    unsafe { raw::output(bytes.as_ptr(), bytes.len()) }
}

/// Logs a UTF-8 message at `level` (0..4 = trace, debug, info, warn, error).
pub fn log(level: i32, msg: &[u8]) {
    unsafe { raw::log(level, msg.as_ptr(), msg.len()) }
}

/// Stops the execution with `error.kind = "panic"` and `msg`. Never returns
/// (if a host did return, the module traps with `unreachable`).
pub fn panic(msg: &[u8]) -> ! {
    unsafe { raw::panic(msg.as_ptr(), msg.len()) };
    core::arch::wasm32::unreachable()
}
