# test_report.sh -- the report page (doc/report.md): bigmultipipe report
# from a pout and from a journal, run --report during and after a run.
# One bar per item that ran, each on its worker's row; failures,
# retries, time-outs and a resumed journal drawn as the pout says;
# hostile names escaped; a 100,000-item pout aggregated to a page of
# bounded size; bad input refused with a clear message.
. "$(dirname "$0")/lib.sh"

page() { "$PY" "$SRC/tests/cli/report_page.py" "$1" > "$1.json"; }
# q PAGE EXPR: EXPR over `p`, the page as report_page.py reads it.
q() { json_eval "$1.json" "$2"; }

mkdir in tmp
export TMPDIR=$WORK/tmp FAKE_SLOW_S=0.3
# Every item but the hung one sleeps first, so that each bar is wider
# than a pixel, however loaded the machine.
for n in a.SLOW b.SLOW c.FAIL.SLOW d.CRASH.SLOW e.HANG f.FLAKY.SLOW g.REJECT.SLOW h.SLOW; do
    printf 'data %s\n' "$n" > "in/$n.txt"
done
# Hostile names: markup, quotes, a byte that is not UTF-8, a newline.
hostile1='in/<script>alert(1)<img src=x onerror=alert(2)>.SLOW.txt'
hostile2="in/q\"u'o&te.FAIL.SLOW.txt"
hostile3=$(printf 'in/caf\xe9.SLOW.txt')
hostile4=$(printf 'in/new\nline.SLOW.txt')
for h in "$hostile1" "$hostile2" "$hostile3" "$hostile4"; do printf 'x\n' > "$h"; done

