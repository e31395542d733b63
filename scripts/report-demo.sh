#!/usr/bin/env bash
# Regenerates the pictures of the report page in the README and
# doc/report.md: doc/report-seed.png, the seed's workload (bigmultipipe
# demo: ten 16 MB arrays through the seed's steps), and
# doc/report-demo.png, a run of 24 items through a command (Python
# allocating some memory and sleeping) under a memory budget
# (--process_size 64M, three workers), with estimates too low and too
# high, two items failing with a traceback and one timing out.  Needs a
# build in build/ (or BUILD=dir) and Debian's chromium.
#   bash scripts/report-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BMP=${BUILD:-build}/tools/bigmultipipe
PY=/usr/bin/python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/in"
# Each input: MiB to allocate, seconds to sleep, and what to do then.
for i in $(seq -w 1 24); do
    mib=$(( (10#$i * 37) % 110 + 6 ))
    secs=$(printf '0.%d' $(( (10#$i * 7) % 9 + 1 )))
    what=ok
    case $i in 07 | 19) what=fail ;; 13) what=hang ;; esac
    echo "$mib $secs $what" > "$WORK/in/item_$i.txt"
done
cat > "$WORK/item.py" <<'PYEOF'
import shutil, sys, time
mib, secs, what = open(sys.argv[1]).read().split()
block = bytearray(int(mib) << 20)
time.sleep(60 if what == "hang" else float(secs))
if what == "fail":
    raise ValueError("no sky level in %s" % sys.argv[1].rsplit("/", 1)[-1])
shutil.copyfile(sys.argv[1], sys.argv[2])
PYEOF
BMP=$(cd "$(dirname "$BMP")" && pwd)/$(basename "$BMP")
# From the folder, so that the page names items in/item_01.txt.
(cd "$WORK" && "$BMP" run -q -j 3 --process_size 64M --mem_available 200M \
    --timeout 3 --outdir out --create_outdir --report report.html \
    -o pout.jsonl -- python3 item.py {in} {out} ::: in/*.txt) || true
# shot PAGE PICTURE HEIGHT: the page as headless Chromium draws it.
shot() {
    chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --user-data-dir="$WORK/profile" --hide-scrollbars \
        --window-size=1160,"$3" --screenshot="$WORK/shot.png" \
        "file://$1" 2>/dev/null
    # A palette of 64 colours keeps the picture under 200 KB.
    if command -v pngquant >/dev/null; then
        pngquant --force --quality=60-90 --output "$2" "$WORK/shot.png"
    else
        cp "$WORK/shot.png" "$2"
    fi
}
shot "$WORK/report.html" doc/report-demo.png 2040
(cd "$WORK" && "$BMP" demo -j 2 --report seed.html >/dev/null)
shot "$WORK/seed.html" doc/report-seed.png 1250
cp "$WORK/report.html" "${KEEP_HTML:-/dev/null}" 2>/dev/null || true
ls -l doc/report-demo.png doc/report-seed.png
