#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite:
#   0. the layout of the C sources against .clang-format
#   1. the normal build: unit, interoperability and command tests (CTest)
#   1b. the Python package: installed into a venv as the README says,
#      then its tests (pytest)
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer,
#      the C tests and the Python package's
#   3. the pipeline, executor, pool and user-executor tests under
#      ThreadSanitizer
#   4. valgrind memcheck on the seed's examples (no leaks, no errors)
#   5. each fuzzer (the .npy header, the workers' result frames) for a
#      bounded time (BMP_FUZZ_SECONDS each, 30)
# Each stage builds in its own directory under build-ci/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc)
fail=0
stage() { printf '\n=== %s ===\n' "$*"; }
# Builds quietly; on failure shows the compiler's output and stops.
build() {
  local log
  log=$(mktemp)
  if ! cmake --build "$@" >"$log" 2>&1; then
    cat "$log"; rm -f "$log"; echo "build failed: $*"; exit 1
  fi
  rm -f "$log"
}

stage "format"
# The C sources as .clang-format lays them out (Debian 12's clang-format
# 14: another version may lay out a few lines differently).
if git ls-files -z '*.c' '*.h' | grep -zv '^tests/data/' |
     xargs -0 clang-format --dry-run --Werror 2>build-ci-format.log; then
  echo "clang-format: every file as .clang-format lays it out"
else
  head -40 build-ci-format.log
  echo "clang-format: run clang-format -i on the files above"; fail=1
fi
rm -f build-ci-format.log

stage "build and test"
# -Werror: the build must stay free of warnings.
cmake -S . -B build-ci/normal -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBMP_WERROR=ON >/dev/null
build build-ci/normal -j"$jobs"
ctest --test-dir build-ci/normal -j"$jobs" --output-on-failure || fail=1

stage "Python package"
# As the README installs it: a venv that sees the system's packages
# (NumPy, astropy, cffi, pytest), then pip builds ./python in place, with
# nothing downloaded.  Debian's interpreter is preferred: another python3
# on PATH may lack those packages.
py=/usr/bin/python3
[[ -x $py ]] || py=python3
# A build left in python/ by an earlier install is not reused.
rm -rf build-ci/python-venv python/build python/*.egg-info
mkdir -p build-ci
if "$py" -m venv --system-site-packages build-ci/python-venv &&
   build-ci/python-venv/bin/pip install --quiet --no-build-isolation ./python \
     >build-ci/python-install.log 2>&1; then
  build-ci/python-venv/bin/python -m pytest -q -p no:cacheprovider python/tests ||
    fail=1
else
  tail -40 build-ci/python-install.log; echo "the Python package did not install"; fail=1
fi

stage "AddressSanitizer + UndefinedBehaviorSanitizer"
# Built by clang, also with -Werror: its warnings differ from gcc's.
cmake -S . -B build-ci/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
      -DBMP_SANITIZE=address,undefined -DBMP_WERROR=ON >/dev/null
build build-ci/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-ci/asan -j"$jobs" --output-on-failure || fail=1

stage "Python package under AddressSanitizer + UndefinedBehaviorSanitizer"
# The extension compiled with the sanitizers (setuptools adds CFLAGS and
# LDFLAGS to its compiler's), in a venv of its own, and the package's
# tests run with the interpreter preloading ASan's runtime, which must
# come first in the process.  Leaks are not checked: the interpreter
# keeps its own allocations to the end.  python/build is emptied before
# and after, so that neither install reuses the other's objects.
asan_rt=$(gcc -print-file-name=libasan.so)
rm -rf build-ci/python-asan-venv python/build python/*.egg-info
if "$py" -m venv --system-site-packages build-ci/python-asan-venv &&
   CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
   LDFLAGS="-fsanitize=address,undefined" \
   build-ci/python-asan-venv/bin/pip install --quiet --no-build-isolation ./python \
     >build-ci/python-asan-install.log 2>&1; then
  LD_PRELOAD=$asan_rt ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
    build-ci/python-asan-venv/bin/python -m pytest -q -p no:cacheprovider python/tests ||
    fail=1
else
  tail -40 build-ci/python-asan-install.log
  echo "the Python package did not install with the sanitizers"; fail=1
fi
rm -rf python/build python/*.egg-info

stage "ThreadSanitizer (executors)"
cmake -S . -B build-ci/tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
      -DBMP_SANITIZE=thread -DBMP_BUILD_EXAMPLES=OFF -DBMP_BUILD_TOOLS=OFF >/dev/null
build build-ci/tsan -j"$jobs" --target test_pipeline test_executor test_pool_feed \
      test_remote_executor
ctest --test-dir build-ci/tsan --output-on-failure \
      -R '^test_(pipeline|executor|pool_feed|remote_executor)$' || fail=1

stage "valgrind memcheck on the examples"
for ex in seed_loop seed_subclass seed_steps; do
  if valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
       --error-exitcode=3 --trace-children=no \
       "build-ci/normal/examples/$ex" >/dev/null; then
    echo "$ex: no leaks, no errors"
  else
    echo "$ex: valgrind reported errors"; fail=1
  fi
done

if [[ -x fuzz/run.sh ]]; then
  stage "fuzzing the parsers (.npy header, result frames)"
  if bash fuzz/run.sh "${BMP_FUZZ_SECONDS:-30}" >build-ci/fuzz.log 2>&1; then
    grep -E '^Done [0-9]+ runs' build-ci/fuzz.log || true
    echo "fuzzing: no finding"
  else
    tail -60 build-ci/fuzz.log; echo "fuzzing found a problem"; fail=1
  fi
fi

stage "summary"
if ((fail)); then
  echo "FAILED: see the stages above"
  exit 1
fi
echo "all stages passed"
