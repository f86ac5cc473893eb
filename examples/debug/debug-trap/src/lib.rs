//! A contract built with DWARF debug info (`debug = true`): its traps are reported with the Rust file
//! and line they come from (docs/API.md, Frames). `run` loads from an address outside memory, in
//! src/math.rs; `divide(a)` traps on a zero divisor (`set_divisor` sets it; 0 at start), also there.
#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

mod math;

static mut DIVISOR: i32 = 0;
static mut ADDR: u32 = 0x7fff_fff0;

#[no_mangle]
pub extern "C" fn set_divisor(d: i32) {
    unsafe { DIVISOR = d }
}

/// An out-of-bounds load in math.rs (address 0x7fff_fff0).
#[no_mangle]
pub extern "C" fn run() -> i32 {
    let a = unsafe { core::ptr::read_volatile(&ADDR) };
    math::load_scaled(a) + 1
}

/// `unreachable` in math.rs when the divisor is 0.
#[no_mangle]
pub extern "C" fn divide(a: i32) -> i32 {
    let d = unsafe { core::ptr::read_volatile(&DIVISOR) };
    math::checked_div(a, d)
}
