//! `oom`: main() pushes 64 KiB `Vec<u8>` chunks (each written, so pages are touched) into
//! a `Vec` until an allocation fails. With std, Rust's allocation-error path then aborts,
//! which on wasm32-unknown-unknown is an `unreachable` trap: under a memory cap the runner
//! reports `memory_limit`. Without a cap it grows to the 4 GiB wasm32 maximum: always run it
//! with a `limits.memoryBytes`. Uses std (the point is Rust's real alloc-error behaviour)
//! with `rt`'s allocator as the global allocator. No imports.

#[global_allocator]
static HEAP: rt::heap::Heap = rt::heap::Heap;

rt::export_allocator!();

#[no_mangle]
pub extern "C" fn main() -> i32 {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut c = vec![0u8; 65536];
        // A volatile write: the allocation is really used and cannot be elided.
        unsafe { core::ptr::write_volatile(&mut c[65535], chunks.len() as u8) };
        chunks.push(c);
        // Keep the loop observable so it cannot be optimised away.
        if chunks.len() == usize::MAX {
            return chunks.len() as i32;
        }
    }
}
