#!/usr/bin/env bash
# Installs what building and testing tlog needs and is missing: redis-server (and the
# redis-cli/redis-benchmark tools), libclang (bindgen, for the redis-module crate), and the
# rustfmt and clippy components that `make lint` runs. As root it runs apt-get; otherwise it
# prints the exact command and fails.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
# libclang as bindgen loads it: libclang.so* or libclang-<version>.so*. The image's
# libclang-cpp.so.* is a different library that bindgen cannot use, so `libclang*` is too wide.
libclang=no
for dir in /usr/lib/llvm-*/lib /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
    for pattern in "$dir/libclang.so*" "$dir/libclang-[0-9]*.so*"; do
        compgen -G "$pattern" >/dev/null && libclang=yes
    done
done
[ "$libclang" = yes ] || missing+=(libclang-dev)

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install Rust with rustup (https://rustup.rs), then run make again." >&2
    exit 1
fi

# rustfmt and clippy: rustup adds them (idempotent); a toolchain without rustup needs them from
# wherever it came from.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
        echo "Adding the rustfmt and clippy components ..."
        rustup component add rustfmt clippy
    else
        echo "cargo fmt or cargo clippy is missing: install the rustfmt and clippy components of your Rust toolchain." >&2
        exit 1
    fi
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

cmd="apt-get update && apt-get install -y ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${missing[*]} ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
    echo "Missing: ${missing[*]}. Install them with:" >&2
    echo "    sudo sh -c '$cmd'" >&2
    exit 1
fi
