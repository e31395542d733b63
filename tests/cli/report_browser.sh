# report_browser.sh -- the report page of a real run, rendered by
# headless Chromium: its script ran to the end without an error, the
# timeline holds one bar per item, and the budget line is drawn.  The
# page's script records what it saw on #report-check (doc/report.md);
# the DOM Chromium dumps after loading holds those attributes.  Exits 77
# (CTest's SKIP_RETURN_CODE here) when no Chromium is installed.
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "skipped: no chromium (Debian's chromium package; scripts/setup.sh installs it)"
    exit 77
fi

# dom PAGE OUT: the page's DOM after its scripts ran.  --no-sandbox:
# Chromium refuses its sandbox as root (CI containers).
dom() {
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --disable-dev-shm-usage --user-data-dir="$WORK/profile" \
        --dump-dom "file://$WORK/$1" > "$2" 2> chromium.err
}
# q FILE EXPR: EXPR over `p`, the JSON in FILE.
q() { json_eval "$1" "$2"; }

mkdir in tmp
export TMPDIR=$WORK/tmp FAKE_SLOW_S=0.2
for n in a.SLOW b.SLOW c.SLOW d.FAIL.SLOW e.SLOW f.REJECT.SLOW g.SLOW 'h<script>x.SLOW'; do
    printf 'data %s\n' "$n" > "in/$n.txt"
done
"$BMP" run -q -j 2 --reject-code 3 --process_size 10000000 --outdir out \
    --create_outdir --report page.html -o pout.jsonl \
    -- "$FAKE" {in} {out} ::: in/*.txt
check_eq "the run: exit 1 (one item fails)" 1 $?
items=$(pout pout.jsonl 'len(rows)')

dom page.html dom.html
check_eq "chromium renders the page" 0 $?
"$PY" "$SRC/tests/cli/report_page.py" dom.html > dom.json
check_eq "the page's script ran to its end" 1 "$(q dom.json 'p["check"].get("data-ok")')"
check_eq "no script error" None "$(q dom.json 'p["check"].get("data-error")')"
check_eq "the timeline holds one bar per item (as the browser counts)" "$items 0" \
    "$(q dom.json 'p["check"].get("data-bars")') $(q dom.json 'p["check"].get("data-aggregated")')"
check_eq "one bar per item, each item once (from the rendered DOM)" \
    "$(seq 0 $((items - 1)) | tr '\n' ' ' | sed 's/ $//')" \
    "$(q dom.json '" ".join(map(str, sorted(p["bars"])))')"
check_eq "the budget line is drawn" "1 1" \
    "$(q dom.json 'p["check"].get("data-budget-line")') $(q dom.json 'p["budget_line"]')"
# The budget is drawn at its height, or, far above the memory curve, as
# a marker at the plot's top that says it is off the scale.
check "the budget line says its scale (in or off)" \
    test "$(q dom.json 'p["check"].get("data-budget-scale") in ("in", "off")')" = True
check_eq "a name with markup stays text: the page's one script only" 1 "$(q dom.json 'p["scripts"]')"

# The harness sees a script error: the same page with a failing line.
sed 's|^chk.setAttribute(.data-ok.,.1.);|undefinedFunction();&|' page.html > broken.html
dom broken.html broken_dom.html
"$PY" "$SRC/tests/cli/report_page.py" broken_dom.html > broken.json
check "a script error is caught and shown" \
    test "$(q broken.json 'p["check"].get("data-error") is not None and p["check"].get("data-ok") is None')" = True

# The table sorts by a column on a click: wall time, then down again.
sed 's|</body>|<script>var th=document.querySelectorAll("#item-table th")[4];th.click();var a=[].map.call(document.querySelectorAll("#item-table tbody tr"),function(r){return r.cells[4].textContent;}).join(" ");th.click();var b=[].map.call(document.querySelectorAll("#item-table tbody tr"),function(r){return r.cells[4].textContent;}).join(" ");document.body.setAttribute("data-up",a);document.body.setAttribute("data-down",b);</script>&|' \
    page.html > sorted.html
dom sorted.html sorted_dom.html
up=$(grep -o 'data-up="[^"]*"' sorted_dom.html | sed 's/data-up="//; s/"$//')
down=$(grep -o 'data-down="[^"]*"' sorted_dom.html | sed 's/data-down="//; s/"$//')
check "the table holds rows to sort" test -n "$up"
check_eq "a click on wall s sorts the rows up" "$(printf '%s\n' $up | sort -g | tr '\n' ' ' | sed 's/ $//')" "$up"
check_eq "a second click sorts them down" "$(printf '%s\n' $up | sort -gr | tr '\n' ' ' | sed 's/ $//')" "$down"

# 100,000 items: the browser loads the aggregated page without an error.
"$PY" - <<'PYEOF'
import json
with open("big.jsonl", "w") as f:
    for i in range(100000):
        f.write(json.dumps({
            "in_name": "d/%06d.fits" % i, "outname": "o/%06d.fits" % i, "meta": {},
            "status": "ok", "error": None,
            "stats": {"wall_s": 0.05, "cpu_s": 0.04, "peak_rss": 50000000, "attempts": 1,
                      "start_rss": 20000000, "estimate": 40000000, "over_estimate": False,
                      "start": 1764878100.0 + (i // 8) * 0.06, "worker": i % 8,
                      "budget": 400000000}}) + "\n")
PYEOF
"$BMP" report big.jsonl -o big.html
dom big.html big_dom.html
"$PY" "$SRC/tests/cli/report_page.py" big_dom.html > big.json
check_eq "100,000 items: rendered without an error, every item counted" "1 None 100000" \
    "$(q big.json 'p["check"].get("data-ok")') $(q big.json 'p["check"].get("data-error")') $(q big.json 'int(p["check"]["data-bars"]) + int(p["check"]["data-aggregated"])')"

finish
