# test_gnu_habits.sh -- GNU parallel's habits beyond the common ones: its
# {+...} and {= perl =} forms refused (never passed on literally), the
# job record of an item whose program cannot start, the record's numbers
# read back, --halt's older and done= spellings, -j N%, blank input
# lines, and plan --read_pout of other inputs.
. "$(dirname "$0")/lib.sh"

run() { timeout 60 "$BMP" run "$@"; }

# ---- {+...} and {= perl =} ----------------------------------------------
for bad in '{+/}' '{+.}' '{+..}' 'x{+/}y'; do
    run -q -- touch ran.txt "$bad" ::: a > out.txt 2> err.txt
    rc=$?
    check_eq "GNU parallel's $bad: exit 2" 2 "$rc"
    check "... named in the message, nothing run" \
        sh -c 'grep -qF "unknown placeholder" err.txt && test ! -e ran.txt && test ! -s out.txt'
done
for bad in '{= s/a/b/ =}' '{=$_=uc=}' 'pre{= 1 =}post'; do
    run -q -- touch ran.txt "$bad" ::: a > out.txt 2> err.txt
    rc=$?
    check_eq "perl expression $bad: exit 2" 2 "$rc"
    check "... said unsupported, nothing run" \
        sh -c 'grep -qF "perl expressions {= ... =} are not supported" err.txt && test ! -e ran.txt && test ! -s out.txt'
done
# Braces with a space after them stay awk's or the shell's.
run -q --dry-run -- awk '{ print $1 }' '{ x = 1 }' '{ =}' '{n+=1}' ::: f > out.txt
check_eq "'{ print }', '{ x = 1 }', '{ =}' and '{n+=1}' are no placeholders" \
    "awk '{ print \$1 }' '{ x = 1 }' '{ =}' '{n+=1}' f" "$(cat out.txt)"
printf 'one two\n' > f
run -q -- awk '{ print $2 }' {in} ::: f > p.jsonl
check_eq "awk '{ print \$2 }' runs" "two" "$(pout p.jsonl 'rows[0]["meta"]["stdout"].strip()')"

