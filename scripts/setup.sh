#!/usr/bin/env bash
# Installs everything the build, the examples and the tests need, from
# Debian's packages only. Safe to run again; does nothing when all is there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libjansson-dev libcfitsio-dev libhwloc-dev libcmocka-dev
  clang libclang-rt-dev clang-format valgrind
  python3 python3-numpy python3-astropy
  parallel
  libopenmpi-dev openmpi-bin
  python3-dev python3-venv python3-cffi python3-pytest python3-setuptools python3-wheel
  jq chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
