#!/usr/bin/env bash
# bench/run.sh -- the benchmark suite: builds a Release tree in build-bench/,
# generates the data, runs every method on the same data in this one run,
# prints a table of ratios and writes the Results section of
# doc/performance.md.  See doc/performance.md for what is measured and how.
#
#   bash bench/run.sh           the full suite (about 10 minutes on 2 cores)
#   bash bench/run.sh --quick   small sizes, one repetition: checks that the
#                               suite works; leaves doc/performance.md alone
#
# Environment (all optional):
#   TMPDIR              where the scratch directory goes (about 2.5 GB at
#                       most, removed at the end).  When TMPDIR is not set,
#                       /dev/shm is used if it is a tmpfs with room, else
#                       /tmp: the suite measures the framework, and a disk's
#                       journal and discards would only add noise.
#   BMP_BENCH_REPS      repetitions of every measurement (default 5, at
#                       least 3 for the report; the median is reported)
#   BMP_BENCH_JOBS      parallel jobs for every method (default: nproc)
#   BMP_BENCH_NO_DOC=1  print the report only
#   BMP_BENCH_PATIENCE  seconds to wait, before each timed run, for other
#                       programs to leave the CPUs alone (default 5; after
#                       two minutes of waiting in all, runs start at once)
#   BMP_BENCH_SEED_FILES, BMP_BENCH_TINY_FILES, BMP_BENCH_SCALE_SIZES
#                       workload sizes (default 64, 20000, "100000 300000
#                       1000000"; --quick: 8, 400, "2000 6000 20000")
#   BMP_BENCH_SWEEP     job counts of the strong-scaling sweep (default
#                       1 2 4 ... below nproc, then nproc; "" skips it)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench
DOC=$ROOT/doc/performance.md

QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1
if [[ $# -gt 0 && ${1:-} != --quick ]]; then
  sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

JOBS=${BMP_BENCH_JOBS:-$(nproc)}
PATIENCE=${BMP_BENCH_PATIENCE:-5} WAITED=0
REPS=${BMP_BENCH_REPS:-5}
# Workload sizes (issue 7).
SEED_FILES=64 SEED_ROWS=1000 SEED_COLS=2000
TINY_FILES=20000 TINY_SIZE=4096
SCALE_SIZES="100000 300000 1000000"
if ((QUICK)); then
  REPS=1 SEED_FILES=8 SEED_ROWS=200 SEED_COLS=300
  TINY_FILES=400 SCALE_SIZES="2000 6000 20000"
fi
SEED_FILES=${BMP_BENCH_SEED_FILES:-$SEED_FILES}
TINY_FILES=${BMP_BENCH_TINY_FILES:-$TINY_FILES}
SCALE_SIZES=${BMP_BENCH_SCALE_SIZES:-$SCALE_SIZES}
# The strong-scaling sweep: 1, 2, 4 ... jobs, and every core.
if [[ -n ${BMP_BENCH_SWEEP+set} ]]; then
  SWEEP=$BMP_BENCH_SWEEP
else
  SWEEP="" cores=$(nproc)
  for ((j = 1; j < cores; j *= 2)); do SWEEP+="$j "; done
  SWEEP+=$cores
fi
# xargs -n for the hand-written parallel floor: about four batches per job,
# so that the jobs stay busy to the end without a start per file.
batch() { local n=$1 j=${2:-$JOBS}; local b=$(((n + j * 4 - 1) / (j * 4))); echo $((b > 0 ? b : 1)); }

say() { printf '%s\n' "$*" >&2; }
# calc FORMAT EXPRESSION: awk's arithmetic, printed with FORMAT
calc() { awk "BEGIN {printf \"$1\", ($2)}"; }

# ---- build ---------------------------------------------------------------
say "== building (Release) in $BUILD"
LOG=$(mktemp)
if ! cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBMP_BUILD_BENCH=ON \
  -DBMP_BUILD_TESTS=OFF -DBMP_BUILD_EXAMPLES=OFF -DBMP_BUILD_TOOLS=ON >"$LOG" 2>&1 ||
  ! cmake --build "$BUILD" -j "$JOBS" --target bench_gen_data bench_perfile \
    bench_timeit bench_seed_workload bench_tiny_files bench_scale_items >>"$LOG" 2>&1; then
  tail -30 "$LOG" >&2
  say "bench/run.sh: the build failed"
  rm -f "$LOG"
  exit 1
fi
rm -f "$LOG"
B=$BUILD/bench
TIMEIT=$B/timeit PERFILE=$B/perfile

# The command is built when its sources are there and compile; otherwise
# its rows are reported as pending.
TOOL=""
if cmake --build "$BUILD" -j "$JOBS" --target bigmultipipe_tool >/dev/null 2>&1 &&
  [[ -x $BUILD/tools/bigmultipipe ]] &&
  "$BUILD/tools/bigmultipipe" run --help >/dev/null 2>&1; then
  TOOL=$BUILD/tools/bigmultipipe
else
  say "   the bigmultipipe command is not in this build: its rows are pending"
fi
# Python with NumPy for the multiprocessing method (Debian's python3
# has it; a python3 first on PATH may not).
PYTHON=""
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import numpy, multiprocessing' >/dev/null 2>&1; then
    PYTHON=$(command -v "$py")
    break
  fi
done
[[ -n $PYTHON ]] || say "   no python3 with NumPy: the multiprocessing rows are skipped"
PARALLEL=""
if command -v parallel >/dev/null && parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
  PARALLEL=$(command -v parallel)
else
  say "   GNU parallel is missing (bash scripts/setup.sh installs it): its rows are skipped"
fi

# ---- scratch space -------------------------------------------------------
need_kib=$((2600 * 1024))
if [[ -n ${TMPDIR:-} ]]; then
  base=$TMPDIR
elif [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]] &&
  (($(df -Pk /dev/shm | awk 'NR==2 {print $4}') > need_kib)); then
  base=/dev/shm
else
  base=/tmp
fi
S=$(mktemp -d "$base/bmp-bench-XXXXXX")
cleanup() { rm -rf "$S"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
say "== scratch directory $S ($(stat -f -c %T "$S"))"
# The command keeps per-item files in TMPDIR: there too, not on a disk.
export TMPDIR=$S
RES=$S/results.tsv   # workload method rep wall_s cpu_s items others
SCALE=$S/scale.tsv   # executor items rep wall_s cpu_s rss_before peak meta
: >"$RES"
: >"$SCALE"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)

FAILURES=()
declare -A REF   # checksum of one output per workload, from the serial loop

# The workload being run: its name, the list of inputs $L, its item
# count, the outputs expected in $O (extension and number), and the output
# whose checksum every method must reproduce.
WL="" N=0 EXPECT=0 EXT="" CHECK="" MODE="" LIBPROG=""

# run METHOD REP -- COMMAND...
# Runs COMMAND under timeit in a fresh $O, with standard output into
# $O/meta.jsonl, checks the outputs and records the times (REP 0: a
# warm-up, not recorded).  A run that fails is listed in the report and
# left out of the medians.
run() {
  local method=$1 rep=$2
  shift 3
  rm -rf "$O" && mkdir -p "$O"
  sync
  local rf=$S/timeit.out
  rm -f "$rf"
  local why="" patience=$PATIENCE
  ((WAITED < 120)) || patience=0
  if ! "$TIMEIT" --quiet "$patience" "$rf" "$@" >"$O/meta.jsonl" 2>"$S/stderr.txt"; then
    why="exit status $(sed -n 's/.*status=//p' "$rf"): $(head -1 "$S/stderr.txt")"
  else
    local got sum
    got=$(find "$O" -maxdepth 1 -name "*_bmp.$EXT" | wc -l)
    sum=$(cksum <"$O/$CHECK" 2>/dev/null || echo missing)
    [[ -z ${REF[$WL]:-} && $method == floor_serial ]] && REF[$WL]=$sum
    if ((got != EXPECT)); then
      why="$got outputs, expected $EXPECT"
    elif [[ $sum != "${REF[$WL]:-}" ]]; then
      why="$CHECK differs from the serial loop's"
    fi
  fi
  if [[ -n $why ]]; then
    say "   FAILED: $WL $method (rep $rep): $why"
    FAILURES+=("$WL $method (rep $rep): $why")
    return 0
  fi
  ((rep > 0)) || return 0
  local wall cpu others waited
  wall=$(sed -n 's/.*wall_s=\([^ ]*\).*/\1/p' "$rf")
  cpu=$(sed -n 's/.*cpu_s=\([^ ]*\).*/\1/p' "$rf")
  others=$(sed -n 's/.*others=\([^ ]*\).*/\1/p' "$rf")
  waited=$(sed -n 's/.*waited_s=\([^ ]*\).*/\1/p' "$rf")
  WAITED=$(awk -v a="$WAITED" -v b="$waited" 'BEGIN {printf "%d", a + b}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$WL" "$method" "$rep" "$wall" "$cpu" "$N" "$others" >>"$RES"
  printf '   %-13s %-15s rep %d  %8.3f s wall %8.3f s cpu  others %3.0f%%\n' "$WL" "$method" "$rep" "$wall" "$cpu" "$(calc %.1f "$others * 100")" >&2
}

# Every method once, on the current workload.
run_methods() {
  local rep=$1 b
  b=$(batch "$N")
  run floor_serial "$rep" -- "$PERFILE" "$MODE" --outdir "$O" --list "$L"
  run floor_parallel "$rep" -- \
    xargs -P "$JOBS" -n "$b" -a "$L" "$PERFILE" "$MODE" --outdir "$O"
  run library "$rep" -- \
    "$LIBPROG" --outdir "$O" --list "$L" -j "$JOBS" --pout "$O/pout.jsonl"
  if [[ -n $TOOL ]]; then
    run command "$rep" -- \
      "$TOOL" run -q -j "$JOBS" --outdir "$O" -a "$L" -o "$O/pout.jsonl" -- \
      "$PERFILE" "$MODE" --out '{out}' '{in}'
    # -n: one program start per group of files, as the floor's batches
    # (each input still with its own temporary and pout entry).
    run command_n "$rep" -- \
      "$TOOL" run -q -j "$JOBS" -n "$b" --outdir "$O" -a "$L" -o "$O/pout.jsonl" -- \
      "$PERFILE" "$MODE" --out '{out}' '{in}'
  fi
  run xargs_1 "$rep" -- \
    xargs -P "$JOBS" -n 1 -a "$L" "$PERFILE" "$MODE" --outdir "$O"
  if [[ -n $PARALLEL ]]; then
    run gnu_parallel "$rep" -- \
      "$PARALLEL" --will-cite -j "$JOBS" "$PERFILE" "$MODE" --outdir "$O" '{}' :::: "$L"
  fi
  if [[ $MODE == seed && -n $PYTHON ]]; then
    run python_mp "$rep" -- \
      "$PYTHON" "$ROOT/bench/seed_numpy.py" --outdir "$O" --list "$L" -j "$JOBS"
  fi
}

# The strong-scaling sweep on the current workload: the floor and the
# library at each job count of $SWEEP.
run_sweep() {
  local rep=$1 j
  for j in $SWEEP; do
    run "floor_j$j" "$rep" -- \
      xargs -P "$j" -n "$(batch "$N" "$j")" -a "$L" "$PERFILE" "$MODE" --outdir "$O"
    run "library_j$j" "$rep" -- \
      "$LIBPROG" --outdir "$O" --list "$L" -j "$j" --pout "$O/pout.jsonl"
  done
}

# ---- workload 1: the seed's steps on large arrays ------------------------
for kind in constant noisy; do
  say "== workload 1 ($kind): $SEED_FILES arrays of ${SEED_ROWS}x$SEED_COLS float64"
  WL=seed_$kind N=$SEED_FILES EXT=npy CHECK=big_array_3_bmp.npy
  MODE=seed LIBPROG=$B/seed_workload
  # Files whose first value is 2 (i % 10 == 2) are rejected: no output.
  EXPECT=$((SEED_FILES - (SEED_FILES + 7) / 10))
  D=$S/seed_$kind L=$S/seed_$kind.list O=$S/out
  mkdir -p "$D"
  "$B/gen_data" npy "$D" "$SEED_FILES" "$SEED_ROWS" "$SEED_COLS" "$kind" >"$L"
  # The reference output first, then one untimed pass of the floor: the
  # first run after writing a gigabyte pays for the memory it takes.
  run floor_serial 0 -- "$PERFILE" "$MODE" --outdir "$O" --list "$L"
  run floor_parallel 0 -- xargs -P "$JOBS" -n "$(batch "$N")" -a "$L" "$PERFILE" "$MODE" --outdir "$O"
  for ((rep = 1; rep <= REPS; rep++)); do
    run_methods "$rep"
    if [[ $kind == noisy ]]; then run_sweep "$rep"; fi
  done
  rm -rf "$D" "$O"
done

# ---- workload 2: tiny files ----------------------------------------------
say "== workload 2: $TINY_FILES files of $TINY_SIZE bytes"
WL=tiny N=$TINY_FILES EXPECT=$TINY_FILES EXT=bin CHECK=tiny_000007_bmp.bin
MODE=tiny LIBPROG=$B/tiny_files
D=$S/tiny L=$S/tiny.list O=$S/out
mkdir -p "$D"
"$B/gen_data" bytes "$D" "$TINY_FILES" "$TINY_SIZE" >"$L"
run floor_serial 0 -- "$PERFILE" "$MODE" --outdir "$O" --list "$L"
for ((rep = 1; rep <= REPS; rep++)); do
  run_methods "$rep"
  # Where the library's cost goes: the same items run in the caller.
  run library_serial "$rep" -- \
    "$LIBPROG" --outdir "$O" --list "$L" -j 1 --executor serial --pout "$O/pout.jsonl"
  run_sweep "$rep"
done
rm -rf "$D" "$O"

# ---- workload 3: scale ---------------------------------------------------
say "== workload 3: items that do no I/O ($SCALE_SIZES)"
for ((rep = 1; rep <= REPS; rep++)); do
  for n in $SCALE_SIZES; do
    for ex in process serial; do
      rf=$S/timeit.out
      rm -f "$rf"
      patience=$PATIENCE
      ((WAITED < 120)) || patience=0
      if ! "$TIMEIT" --quiet "$patience" "$rf" "$B/scale_items" "$n" -j "$JOBS" \
        --executor "$ex" >"$S/scale.out"; then
        FAILURES+=("scale $ex $n (rep $rep)")
        continue
      fi
      line=$(cat "$S/scale.out")
      kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
      others=$(sed -n 's/.*others=\([^ ]*\).*/\1/p' "$rf")
      WAITED=$(awk -v a="$WAITED" -v b="$(sed -n 's/.*waited_s=\([^ ]*\).*/\1/p' "$rf")" 'BEGIN {printf "%d", a + b}')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ex" "$n" "$rep" "$(kv wall_s)" \
        "$(kv cpu_s)" "$(kv rss_before_kib)" "$(kv peak_kib)" "$(kv meta_kib)" "$others" >>"$SCALE"
      printf '   scale %-8s %8d items rep %d  %8.3f s wall\n' "$ex" "$n" "$rep" "$(kv wall_s)" >&2
    done
  done
done
T_END=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report --------------------------------------------------------------
# median of the numbers on standard input
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# med WORKLOAD METHOD COLUMN (4 wall, 5 cpu)
med() { awk -F'\t' -v w="$1" -v m="$2" -v c="$3" '$1 == w && $2 == m {print $c}' "$RES" | median; }
# range WORKLOAD METHOD COLUMN: "min-max" of the repetitions
range() { awk -F'\t' -v w="$1" -v m="$2" -v c="$3" '$1 == w && $2 == m {if (n++ == 0 || $c < lo) lo = $c; if ($c > hi) hi = $c} END {printf "%.4f-%.4f", lo, hi}' "$RES"; }
has() { awk -F'\t' -v w="$1" -v m="$2" '$1 == w && $2 == m {f = 1} END {exit !f}' "$RES"; }
shas() { awk -F'\t' -v e="$1" -v n="$2" '$1 == e && $2 == n {f = 1} END {exit !f}' "$SCALE"; }
# others WORKLOAD: "median% (worst run worst%)" of the CPUs other programs used
others() {
  local col=7 file=$RES filter='$1 == w'
  [[ $1 == scale ]] && col=9 file=$SCALE filter='1'
  awk -F'\t' -v w="$1" -v c="$col" "$filter {print \$c}" "$file" | median | awk '{printf "%.0f%%", $1 * 100}'
  awk -F'\t' -v w="$1" -v c="$col" "$filter {if (\$c > m) m = \$c} END {printf \" (worst run %.0f%%)\", m * 100}" "$file"
}
smed() { awk -F'\t' -v e="$1" -v n="$2" -v c="$3" '$1 == e && $2 == n {print $c}' "$SCALE" | median; }

label() {
  case $1 in
    floor_serial) echo "hand-written loop, serial" ;;
    floor_parallel) echo "hand-written loop, xargs -P $JOBS -n BATCH (floor)" ;;
    library) echo "libbigmultipipe, steps in C" ;;
    library_serial) echo "libbigmultipipe, serial executor (in the caller)" ;;
    command) echo "bigmultipipe run, program per file" ;;
    command_n) echo "bigmultipipe run -n BATCH, program per batch" ;;
    xargs_1) echo "xargs -P $JOBS -n 1, program per file" ;;
    gnu_parallel) echo "GNU parallel -j $JOBS, program per file" ;;
    python_mp) echo "Python multiprocessing.Pool($JOBS), steps in NumPy" ;;
  esac
}
METHODS="floor_serial floor_parallel library library_serial command command_n xargs_1 gnu_parallel python_mp"

