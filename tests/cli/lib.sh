# lib.sh -- what every command-line test script shares.  Sourced with the
# script's arguments: TOOL FAKE_TOOL PYTHON SOURCE_DIR.  Each script runs
# in a scratch directory, counts its checks and ends with finish, which
# prints "N passed, M failed" and sets the exit status.

BMP=$1
FAKE=$2
PY=${3:-/usr/bin/python3}
SRC=$4
if [ ! -x "$BMP" ] || [ ! -x "$FAKE" ] || [ ! -x "$PY" ]; then
    echo "usage: $0 TOOL FAKE_TOOL PYTHON SOURCE_DIR" >&2
    exit 2
fi
# The scripts work in a scratch directory: make the paths absolute.
abspath() { (cd "$(dirname "$1")" && printf '%s/%s' "$(pwd)" "$(basename "$1")"); }
BMP=$(abspath "$BMP")
FAKE=$(abspath "$FAKE")
SRC=$(cd "${SRC:-.}" && pwd)
passed=0
failed=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bmp-cli-XXXXXX")
trap 'cd /; rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
    if [ -n "$2" ]; then
        printf '%s\n' "$2" | sed 's/^/#   /'
    fi
}

# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "expected: $2
actual:   $3"
    fi
}

# pout FILE EXPR: evaluates the Python expression EXPR over `rows`, the
# objects of the JSON Lines FILE as Python's json module reads them, and
# prints the result.  Names come back as bytes through surrogateescape.
pout() {
    "$PY" - "$1" "$2" <<'PYEOF'
import json, os, sys
with open(sys.argv[1], encoding="utf-8") as f:
    lines = f.read().split("\n")
assert lines[-1] == "", "the file must end with a newline"
rows = [json.loads(line) for line in lines[:-1]]
for r in rows:
    assert set(r) >= {"in_name", "outname", "meta", "status"}, r
print(eval(sys.argv[2]))
PYEOF
}

# json_eval FILE EXPR: as pout, over `p`, the one JSON document in FILE.
json_eval() {
    "$PY" - "$1" "$2" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))
PYEOF
}

# journal FILE EXPR: as pout, over the item lines of a journal (its
# header line, which describes the run, left out).
journal() {
    "$PY" - "$1" "$2" <<'PYEOF'
import json, os, sys
with open(sys.argv[1], encoding="utf-8") as f:
    rows = [json.loads(line) for line in f if line.endswith("\n")]
rows = [r for r in rows if "in_name" in r]
print(eval(sys.argv[2]))
PYEOF
}

finish() {
    echo "$passed passed, $failed failed"
    if [ "$failed" -eq 0 ]; then exit 0; else exit 1; fi
}
