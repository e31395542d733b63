#!/usr/bin/env bash
# Installs the built project into a scratch prefix, then builds a program
# outside the project against it twice: with pkg-config and with CMake's
# find_package.  Also checks that the shared library exports only bmp_
# symbols.  Usage: check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
lib=$(find "$prefix" -name 'libbigmultipipe.so.*' -type f | head -1)
[[ -n $lib ]] || { echo "no shared library installed"; exit 1; }

# Only the public prefix leaves the shared library.
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^bmp_' || true)
if [[ -n $bad ]]; then
  echo "exported symbols without the bmp_ prefix:"; echo "$bad"; exit 1
fi
echo "exports: $(nm -D --defined-only "$lib" | wc -l) symbols, all bmp_"

# pkg-config
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig:${PKG_CONFIG_PATH:-}"
libdir=$(pkg-config --variable=libdir bigmultipipe)
cc "$src/tests/install/consumer/main.c" -o "$prefix/with_pkgconfig" \
   $(pkg-config --cflags --libs bigmultipipe) -Wl,-rpath,"$libdir"
"$prefix/with_pkgconfig"

# CMake package config
cmake -S "$src/tests/install/consumer" -B "$prefix/consumer-build" \
      -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$prefix/consumer-build/consumer"
echo "install: pkg-config and find_package consumers built and ran"
