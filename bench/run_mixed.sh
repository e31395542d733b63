#!/usr/bin/env bash
# bench/run_mixed.sh -- mixed item sizes under a memory budget: the
# memory-aware scheduler against fixed worker counts (bench/mixed_memory.c).
# Builds a Release tree in build-bench-mixed/, runs the benchmark, prints
# its report and puts it into doc/performance.md, section "Mixed sizes
# under a memory budget", between its two markers (nothing else of the
# page is touched).
#
#   bash bench/run_mixed.sh           40 items of 8 to 800 MiB, 1 GiB budget,
#                                     3 repetitions (about 7 minutes on two
#                                     idle cores)
#   bash bench/run_mixed.sh --quick   12 small items, once: checks that it
#                                     works; leaves doc/performance.md alone
#
# Environment (all optional):
#   BMP_BENCH_REPS      repetitions (default 3; the median makespan is
#                       reported; fewer than 3 leaves the page alone)
#   BMP_BENCH_JOBS      jobs for every method (default: physical cores)
#   BMP_BENCH_NO_DOC=1  print the report only
#   TMPDIR              where the item files go (one byte each)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench-mixed
DOC=$ROOT/doc/performance.md
HEADING='## Mixed sizes under a memory budget'
BEGIN='<!-- bench/run_mixed.sh results: begin -->'
END='<!-- bench/run_mixed.sh results: end -->'

QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1
if [[ $# -gt 0 && ${1:-} != --quick ]]; then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
REPS=${BMP_BENCH_REPS:-3}
ARGS=(--reps "$REPS")
[[ -n ${BMP_BENCH_JOBS:-} ]] && ARGS+=(--jobs "$BMP_BENCH_JOBS")
((QUICK)) && ARGS=(--quick --reps 1)

echo "== building (Release) in $BUILD" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBMP_BUILD_BENCH=ON \
  -DBMP_BUILD_TESTS=OFF -DBMP_BUILD_EXAMPLES=OFF -DBMP_BUILD_TOOLS=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target bench_mixed_memory >/dev/null

REPORT=$(mktemp)
trap 'rm -f "$REPORT"' EXIT
"$BUILD/bench/mixed_memory" "${ARGS[@]}" | tee "$REPORT"

if ((QUICK)) || [[ ${BMP_BENCH_NO_DOC:-0} == 1 ]] || ((REPS < 3)); then
  echo "== $DOC left as it is" >&2
  exit 0
fi

# The section is created at the end of the page the first time; after
# that only the text between the markers is replaced.
if ! grep -qF "$BEGIN" "$DOC" 2>/dev/null; then
  {
    [[ -s $DOC ]] && printf '\n'
    printf '%s\n\n' "$HEADING"
    printf 'Measured with `bash bench/run_mixed.sh`; see bench/mixed_memory.c.\n\n'
    printf '%s\n%s\n' "$BEGIN" "$END"
  } >>"$DOC"
fi
python3 - "$DOC" "$REPORT" "$BEGIN" "$END" <<'PY'
import sys
doc, report, begin, end = sys.argv[1:]
text = open(doc, encoding="utf-8").read()
new = open(report, encoding="utf-8").read().strip()
a = text.index(begin) + len(begin)
b = text.index(end, a)
open(doc, "w", encoding="utf-8").write(text[:a] + "\n" + new + "\n" + text[b:])
PY
echo "== results written to $DOC" >&2
