#!/usr/bin/env bash
# Installs the C ABI under a prefix: the libraries, the headers, and a
# pkg-config file.
#
#   educonnect-ffi/scripts/install.sh PREFIX [LIBRARY_DIR]
#
# LIBRARY_DIR holds libeduconnect_ffi.so and .a (default: target/release,
# after `cargo build --release -p educonnect-ffi`). Then:
#
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs educonnect
set -euo pipefail

if (($# < 1 || $# > 2)); then
    echo "usage: $0 PREFIX [LIBRARY_DIR]" >&2
    exit 2
fi
crate="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$(mkdir -p "$1" && cd "$1" && pwd)"
library_dir="${2:-${CARGO_TARGET_DIR:-${crate}/../target}/release}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "${crate}/../Cargo.toml" | head -n 1)"

for lib in libeduconnect_ffi.so libeduconnect_ffi.a; do
    if [[ ! -f "${library_dir}/${lib}" ]]; then
        echo "${library_dir}/${lib} not found: build with cargo build --release -p educonnect-ffi" >&2
        exit 1
    fi
done
mkdir -p "${prefix}/lib/pkgconfig" "${prefix}/include"
install -m 0755 "${library_dir}/libeduconnect_ffi.so" "${prefix}/lib/"
install -m 0644 "${library_dir}/libeduconnect_ffi.a" "${prefix}/lib/"
install -m 0644 "${crate}/include/educonnect.h" "${crate}/include/educonnect_ffi.h" "${prefix}/include/"
sed -e "s|@PREFIX@|${prefix}|" -e "s|@VERSION@|${version}|" \
    "${crate}/educonnect.pc.in" > "${prefix}/lib/pkgconfig/educonnect.pc"
echo "installed under ${prefix} (pkg-config file: ${prefix}/lib/pkgconfig/educonnect.pc)"
