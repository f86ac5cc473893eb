//! `compute`: CPU-bound exports for fuel-overhead benchmarks. No imports. no_std.
//!
//! sha_loop(n): state = bytes 0,1,..,63; n times: state[0..32] = sha256(state[0..64]);
//!              returns state[0..4] as a little-endian i32.
//! sort(n):     fills n u32 with xorshift32 (x ^= x<<13; x ^= x>>17; x ^= x<<5; seed
//!              2463534242, each value is the state after a step), heapsorts them ascending
//!              (traps if the result is not sorted), returns c as i32 where c = 0 and
//!              c = c*31 + v (wrapping u32) over the sorted values. n <= 0 returns 0.
#![no_std]

use rt::buf::Buf;

#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[no_mangle]
pub extern "C" fn sha_loop(n: i32) -> i32 {
    let mut state = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        state[i] = i as u8;
        i += 1;
    }
    let mut k = 0;
    while k < n {
        let h = rt::sha256::sha256(&state);
        state[..32].copy_from_slice(&h);
        k += 1;
    }
    i32::from_le_bytes([state[0], state[1], state[2], state[3]])
}

fn sift_down(v: &mut [u32], mut root: usize, end: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && v[child] < v[child + 1] {
            child += 1;
        }
        if v[root] >= v[child] {
            return;
        }
        v.swap(root, child);
        root = child;
    }
}

fn heapsort(v: &mut [u32]) {
    let n = v.len();
    let mut i = n / 2;
    while i > 0 {
        i -= 1;
        sift_down(v, i, n);
    }
    let mut end = n;
    while end > 1 {
        end -= 1;
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

#[no_mangle]
pub extern "C" fn sort(n: i32) -> i32 {
    if n <= 0 {
        return 0;
    }
    let n = n as usize;
    let mut buf = Buf::zeroed(n.checked_mul(4).unwrap_or_else(|| core::arch::wasm32::unreachable()));
    let bytes = buf.as_mut_slice();
    // The allocator aligns blocks >= 8 bytes to at least 8, so the buffer is u32-aligned.
    let v = unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr() as *mut u32, n) };
    let mut x: u32 = 2463534242;
    for slot in v.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *slot = x;
    }
    heapsort(v);
    let mut c: u32 = 0;
    let mut prev = 0u32;
    for &e in v.iter() {
        if e < prev {
            core::arch::wasm32::unreachable();
        }
        prev = e;
        c = c.wrapping_mul(31).wrapping_add(e);
    }
    c as i32
}
