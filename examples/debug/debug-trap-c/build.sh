#!/usr/bin/env bash
# Rebuilds debug-trap-c.wasm: the C counterpart of ../debug-trap (same traps), with DWARF 5 line tables
# (clang's wasm default is DWARF 4; the Rust example has DWARF 4). A test fixture, not seeded.
# Toolchain (Debian bookworm): apt-get install -y clang-19 lld-19
# -fdebug-prefix-map records the sources as debug-trap-c/…, wherever this is built.
set -euo pipefail
cd "$(dirname "$0")"
clang-19 --target=wasm32 -nostdlib -g -gdwarf-5 -O1 -fuse-ld=lld -fdebug-prefix-map="$(pwd)=debug-trap-c" \
  -Wl,--no-entry -Wl,--export=run -Wl,--export=divide -o debug-trap-c.wasm main.c math.c
printf 'debug-trap-c.wasm %7d bytes  sha256 %s\n' "$(wc -c < debug-trap-c.wasm)" "$(sha256sum debug-trap-c.wasm | cut -d' ' -f1)"
