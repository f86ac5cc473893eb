#!/usr/bin/env bash
# Rebuilds the example library and contracts and copies them to examples/wasm/<name>.wasm.
#
# Toolchain (Debian bookworm): apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld
# Only Debian's rustc 1.63 has the wasm32 std here; a rustup toolchain on PATH is bypassed.
# No crates.io access is needed: the workspace has no external dependencies (--offline).
# Needs node (for postlink.mjs, which renames LLVM's `__original_main` export to `main`).
set -euo pipefail
cd "$(dirname "$0")"

export RUSTC="${RUSTC:-/usr/bin/rustc}"
CARGO="${CARGO:-/usr/bin/cargo}"
export CARGO_HOME="${CARGO_HOME:-${TMPDIR:-/tmp}/examples-cargo-home}"
TARGET=wasm32-unknown-unknown

if [ ! -x "$RUSTC" ] || [ ! -x "$CARGO" ]; then
  echo "build.sh: need $RUSTC and $CARGO (apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld)" >&2
  exit 1
fi

"$CARGO" build --offline --release --target "$TARGET"

mkdir -p wasm
for dir in library library-shared contracts/*/; do
  name="$(basename "$dir")"
  artifact="target/$TARGET/release/${name//-/_}.wasm"
  node postlink.mjs "$artifact" "wasm/$name.wasm"
  printf '%-20s %7d bytes  sha256 %s\n' "$name.wasm" "$(wc -c < "wasm/$name.wasm")" \
    "$(sha256sum "wasm/$name.wasm" | cut -d' ' -f1)"
done
