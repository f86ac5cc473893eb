//! `hello-lib`: the smallest bridge-linked contract. no_std.
//! main(): outputs lib.hex(input) (lowercase hex), returns the input length.
#![no_std]

use rt::buf::Buf;
use rt::host;

rt::export_allocator!();

#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[link(wasm_import_module = "lib")]
extern "C" {
    fn hex(p: *const u8, l: usize) -> u64;
}

#[no_mangle]
pub extern "C" fn main() -> i32 {
    let input = host::input();
    let out = unsafe { Buf::from_ffi(hex(input.as_ptr(), input.len())) };
    host::output(out.as_slice());
    input.len() as i32
}