# sweep_table WORKLOAD UNIT: the strong-scaling sweep's rows.
sweep_table() {
  local w=$1 j f l f1 l1
  [[ -n $SWEEP ]] && has "$w" "library_j${SWEEP%% *}" || return 0
  echo "Strong scaling: the same data at each job count (median wall seconds)."
  echo
  echo "| jobs | floor s | library s | library / floor | floor speed-up | library speed-up |"
  echo "|---:|---:|---:|---:|---:|---:|"
  f1=$(med "$w" "floor_j${SWEEP%% *}" 4) l1=$(med "$w" "library_j${SWEEP%% *}" 4)
  for j in $SWEEP; do
    has "$w" "floor_j$j" && has "$w" "library_j$j" || continue
    f=$(med "$w" "floor_j$j" 4) l=$(med "$w" "library_j$j" 4)
    echo "| $j | $(calc %.3f "$f") | $(calc %.3f "$l") | $(calc %.2fx "$l / $f") | $(calc %.2fx "$f1 / $f") | $(calc %.2fx "$l1 / $l") |"
  done
  echo
}

# verdict OK? HOW-FAR
verdict() { if [[ $1 == 1 ]]; then echo "MET ($2)"; else echo "MISSED ($2)"; fi; }
# against RATIO LIMIT: "N% over the limit" or "N% under the limit"
against() { awk -v r="$1" -v l="$2" 'BEGIN {d = (r / l - 1) * 100; if (d > 0) printf "%.0f%% over the limit", d; else printf "%.0f%% under the limit", -d}'; }

