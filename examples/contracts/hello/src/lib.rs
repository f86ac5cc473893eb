//! `hello`: host ABI only, no library. no_std.
//! main(): reads the input, logs "hello called" (info), outputs "hello, " + input,
//! returns the input length.
#![no_std]

use rt::buf::Buf;
use rt::host;

rt::export_allocator!();

#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[no_mangle]
pub extern "C" fn main() -> i32 {
    let input = host::input();
    host::log(host::INFO, b"hello called");
    let mut out = Buf::with_capacity(7 + input.len());
    out.extend(b"hello, ");
    out.extend(input.as_slice());
    host::output(out.as_slice());
    input.len() as i32
}
