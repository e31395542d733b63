#!/usr/bin/env bash
# bench/run_mpi.sh -- the MPI benchmark (doc/scale-out.md): builds a
# Release tree in build-bench/ with the benchmarks, then, over 1, 2 and 4
# ranks that run items, times on this machine
#   process  the process executor alone, with as many workers;
#   dynamic  the MPI executor, one worker per rank, plus rank 0, which
#            only hands out items (mpirun -n R+1);
#   static   a static split like Montage's mProjExec: rank r runs the
#            items with index % R == r, one worker each;
# for the seed's arithmetic (every item alike), an uneven workload (one
# item in sixteen 50 times longer), the same uneven lengths spent waiting
# (items bound by I/O: ranks do not compete for CPUs), the uneven
# CPU-bound items again with each rank that runs items bound to a CPU of
# its own (as many ranks as CPUs at most: what nodes of their own give),
# the same with the last rank's CPU shared with a program that burns it
# (a slow node: Montage's complaint), and rank 0's CPU time per item
# over no-op items: all in, and its work alone (bmp_mpi_owner_stats(),
# its waits left out).  Prints a table; every ratio is between runs of
# this one invocation.  The median of BMP_BENCH_REPS (default 3) runs.
#
#   bash bench/run_mpi.sh [--quick]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench
REPS=${BMP_BENCH_REPS:-3}
SEED_ITEMS=1000 UNEVEN_ITEMS=240 NOOP_ITEMS=20000
if [[ ${1:-} == --quick ]]; then
  REPS=1 SEED_ITEMS=100 UNEVEN_ITEMS=40 NOOP_ITEMS=1000
fi
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBMP_BUILD_BENCH=ON \
  > /dev/null
cmake --build "$BUILD" -j"$(nproc)" --target bench_mpi > /dev/null
B=$BUILD/bench/mpi/bench_mpi
# As root in a container, Open MPI wants to be told; waiting ranks yield.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=1
MPIRUN="mpirun --oversubscribe --bind-to none"

# median of the wall (field 5) or of rank 0's µs per item (field 6)
one() { # FIELD RANKS ARGS...
  local field=$1 n=$2
  shift 2
  for _ in $(seq "$REPS"); do
    $MPIRUN -n "$n" "$B" "$@" | awk -v f="$field" '{print $f}'
  done | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

printf '%-8s %5s %10s %10s %10s %9s %9s\n' workload ranks process_s dynamic_s \
  static_s dyn/proc static/dyn
CPUS=$(nproc)
# slownode: a program that only burns CPU, bound to the last rank's CPU,
# makes that node half as fast (Montage's "one slow node").
HOG=
# The K-th CPU (from 0) this script may use, as bench_mpi's BENCH_PIN
# counts them.
cpu_at() {
  local cpus=() part c
  IFS=, read -ra parts <<<"$(taskset -pc $$ | sed 's/.*: //')"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then
      for ((c = ${part%-*}; c <= ${part#*-}; c++)); do cpus+=("$c"); done
    else
      cpus+=("$part")
    fi
  done
  echo "${cpus[$1]}"
}
stop_hog() {
  if [[ -n $HOG ]]; then
    kill "$HOG" 2>/dev/null || true
    wait "$HOG" 2>/dev/null || true
  fi
  HOG=
}
trap stop_hog EXIT
for w in seed uneven wait pinned slownode; do
  items=$UNEVEN_ITEMS
  [[ $w == seed ]] && items=$SEED_ITEMS
  for r in 1 2 4; do
    pin=0 run=$w
    if [[ $w == pinned || $w == slownode ]]; then
      ((r <= CPUS)) || continue
      [[ $w == slownode && $r -lt 2 ]] && continue
      pin=1 run=uneven
    fi
    if [[ $w == slownode ]]; then
      taskset -c "$(cpu_at $((r - 1)))" sh -c 'while :; do :; done' &
      HOG=$!
    fi
    p=$(BENCH_WORKERS=$r one 5 1 process "$run" "$items")
    d=$(BENCH_PIN=$pin one 5 $((r + 1)) dynamic "$run" "$items")
    s=$(BENCH_PIN=$pin one 5 "$r" static "$run" "$items")
    stop_hog
    awk -v w="$w" -v r="$r" -v p="$p" -v d="$d" -v s="$s" 'BEGIN {
      printf "%-8s %5d %10.3f %10.3f %10.3f %9.2f %9.2f\n", w, r, p, d, s, d/p, s/d }'
  done
done
echo
# rank 0's CPU per item, all in (waits too), and its work alone
printf '%-28s %8s %14s %14s\n' "no-op items, MPI executor" items \
  "rank0_cpu_us" "rank0_work_us"
for r in 1 2 4; do
  c=$(one 6 $((r + 1)) dynamic noop "$NOOP_ITEMS")
  k=$(one 7 $((r + 1)) dynamic noop "$NOOP_ITEMS")
  printf '%-28s %8d %14s %14s\n' "$r helper rank(s)" "$NOOP_ITEMS" "$c" "$k"
done
echo
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