REPORT=$S/report.md
{
  echo "### Machine"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') |"
  echo "| cores | $(nproc) logical CPUs; $(lscpu -p=CORE 2>/dev/null | grep -v '^#' | sort -u | wc -l) physical cores$(grep -q hypervisor /proc/cpuinfo && echo ', virtual machine') |"
  echo "| memory | $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) |"
  echo "| kernel | Linux $(uname -r) |"
  echo "| compiler | $("$(awk -F= '/^CMAKE_C_COMPILER:/ {print $2}' "$BUILD/CMakeCache.txt")" --version | head -1), Release (-O3) |"
  echo "| GNU parallel | $([[ -n $PARALLEL ]] && parallel --version | head -1 | sed 's/GNU parallel //' || echo 'not installed') |"
  echo "| xargs | $(xargs --version | head -1) |"
  echo "| scratch file system | $(stat -f -c %T "$S") |"
  echo "| library | $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && echo ' with uncommitted changes') |"
  echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC'), $(((T_END - T_START) / 60)) min $(((T_END - T_START) % 60)) s for the runs |"
  echo "| load average at the start, at the end | $LOAD_START; $LOAD_END |"
  echo "| jobs, repetitions | $JOBS parallel jobs for every method; median of $REPS runs |"
  echo "| waiting for a quiet machine | $WAITED s in all (at most $PATIENCE s before a run) |"
  echo

  for kind in constant noisy; do
    w=seed_$kind
    fw=$(med "$w" floor_parallel 4)
    echo "### Workload 1, $kind arrays: $SEED_FILES files of ${SEED_ROWS}x$SEED_COLS float64"
    echo
    echo "| method | wall s (range) | CPU s | wall / floor | CPU / serial loop |"
    echo "|---|---:|---:|---:|---:|"
    fc=$(med "$w" floor_serial 5)
    for m in $METHODS; do
      has "$w" "$m" || continue
      wall=$(med "$w" "$m" 4) cpu=$(med "$w" "$m" 5)
      echo "| $(label "$m") | $(calc %.2f "$wall") ($(range "$w" "$m" 4)) | $(calc %.2f "$cpu") | $(calc %.2fx "$wall / $fw") | $(calc %.2fx "$cpu / $fc") |"
    done
    [[ -z $TOOL ]] && echo "| bigmultipipe run, program per file | pending | | | |"
    echo
    echo "Other programs used $(others "$w") of the CPUs during these runs."
    echo
    if [[ $kind == noisy ]]; then sweep_table "$w"; fi
  done

  w=tiny N=$TINY_FILES
  echo "### Workload 2: $TINY_FILES files of $TINY_SIZE bytes"
  echo
  echo "| method | files/s (range) | wall / floor | CPU µs/file | framework CPU µs/file |"
  echo "|---|---:|---:|---:|---:|"
  fw=$(med $w floor_parallel 4) fc=$(med $w floor_serial 5)
  xc=$(med $w xargs_1 5)
  for m in $METHODS; do
    has $w "$m" || continue
    wall=$(med $w "$m" 4) cpu=$(med $w "$m" 5)
    case $m in
      floor_serial) fwk="(reference)" ;;
      xargs_1) fwk="(reference for programs)" ;;
      command | gnu_parallel) fwk="$(calc %.0f "($cpu - $xc) / $N * 1e6") above xargs -n 1" ;;
      *) fwk="$(calc %.1f "($cpu - $fc) / $N * 1e6") above the serial loop" ;;
    esac
    lo=$(range $w "$m" 4 | cut -d- -f2) hi=$(range $w "$m" 4 | cut -d- -f1)
    echo "| $(label "$m") | $(calc %.0f "$N / $wall") ($(calc %.0f "$N / $lo")-$(calc %.0f "$N / $hi")) | $(calc %.2fx "$wall / $fw") | $(calc %.1f "$cpu / $N * 1e6") | $fwk |"
  done
  [[ -z $TOOL ]] && echo "| bigmultipipe run, program per file | pending | | | |"
  echo
  echo "Other programs used $(others tiny) of the CPUs during these runs."
  echo
  sweep_table tiny

  echo "### Workload 3: items that do no I/O"
  echo
  echo "| executor | items | wall s | µs/item | µs/item vs $(echo "$SCALE_SIZES" | cut -d' ' -f1) items | CPU µs/item | caller peak bytes/item | of which meta | framework bytes/item |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for ex in process serial; do
    first=""
    for n in $SCALE_SIZES; do
      shas $ex "$n" || continue
      wall=$(smed $ex "$n" 4) cpu=$(smed $ex "$n" 5)
      rss=$(smed $ex "$n" 6) peak=$(smed $ex "$n" 7) meta=$(smed $ex "$n" 8)
      per=$(calc %.3f "$wall / $n * 1e6")
      [[ -z $first ]] && first=$per
      echo "| $ex | $n | $(calc %.2f "$wall") | $(calc %.2f "$per") | $(calc %.2fx "$per / $first") | $(calc %.2f "$cpu / $n * 1e6") | $(calc %.0f "($peak - $rss) * 1024 / $n") | $(calc %.0f "$meta * 1024 / $n") | $(calc %.0f "($peak - $rss - $meta) * 1024 / $n") |"
    done
  done
  echo
  echo "Other programs used $(others scale) of the CPUs during these runs."
  echo

  echo "### Targets"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  for kind in constant noisy; do
    w=seed_$kind
    if has $w python_mp && has $w library; then
      r=$(calc %.3f "$(med $w python_mp 4) / $(med $w library 4)")
      echo "| seed workload, $kind: library against Python multiprocessing with NumPy | library $(calc %.2fx "$r") as fast | (comparison) |"
    fi
    # The command's target is with -n (one program start per batch of
    # inputs, as the floor's); a program per file is compared with
    # xargs -n 1, which starts as many.
    for m in library command_n; do
      [[ $m == command_n && -z $TOOL ]] && continue
      label=$m
      [[ $m == command_n ]] && label="command with -n BATCH"
      if ! has $w $m || ! has $w floor_parallel; then
        echo "| seed workload, $kind: $label within 1.10x of the floor | not measured | FAILED RUN |"
        continue
      fi
      r=$(calc %.3f "$(med $w $m 4) / $(med $w floor_parallel 4)")
      ok=$(calc %d "$r <= 1.10")
      echo "| seed workload, $kind: $label within 1.10x of the floor | $(calc %.2fx "$r") | $(verdict "$ok" "$(against "$r" 1.10)") |"
    done
    if [[ -n $TOOL ]] && has $w command && has $w xargs_1; then
      r=$(calc %.3f "$(med $w command 4) / $(med $w xargs_1 4)")
      echo "| seed workload, $kind: command, program per file, against xargs -P $JOBS -n 1 | $(calc %.2fx "$r") the time of xargs | (comparison) |"
    fi
  done
  w=tiny
  if has $w library && has $w floor_serial && has $w floor_parallel; then
    over=$(calc %.1f "($(med $w library 5) - $(med $w floor_serial 5)) / $TINY_FILES * 1e6")
    ok=$(calc %d "$over < 10")
    echo "| tiny files, library: framework CPU under 10 µs per file (above the serial loop) | $over µs | $(verdict "$ok" "$(calc %.1fx "$over / 10") the limit") |"
    over=$(calc %.1f "($(med $w library 5) - $(med $w floor_parallel 5)) / $TINY_FILES * 1e6")
    ok=$(calc %d "$over < 5")
    echo "| tiny files, library: CPU under 5 µs per file above the floor at $JOBS jobs | $over µs | $(verdict "$ok" "$(calc %.1fx "$over / 5") the limit") |"
    r=$(calc %.3f "$(med $w library 4) / $(med $w floor_parallel 4)")
    ok=$(calc %d "$r <= 1.05")
    echo "| tiny files, library: files/s within 1.05x of the floor | floor $(calc %.2fx "$r") as fast | $(verdict "$ok" "$(against "$r" 1.05)") |"
  else
    echo "| tiny files, library | not measured | FAILED RUN |"
  fi
  if [[ -z $TOOL ]]; then
    echo "| tiny files, command: at least 3x GNU parallel, no slower than xargs -P | the command is not in this build | PENDING |"
  elif ! has $w command; then
    echo "| tiny files, command | not measured | FAILED RUN |"
  else
    if [[ -n $PARALLEL ]] && has $w gnu_parallel; then
      r=$(calc %.3f "$(med $w gnu_parallel 4) / $(med $w command 4)")
      ok=$(calc %d "$r >= 3")
      echo "| tiny files, command: at least 3x the files/s of GNU parallel | $(calc %.2fx "$r") | $(verdict "$ok" "$(calc %.2fx "$r / 3") the target") |"
    fi
    if has $w xargs_1; then
      r=$(calc %.3f "$(med $w xargs_1 4) / $(med $w command 4)")
      ok=$(calc %d "$r >= 1")
      echo "| tiny files, command: no slower than xargs -P | $(calc %.2fx "$r") the files/s of xargs | $(verdict "$ok" "$(awk -v r="$r" 'BEGIN {if (r < 1) printf "%.0f%% fewer files/s", (1 - r) * 100; else printf "%.0f%% more files/s", (r - 1) * 100}')") |"
    fi
  fi
  big=$(echo "$SCALE_SIZES" | awk '{print $NF}') small=$(echo "$SCALE_SIZES" | awk '{print $1}')
  if ! shas process "$big" || ! shas process "$small"; then
    echo "| scale | not measured | FAILED RUN |"
  else
  b=$(calc %.0f "($(smed process "$big" 7) - $(smed process "$big" 6) - $(smed process "$big" 8)) * 1024 / $big")
  ok=$(calc %d "$b < 200")
  echo "| scale: caller's peak under 200 bytes per item plus the meta | $b bytes/item at $big items | $(verdict "$ok" "$(calc %.2fx "$b / 200") the limit") |"
  per=$(calc %.3f "$(smed process "$big" 4) / $big * 1e6")
  ok=$(calc %d "$per < 1")
  echo "| scale: process executor under 1 µs per item ($JOBS workers, $big items) | $(calc %.2f "$per") µs | $(verdict "$ok" "$(calc %.2fx "$per / 1") the limit") |"
  r=$(calc %.3f "($(smed process "$big" 4) / $big) / ($(smed process "$small" 4) / $small)")
  ok=$(calc %d "$r <= 1.2")
  echo "| scale: time linear in items (µs/item at $big within 1.2x of at $small) | $(calc %.2fx "$r") | $(verdict "$ok" "limit 1.2x") |"
  fi
  if ((${#FAILURES[@]})); then
    echo
    echo "Failed runs, left out of the medians:"
    echo
    for f in "${FAILURES[@]}"; do echo "- $f"; done
  fi
} >"$REPORT"

echo
cat "$REPORT"

# ---- doc/performance.md --------------------------------------------------
if ((QUICK)) || [[ ${BMP_BENCH_NO_DOC:-} == 1 ]] || ((REPS < 3)); then
  say "(doc/performance.md left alone: quick run, BMP_BENCH_NO_DOC, or fewer than 3 repetitions)"
  exit 0
fi
BEGIN='<!-- bench/run.sh results: begin -->'
END='<!-- bench/run.sh results: end -->'
if [[ ! -f $DOC ]] || ! grep -qF "$BEGIN" "$DOC"; then
  {
    [[ -f $DOC ]] && cat "$DOC" && echo
    [[ -f $DOC ]] || printf '# Performance\n\n'
    printf '## Results\n\n%s\n%s\n' "$BEGIN" "$END"
  } >"$S/doc.new"
  cp "$S/doc.new" "$DOC"
fi
awk -v begin="$BEGIN" -v end="$END" -v report="$REPORT" '
  $0 == begin {print; print ""; while ((getline line < report) > 0) print line; print ""; skip = 1; next}
  $0 == end {skip = 0}
  !skip {print}' "$DOC" >"$S/doc.new"
cp "$S/doc.new" "$DOC"
say "== results written to doc/performance.md"