# ---- --halt: GNU parallel's older spellings and done= ----------------------
printf 'f' > FAIL.txt
printf 'f' > FAIL2.txt
for x in c d e g; do printf '%s' "$x" > "$x.txt"; done
# 1 = soon,fail=1; 2 = now,fail=1; -1 = soon,success=1; -2 = now,success=1.
for spec in "1:soon,fail=1:1" "2:now,fail=1:1" "-1:soon,success=1:0" "-2:now,success=1:0"; do
    old=${spec%%:*}; rest=${spec#*:}; long=${rest%:*}; want=${rest##*:}
    run -q -j 1 --overwrite --halt "$old" -- "$FAKE" {in} {out} \
        ::: c.txt FAIL.txt d.txt > p1.jsonl 2> err.txt
    rc1=$?
    run -q -j 1 --overwrite --halt "$long" -- "$FAKE" {in} {out} \
        ::: c.txt FAIL.txt d.txt > p2.jsonl 2> err.txt
    rc2=$?
    check_eq "--halt $old is --halt $long: exit $want, the same statuses" \
        "$want $want $(pout p2.jsonl '[r["status"] for r in rows]')" \
        "$rc1 $rc2 $(pout p1.jsonl '[r["status"] for r in rows]')"
done
run -q -j 1 --overwrite --halt 0 -- "$FAKE" {in} {out} ::: FAIL.txt c.txt > p.jsonl
check_eq "--halt 0 is never: every item runs" "['failed', 'ok']" \
    "$(pout p.jsonl '[r["status"] for r in rows]')"
run -q -j 1 --overwrite --halt 50% -- "$FAKE" {in} {out} \
    ::: FAIL.txt c.txt FAIL2.txt d.txt e.txt > p.jsonl
check_eq "--halt 50% is soon,fail=50%" "['failed', 'ok', 'failed', 'not_run', 'not_run']" \
    "$(pout p.jsonl '[r["status"] for r in rows]')"
# done=N: N items ended, failed or not.
run -j 1 --overwrite --halt soon,done=2 -- "$FAKE" {in} {out} \
    ::: c.txt d.txt e.txt g.txt > p.jsonl 2> err.txt
check_eq "--halt soon,done=2: two run, none failed: exit 0" \
    "0 ['ok', 'ok', 'not_run', 'not_run']" "$? $(pout p.jsonl '[r["status"] for r in rows]')"
check "... says why" grep -q "halted (--halt soon,done=2) after 2 done" err.txt
run -q -j 1 --overwrite --halt now,done=2 -- "$FAKE" {in} {out} \
    ::: FAIL.txt c.txt d.txt > p.jsonl
check_eq "--halt now,done=2 with a failure among them: exit 1" \
    "1 ['failed', 'ok', 'not_run']" "$? $(pout p.jsonl '[r["status"] for r in rows]')"
run -q -j 1 --overwrite --halt soon,done=50% -- "$FAKE" {in} {out} \
    ::: c.txt d.txt e.txt g.txt > p.jsonl
check_eq "--halt soon,done=50%: the share of the items done, three at least" \
    "['ok', 'ok', 'ok', 'not_run']" "$(pout p.jsonl '[r["status"] for r in rows]')"
for bad in fail=1 success=2 done=1%; do
    run -q --halt "$bad" -- touch ran.txt ::: a > out.txt 2> err.txt
    check_eq "--halt $bad without now or soon: usage error, nothing run" \
        "2 yes" "$? $(grep -qF "says why but not when: give now,$bad" err.txt && test ! -e ran.txt && echo yes)"
done
for bad in 3 -3 now,done=0 soon,done=x 101%; do
    run -q --halt "$bad" -- true ::: a > out.txt 2> err.txt
    check_eq "--halt $bad: usage error" 2 $?
done

# ---- -j P%, +N, -N ---------------------------------------------------------
# Against the number of cores the plan reports (the default's count).
cores=$("$BMP" plan ::: a | sed -n 's/^physical cores: *\([0-9]*\).*/\1/p')
workers() { "$BMP" plan -j "$1" ::: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 \
    | sed -n 's/^workers: *\([0-9]*\).*/\1/p'; }
exp() { "$PY" -c "import math; print(max(1, min(20, $1)))"; }
check_eq "-j 200%: twice the cores" "$(exp "math.floor($cores * 2)")" "$(workers 200%)"
check_eq "-j 50%: half the cores, one at least" "$(exp "math.floor($cores * 0.5)")" "$(workers 50%)"
check_eq "-j +1: one more than the cores" "$(exp "$cores + 1")" "$(workers +1)"
check_eq "-j -1: one fewer, one at least" "$(exp "$cores - 1")" "$(workers -1)"
check_eq "-j -1000: one at least" 1 "$(workers -1000)"
for bad in 0% x% -5% +1.5 50%%; do
    "$BMP" run -q -j "$bad" -- touch ran.txt ::: a > out.txt 2> err.txt
    check_eq "-j $bad: usage error naming the forms, nothing run" "2 yes" \
        "$? $(grep -qF "is not a worker count: N, P% (of the cores" err.txt && test ! -e ran.txt && echo yes)"
done

# ---- --read_pout: plan refuses other inputs as run does; inputs only -------
run -q --overwrite -o w.pout -- "$FAKE" {in} {out} ::: c.txt d.txt > /dev/null
"$BMP" plan --read_pout w.pout ::: c.txt e.txt > out.txt 2> err.txt
check_eq "plan --read_pout of other inputs: exit 2, the item named" "2 yes" \
    "$? $(grep -qF 'is the pout of other inputs: its item 2 is "d.txt", this run'"'"'s is "e.txt"' err.txt && echo yes)"
"$BMP" plan --read_pout w.pout ::: c.txt > out.txt 2> err.txt
check_eq "plan --read_pout with fewer inputs: exit 2" "2 yes" \
    "$? $(grep -q 'holds 2 items, this run has 1' err.txt && echo yes)"
"$BMP" plan --read_pout w.pout ::: c.txt d.txt > out.txt 2> err.txt
check_eq "plan --read_pout of these inputs: the plan, exit 0" "0 yes" \
    "$? $(grep -q '^workers:' out.txt && echo yes)"
# Only the inputs are compared: another command's pout of them is taken.
run -q --read_pout w.pout -- touch ran.txt ::: c.txt d.txt > out.txt
check_eq "--read_pout compares the inputs only: another command's pout is the result" \
    "0 yes" "$? $(cmp -s out.txt w.pout && test ! -e ran.txt && echo yes)"

# ---- blank input lines are skipped (xargs, not GNU parallel) -------------
printf '\nc.txt\n\n\nd.txt\n\n' > blank.list
run --dry-run -a blank.list -- echo {} > out.txt
check_eq "blank lines of --input-list are no items" "echo c.txt
echo d.txt" "$(cat out.txt)"
printf 'c.txt\0\0d.txt\0' | run -0 --dry-run -- echo {} > out.txt
check_eq "... nor empty names between NULs with -0" "echo c.txt
echo d.txt" "$(cat out.txt)"
printf ' \n' | run --dry-run -- echo {} > out.txt
check_eq "... but a name of spaces is a name" "echo ' '" "$(cat out.txt)"
printf '\n\n' | run -q -- touch ran.txt > p.jsonl 2> err.txt
check_eq "only blank lines: an empty run, exit 0, nothing run" "0 0 yes" \
    "$? $(wc -l < p.jsonl) $(test ! -e ran.txt && echo yes)"

# ---- --job-meta: a program that cannot start; numbers read back ------------
printf 'x' > noexec.sh
before=$(date +%s)
run -q --job-meta -- ./nonexist {in} ::: c.txt > p.jsonl
check_eq "--job-meta, a program that cannot start: exit 1" 1 $?
check_eq "... has a job record too: seq, exit and signal null, errno, reason" \
    "(1, None, None, 'ENOENT', 'No such file or directory', 'failed')" \
    "$(pout p.jsonl '[(j["seq"], j["exit"], j["signal"], j["errno"], j["reason"], r["status"]) for r in rows for j in [r["meta"]["job"]]][0]')"
check_eq "... and when it was tried" True \
    "$(pout p.jsonl "$before <= rows[0]['meta']['job']['start'] <= $before + 60")"
run -q --job-meta -- ./noexec.sh {in} ::: c.txt > p.jsonl
check_eq "... a file that is no program: EACCES" "(None, 'EACCES')" \
    "$(pout p.jsonl '(rows[0]["meta"]["job"]["exit"], rows[0]["meta"]["job"]["errno"])')"
# Each real of the record is printed as short as it reads back, as the
# stats are: its significant digits are those of Python's repr.
run -q --overwrite --job-meta -- "$FAKE" {in} {out} ::: c.txt d.txt FAIL.txt > p.jsonl
check_eq "--job-meta's numbers: the shortest text that reads back" "[]" "$("$PY" - p.jsonl <<'PYEOF'
import json, re, sys
bad = []
for line in open(sys.argv[1]):
    job = re.search(r'"job":(\{[^{}]*\})', line).group(1)
    for key, text in re.findall(r'"(\w+)":(-?[0-9][0-9.eE+-]*)', job):
        if '.' not in text and 'e' not in text.lower():
            continue  # an integer
        def sig(t):
            m = t.lower().split('e')[0].replace('-', '').replace('.', '')
            return m.lstrip('0').rstrip('0') or '0'
        if sig(text) != sig(repr(float(text))):
            bad.append((key, text, repr(float(text))))
print(bad)
PYEOF
)"
finish
