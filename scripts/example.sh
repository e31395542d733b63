#!/usr/bin/env bash
# Sets up, builds and runs the seed's example: ten 1000x2000 arrays through
# a parallel pipeline of pre- and post-process steps.  Prints the listing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target seed_steps >/dev/null
./build/examples/seed_steps
