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
run -q --dry-run -- awk '{ print $1 }' '{ x = 1 }' '{ =}' ::: f > out.txt
check_eq "'{ print }', '{ x = 1 }' and '{ =}' are no placeholders" \
    "awk '{ print \$1 }' '{ x = 1 }' '{ =}' f" "$(cat out.txt)"
printf 'one two\n' > f
run -q -- awk '{ print $2 }' {in} ::: f > p.jsonl
check_eq "awk '{ print \$2 }' runs" "two" "$(pout p.jsonl 'rows[0]["meta"]["stdout"].strip()')"
finish
