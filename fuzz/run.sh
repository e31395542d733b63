#!/bin/sh
# fuzz/run.sh DURATION_SECONDS [TARGET...]
#
# Builds the libFuzzer targets with clang in a build directory of their own
# (BMP_FUZZ_BUILD_DIR, default build-fuzz beside this folder) and runs each
# TARGET (default: every fuzz/fuzz_*.c) for DURATION_SECONDS over a copy of
# its seed corpus fuzz/corpus/<target without fuzz_>/, so the seeds stay as
# committed.  Inputs that crash are kept in <build>/fuzz-artifacts/<target>/.
# Exits non-zero when any target finds a crash, a leak or a sanitizer error.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 DURATION_SECONDS [TARGET...]" >&2
    exit 2
fi
duration=$1
shift

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BMP_FUZZ_BUILD_DIR:-$root/build-fuzz}

if [ $# -eq 0 ]; then
    for src in "$here"/fuzz_*.c; do
        set -- "$@" "$(basename "$src" .c)"
    done
fi

# Tests, tools and examples are left out: they would need the sanitizer
# runtimes the instrumented library now requires, and are not fuzzed.
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBMP_BUILD_FUZZ=ON \
    -DBMP_BUILD_TESTS=OFF -DBMP_BUILD_TOOLS=OFF -DBMP_BUILD_EXAMPLES=OFF \
    -DBMP_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "$@"

status=0
for target in "$@"; do
    corpus="$here/corpus/${target#fuzz_}"
    work=$(mktemp -d "${TMPDIR:-/tmp}/$target.XXXXXX")
    if [ -d "$corpus" ]; then
        cp -R "$corpus/." "$work/"
    fi
    artifacts="$build/fuzz-artifacts/$target"
    mkdir -p "$artifacts"
    echo "== $target: ${duration}s"
    if ! "$build/fuzz/$target" -max_total_time="$duration" -max_len=4096 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$work"; then
        echo "== $target: FOUND A PROBLEM; inputs in $artifacts" >&2
        status=1
    fi
    rm -rf "$work"
done
exit $status
