#!/usr/bin/env bash
# bench/run_arrays.sh -- the array benchmark: a CCD reduction of a
# 2048x2048 frame (convert to float32, subtract the bias, divide by the
# flat, mean/std/min/max/median) in C with the library's array calls
# (bench/array_reduce.c) and in NumPy (bench/array_reduce.py), on the same
# files, in the same run, taking turns.  Prints a table of times and
# ratios and writes it into doc/arrays.md (between its two markers).
#
#   bash bench/run_arrays.sh           3 rounds of 10 reductions each
#   bash bench/run_arrays.sh --quick   1 round of 2: checks that it works;
#                                      leaves doc/arrays.md alone
#
# Environment (all optional):
#   TMPDIR              where the 58 MB of frames go (removed at the end)
#   BMP_BENCH_ROUNDS    rounds, C then NumPy in each (default 3)
#   BMP_BENCH_REPS      reductions per round and method (default 10)
#   BMP_BENCH_NO_DOC=1  print the report only
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench
DOC=$ROOT/doc/arrays.md
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=python3

QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1
if [[ $# -gt 0 && ${1:-} != --quick ]]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
ROUNDS=${BMP_BENCH_ROUNDS:-3}
REPS=${BMP_BENCH_REPS:-10}
((QUICK)) && ROUNDS=1 REPS=2

say() { printf '%s\n' "$*" >&2; }

say "== building (Release) in $BUILD"
LOG=$(mktemp)
if ! cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBMP_BUILD_BENCH=ON \
  -DBMP_BUILD_TESTS=OFF -DBMP_BUILD_EXAMPLES=OFF >"$LOG" 2>&1 ||
  ! cmake --build "$BUILD" -j"$(nproc)" --target bench_array_reduce >>"$LOG" 2>&1; then
  cat "$LOG" >&2
  exit 1
fi
rm -f "$LOG"
"$PYTHON" -c 'import numpy' || { say "NumPy is needed ($PYTHON)"; exit 1; }

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/bmp-arrays.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
say "== frames in $SCRATCH"
"$BUILD/bench/array_reduce" make "$SCRATCH"

RESULTS=$SCRATCH/results.jsonl
for ((r = 1; r <= ROUNDS; r++)); do
  say "== round $r of $ROUNDS"
  before=()
  ((r == 1)) && before=(--before)
  "$BUILD/bench/array_reduce" run "$SCRATCH" "$REPS" "${before[@]}" >>"$RESULTS"
  "$PYTHON" "$ROOT/bench/array_reduce.py" "$SCRATCH" "$REPS" >>"$RESULTS"
done

REPORT=$SCRATCH/report.md
"$PYTHON" - "$RESULTS" "$ROUNDS" "$REPS" "$(nproc)" >"$REPORT" <<'EOF'
import json, math, os, platform, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
rounds, reps, cpus = sys.argv[2], sys.argv[3], sys.argv[4]

def best(inp, method, key):
    return min(r[key] for r in rows
               if r["input"] == inp and r["method"] == method)

def ms(s):
    return f"{s * 1000:.1f} ms"

load = os.getloadavg()[0]
print(f"Machine: {cpus} CPUs, {platform.machine()}, Linux "
      f"{platform.release()}; load average {load:.2f} at the end.  "
      f"{rounds} rounds of {reps} reductions per method, C and NumPy "
      "taking turns; each figure is the shortest of its column over all "
      "rounds, the time other programs disturbed least (the machine is "
      "shared), so a total can exceed the sum of its phases.  "
      "NumPy " + __import__("numpy").__version__ + ".")
print()
print("| raw frame | method | convert | subtract, divide | statistics | "
      "total | C / NumPy |")
print("|---|---|---|---|---|---|---|")
worst = 0
for inp in ("uint16", "float32"):
    numpy_total = best(inp, "NumPy", "total")
    for method in ("C", "NumPy", "C, before"):
        if not any(r["input"] == inp and r["method"] == method for r in rows):
            continue
        t = [best(inp, method, k)
             for k in ("convert", "arithmetic", "stats", "total")]
        ratio = t[3] / numpy_total
        if method == "C":
            worst = max(worst, ratio)
        conv = ms(t[0]) if method != "C, before" else "(in the loop)"
        print(f"| {inp} | {method} | {conv} | {ms(t[1])} | {ms(t[2])} | "
              f"{ms(t[3])} | {ratio:.2f} |")
print()
# The two languages must have computed the same statistics.  NumPy sums
# and takes the middle values' mean in float32, the library in double:
# they agree to float32's precision.
bad = []
for inp in ("uint16", "float32"):
    c = next(r for r in rows if r["input"] == inp and r["method"] == "C")
    n = next(r for r in rows if r["input"] == inp and r["method"] == "NumPy")
    for k in ("mean", "std", "min", "max", "median"):
        if not math.isclose(c[k], n[k], rel_tol=1e-5):
            bad.append(f"{inp} {k}: C {c[k]}, NumPy {n[k]}")
if bad:
    print("**The statistics differ**: " + "; ".join(bad) + ".")
else:
    print("Statistics of C and NumPy agree (to float32's precision, "
          "NumPy's accumulator).")
print()
verdict = "met" if worst <= 1.5 else "**not met**"
print(f"Target: C within 1.5 x NumPy's time.  Measured: at most "
      f"{worst:.2f} x: {verdict}.")
EOF
cat "$REPORT"

if ((QUICK)) || [[ ${BMP_BENCH_NO_DOC:-} == 1 ]]; then
  say "== doc/arrays.md left as it is"
  exit 0
fi
BEGIN='<!-- bench/run_arrays.sh results: begin -->'
END='<!-- bench/run_arrays.sh results: end -->'
if ! grep -qF "$BEGIN" "$DOC" || ! grep -qF "$END" "$DOC"; then
  say "doc/arrays.md has no result markers; not written"
  exit 1
fi
"$PYTHON" - "$DOC" "$REPORT" "$BEGIN" "$END" <<'EOF'
import sys
doc, report, begin, end = sys.argv[1:]
text = open(doc).read()
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(doc, "w").write(head + begin + "\n" + open(report).read() + end + tail)
EOF
say "== results written to doc/arrays.md"
