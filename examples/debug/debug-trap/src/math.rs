// The helpers lib.rs calls; both can trap, and the trap reports say where.

#[inline(never)]
pub fn checked_div(a: i32, b: i32) -> i32 {
    if b == 0 {
        core::arch::wasm32::unreachable();
    }
    a.wrapping_div(b)
}

#[inline(never)]
pub fn load_scaled(addr: u32) -> i32 {
    let p = addr as *const i32;
    let v = unsafe { *p };
    v * 5
}