"$BMP" run -q -j 2 --reject-code 3 --timeout 1.5 --retries 1 \
    --process_size 10000000 --outdir out --create_outdir \
    --journal journal.jsonl --report live.html -o pout.jsonl \
    -- "$FAKE" {in} {out} ::: in/*.txt 2> run.err
status=$?
cat run.err
check_eq "the run ends with failures: exit 1" 1 $status
items=$(pout pout.jsonl 'len(rows)')
ran=$(pout pout.jsonl 'sum(1 for r in rows if "start" in r["stats"])')
check_eq "every item that ran has its start, worker and budget" "$items $items $items" \
    "$ran $(pout pout.jsonl 'sum(1 for r in rows if "worker" in r["stats"])') $(pout pout.jsonl 'sum(1 for r in rows if "budget" in r["stats"])')"

"$BMP" report pout.jsonl -o page.html
check_eq "report from the pout: exit 0" 0 $?
page page.html
check_eq "one bar per item, none aggregated" "$items 0" \
    "$(q page.html 'len(set(p["bars"]))') $(q page.html 'p["aggregated"]')"
check_eq "no item drawn twice" "$items" "$(q page.html 'len(p["bars"])')"
check_eq "each bar in its status's colour" \
    "$(pout pout.jsonl 'sorted((i, r["status"]) for i, r in enumerate(rows))')" \
    "$(q page.html 'sorted((int(i), c.split()[1][2:]) for i, c in p["bar_classes"].items())')"
check_eq "retried items are outlined" \
    "$(pout pout.jsonl 'sorted(i for i, r in enumerate(rows) if r["stats"]["attempts"] > 1)')" \
    "$(q page.html 'sorted(int(i) for i, c in p["bar_classes"].items() if "retried" in c)')"
check_eq "the failures (a command that dies is a failed item) and the time-out" "failed failed timed_out" \
    "$(pout pout.jsonl '" ".join(r["status"] for r in rows if r["in_name"][3:] in ("c.FAIL.SLOW.txt", "d.CRASH.SLOW.txt", "e.HANG.txt"))')"
check_eq "every failure in the table, with its error" \
    "$(pout pout.jsonl 'sorted([i, r["status"], r["error"]] for i, r in enumerate(rows) if r["status"] in ("failed", "crashed", "timed_out"))')" \
    "$(q page.html 'sorted([r[0], r[3], r[4]] for r in p["rows"] if r[1] == "failure")')"
check_eq "the budget line is drawn" 1 "$(q page.html 'p["budget_line"]')"
check_eq "one script, the page's own" 1 "$(q page.html 'p["scripts"]')"
check "a name with markup reads as text" \
    test "$(q page.html '"<script>alert(1)<img src=x onerror=alert(2)>.SLOW.txt" in p["text"]')" = True
check "quotes and & read as text" \
    test "$(q page.html "\"q\\\"u'o&te.FAIL.SLOW.txt\" in p[\"text\"]")" = True
check "a byte that is not UTF-8 shows as \\xe9" \
    test "$(q page.html '"caf\\xe9.SLOW.txt" in p["text"]')" = True
check "a newline in a name shows as \\x0a" \
    test "$(q page.html '"new\\x0aline.SLOW.txt" in p["text"]')" = True
check "the page is valid UTF-8" "$PY" -c 'open("page.html", encoding="utf-8").read()'
check "no markup from a name in the raw page" \
    test "$(grep -c '<script>alert\|<img' page.html)" = 0
check "nothing fetched from a network" test "$(grep -Ec 'https?://' page.html)" = 0

# The page run --report wrote at the end is the same drawing.
page live.html
check_eq "run --report: the same bars" "$(q page.html 'sorted(p["bars"])')" \
    "$(q live.html 'sorted(p["bars"])')"
check "run --report: the last page does not reload itself" \
    test "$(grep -c 'http-equiv="refresh"' live.html)" = 0
check "run --report leaves no temporary" test -z "$(ls -A | grep '\.bmp-')"

# From the journal: the same items.
"$BMP" report journal.jsonl -o journal.html
check_eq "report from the journal: exit 0" 0 $?
page journal.html
check_eq "report from the journal: one bar per item" "$items" "$(q journal.html 'len(set(p["bars"]))')"

# A resumed run: the journal holds both runs; the items resumed are
# drawn where and when they ran the first time.
rm -f in/*.flaky
"$BMP" run -q -j 2 --reject-code 3 --outdir out2 --create_outdir \
    --journal j2.jsonl -o p1.jsonl -- "$FAKE" {in} {out} ::: in/a.SLOW.txt in/b.SLOW.txt in/f.FLAKY.SLOW.txt in/h.SLOW.txt
check_eq "first run: the flaky item fails" 1 $?
"$BMP" run -q -j 2 --reject-code 3 --outdir out2 --create_outdir --resume \
    --journal j2.jsonl --report resumed.html -o p2.jsonl \
    -- "$FAKE" {in} {out} ::: in/a.SLOW.txt in/b.SLOW.txt in/f.FLAKY.SLOW.txt in/h.SLOW.txt
check_eq "resumed run: exit 0" 0 $?
page resumed.html
check_eq "resumed run's page: every item, the resumed ones too" "[0, 1, 2, 3]" \
    "$(q resumed.html 'sorted(p["bars"])')"
check_eq "resumed run's page: the flaky item ok now" "ok" \
    "$(q resumed.html 'p["bar_classes"]["2"].split()[1][2:]')"
"$BMP" report j2.jsonl -o j2.html
page j2.html
check_eq "the resumed journal's page: one bar per item, the last result" "[0, 1, 2, 3] ok" \
    "$(q j2.html 'sorted(p["bars"])') $(q j2.html 'p["bar_classes"]["2"].split()[1][2:]')"
check_eq "the resumed journal's page: no failure left" 0 \
    "$(q j2.html 'sum(1 for r in p["rows"] if r[1] == "failure")')"

# 100,000 items: aggregated, every item still counted, the page small.
"$PY" - <<'PYEOF'
import json
with open("big.jsonl", "w") as f:
    for i in range(100000):
        st = "failed" if i % 997 == 0 else "ok"
        f.write(json.dumps({
            "in_name": "d/%06d.fits" % i, "outname": "o/%06d.fits" % i if st == "ok" else None,
            "meta": {}, "status": st, "error": "bad <header> %d" % i if st != "ok" else None,
            "stats": {"wall_s": 0.05 + (i % 7) * 0.01, "cpu_s": 0.04, "peak_rss": 50000000 + (i % 13) * 1000000,
                      "attempts": 1, "start_rss": 20000000, "estimate": 40000000, "over_estimate": i % 13 > 10,
                      "start": 1764878100.0 + (i // 8) * 0.1, "worker": i % 8, "budget": 400000000}}) + "\n")
PYEOF
"$BMP" report big.jsonl -o big.html
check_eq "100,000 items: exit 0" 0 $?
page big.html
check_eq "100,000 items: bars and aggregates stand for every item" 100000 \
    "$(q big.html 'len(set(p["bars"])) + p["aggregated"]')"
check "100,000 items: aggregated into marks of a pixel or more" \
    test "$(q big.html 'len(p["bars"]) < 20000')" = True
check_eq "100,000 items: every failure in the table" 101 \
    "$(q big.html 'sum(1 for r in p["rows"] if r[1] == "failure")')"
check "100,000 items: the page stays small (under 4 MB)" \
    test "$(stat -c %s big.html)" -lt 4000000

# Bad input: a clear message, exit 2, nothing written.
"$BMP" report missing.jsonl -o bad.html 2> err.txt
check_eq "a missing file: exit 2" 2 $?
check "a missing file: named" grep -q missing.jsonl err.txt
printf 'not json\n' > broken.jsonl
"$BMP" report broken.jsonl -o bad.html 2> err.txt
check_eq "not a pout: exit 2" 2 $?
check "not a pout: the line is named" grep -q 'line 1' err.txt
check "nothing written for bad input" test ! -e bad.html
"$BMP" report pout.jsonl -o nodir/page.html 2> err.txt
check_eq "a page in a missing folder: exit 1" 1 $?
cp pout.jsonl same.jsonl
"$BMP" report same.jsonl -o ./same.jsonl 2> err.txt
check_eq "the page over its own pout: refused, exit 1" 1 $?
check "the page over its own pout: the pout kept" cmp -s pout.jsonl same.jsonl
"$BMP" report 2> err.txt
check_eq "no file: exit 2" 2 $?
"$BMP" report a.jsonl b.jsonl 2> err.txt
check_eq "two files: exit 2" 2 $?
"$BMP" run -q --report in/a.SLOW.txt -o p3.jsonl -- "$FAKE" {in} {out} ::: in/a.SLOW.txt 2> err.txt
check "run --report over an input: refused" test $? -ne 0
check "run --report over an input: the input is intact" grep -q 'data a.SLOW' in/a.SLOW.txt
"$BMP" run -q --report nodir/r.html -o p4.jsonl -- "$FAKE" {in} {out} ::: in/h.SLOW.txt 2> err.txt
check "run --report in a missing folder: refused before anything runs" \
    test $? -ne 0 -a ! -s p4.jsonl
check "run --report in a missing folder: said" grep -q 'nodir/r.html' err.txt

finish
