// The library's source is compiled into this crate as a module; `--cfg library_static` turns off
// its `#[no_mangle]` exports, its `alloc`/`dealloc` exports and its `ffi` custom section.
fn main() {
    println!("cargo:rustc-cfg=library_static");
    println!("cargo:rerun-if-changed=build.rs");
}
