//! `fib`: recursion for fuel and stack-depth tests. No imports. no_std.
//!
//! Both functions read the volatile static `ZERO` (= 0) after their recursive calls, so
//! LLVM cannot turn the recursion into a loop (no tail-recursion or accumulator
//! elimination): every call in the source is a real wasm `call`, and no shadow-stack
//! (linear memory) frame is used.
#![no_std]

#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

static mut ZERO: i32 = 0;

#[inline(always)]
fn zero() -> i32 {
    unsafe { core::ptr::read_volatile(&ZERO) }
}

/// Naive recursive Fibonacci: fib(0)=0, fib(1)=1, fib(n)=fib(n-1)+fib(n-2) (wrapping);
/// n < 2 returns n. fib(n) makes exactly 2*fib(n+1)-1 calls to itself in total.
#[no_mangle]
pub extern "C" fn fib(n: i32) -> i64 {
    if n < 2 {
        return n as i64;
    }
    let a = fib(n - 1);
    let b = fib(n - 2);
    a.wrapping_add(b).wrapping_add(zero() as i64)
}

/// Non-tail recursion n deep: depth(n) = depth(n-1) + 1, depth(n <= 0) = 0.
/// depth(n) has n+1 nested activations of `depth` (for n >= 0).
#[no_mangle]
pub extern "C" fn depth(n: i32) -> i32 {
    if n <= 0 {
        return zero();
    }
    depth(n - 1).wrapping_add(1).wrapping_add(zero())
}
