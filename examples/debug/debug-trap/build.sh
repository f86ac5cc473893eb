#!/usr/bin/env bash
# Rebuilds examples/wasm/debug-trap.wasm: a Rust contract with DWARF line tables (docs/EXAMPLES.md).
# Toolchain (Debian bookworm): apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld
# Source paths are recorded relative to this directory's parent (--remap-path-prefix), so the module is
# the same wherever it is built: its frames name `debug-trap/src/math.rs`.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC="${RUSTC:-/usr/bin/rustc}"
CARGO="${CARGO:-/usr/bin/cargo}"
export CARGO_HOME="${CARGO_HOME:-${TMPDIR:-/tmp}/examples-cargo-home}"
export RUSTFLAGS="--remap-path-prefix=$(pwd)=debug-trap"
"$CARGO" build --offline --release --target wasm32-unknown-unknown
cp target/wasm32-unknown-unknown/release/debug_trap.wasm ../../wasm/debug-trap.wasm
printf 'debug-trap.wasm %7d bytes  sha256 %s\n' "$(wc -c < ../../wasm/debug-trap.wasm)" "$(sha256sum ../../wasm/debug-trap.wasm | cut -d' ' -f1)"
