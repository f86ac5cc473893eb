// Shared-memory linking: the library owns (and exports, lld's default, as `memory`) the one linear
// memory. A 2 MiB stack puts its `__stack_pointer` at 0x200000 and its static data and heap above
// 2 MiB, leaving [0x100000, 0x200000) as its stack room and [0, 0x100000) plus the bytes just above
// 1 MiB to the contract (its 1 MiB stack and its data).
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-zstack-size=2097152");
    println!("cargo:rerun-if-changed=build.rs");
}
