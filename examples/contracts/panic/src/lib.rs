//! `panic`: main() stops the execution through host.panic with
//! "contract refused: " + input (input bytes passed through as-is). no_std.
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
    let mut msg = Buf::with_capacity(18 + input.len());
    msg.extend(b"contract refused: ");
    msg.extend(input.as_slice());
    host::panic(msg.as_slice())
}
