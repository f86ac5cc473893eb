// Shared-memory linking: the contract does not define a memory, it imports `env.memory` (the
// library's). The stack keeps rustc's default (1 MiB, `__stack_pointer` = 0x100000, data above).
fn main() {
    println!("cargo:rustc-cdylib-link-arg=--import-memory");
    println!("cargo:rerun-if-changed=build.rs");
}
