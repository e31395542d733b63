# test_progress.sh -- the progress line: drawn on standard error when it
# is a terminal (a pseudo-terminal made by script(1)), its final state
# left on the screen; nothing but the summary otherwise.
. "$(dirname "$0")/lib.sh"

if ! command -v script > /dev/null; then
    echo "script(1) not found: cannot test under a terminal"
    finish
fi

for i in 1 2 3 4 5; do printf 'x\n' > "in$i.SLOW.txt"; done
printf 'x\n' > in6.FAIL.txt
# A wrapper, so that no name needs quoting inside script's -c string.
cat > run.sh <<SH
#!/bin/sh
FAKE_SLOW_S=0.1 exec "$BMP" run -j 2 --overwrite -o "$WORK/pout.jsonl" "\$@" -- "$FAKE" {in} {out} \
    ::: in1.SLOW.txt in2.SLOW.txt in3.SLOW.txt in4.SLOW.txt in5.SLOW.txt in6.FAIL.txt
SH
chmod +x run.sh

script -qfec "./run.sh" /dev/null > tty.txt < /dev/null
check_eq "under a terminal: exit status of the run (1: an item failed)" 1 $?
# The screen, as a terminal shows it: each \r starts the line again.
check "the progress line is redrawn with a carriage return" grep -q $'\r\\[[1-5]/6\\]' tty.txt
final=$(tr -d '\n' < tty.txt | sed 's/\x1b\[K//g' | tr '\r' '\n' | grep '^\[6/6\]' | tail -1)
check "its final state: all done, the failure counted" \
    grep -Eq '^\[6/6\] 1 failed  [0-9.]+ items/s  done in [0-9.]+ s  [0-9]+ workers?$' <<< "$final"
check "the final state is left on the screen, then a newline" \
    grep -Eq $'done in [0-9.]+ s  [0-9]+ workers?\x1b\\[K\r\n6 items: 5 ok, 0 no output, 1 failed in' tty.txt
check "rate and time left while running" grep -Eq 'items/s  ETA [0-9.]+ s' tty.txt
check "workers shown while running" grep -q '  2 workers' tty.txt

script -qfec "./run.sh -q" /dev/null > tty.txt < /dev/null
check_eq "--quiet under a terminal: nothing on the screen" "" "$(cat tty.txt)"

./run.sh > out.txt 2> err.txt
check_eq "without a terminal: exit 1" 1 $?
check_eq "without a terminal: the summary only" "6 items: 5 ok, 0 no output, 1 failed in" \
    "$(sed 's/ [0-9.]* s$//' err.txt)"
check_eq "... and nothing on standard output with -o" "" "$(cat out.txt)"

finish
