# test_resume.sh -- --journal and --resume: a run killed with SIGKILL
# part-way, then resumed, ends with the pout and the outputs of a run
# that was never interrupted, and runs again only what was not finished.
. "$(dirname "$0")/lib.sh"

mkdir ref cut tmp
for i in $(seq -w 1 12); do
    printf 'item %s\n' "$i" > "ref/in$i.SLOW.txt"
    printf 'item %s\n' "$i" > "cut/in$i.SLOW.txt"
done
printf 'x\n' > ref/in13.REJECT.txt
printf 'x\n' > cut/in13.REJECT.txt
names() { for i in $(seq -w 1 12); do printf 'in%s.SLOW.txt\n' "$i"; done; echo in13.REJECT.txt; }
export FAKE_SLOW_S=0.15 TMPDIR=$WORK/tmp

# The reference: one run, not interrupted.
(cd ref && names | "$BMP" run -q -j 2 --reject-code 3 --outdir out --create_outdir \
    --journal journal.jsonl -- "$FAKE" {in} {out} > pout.jsonl)
check_eq "reference run: exit 0" 0 $?

# The same run, killed with SIGKILL part-way.
cd cut
names > names.txt
FAKE_LOG=$WORK/cut/log1.txt "$BMP" run -q -j 2 --reject-code 3 --outdir out --create_outdir \
    --journal journal.jsonl -a names.txt -- "$FAKE" {in} {out} > pout_killed.jsonl &
tool=$!
sleep 0.5
exec 3>&2 2> /dev/null # no "Killed" notice from the shell
kill -9 "$tool"
wait "$tool"
status=$?
exec 2>&3 3>&-
check_eq "the tool died of SIGKILL" 137 $status
# Its workers and their commands die with it; give them a moment.
for _ in 1 2 3 4 5 6 7 8 9 10; do
    pgrep -f "$FAKE in[0-9][0-9]\\." > /dev/null || break
    sleep 0.1
done
check "no worker or command outlives the killed tool" test -z "$(pgrep -f "$FAKE in[0-9][0-9]\\.")"
journaled=$(journal journal.jsonl 'len(rows)')
check "the journal holds some but not all items ($journaled)" test "$journaled" -gt 0 -a "$journaled" -lt 13
check_eq "the killed run wrote no pout" "" "$(cat pout_killed.jsonl)"
finished=$(journal journal.jsonl '" ".join(sorted(r["in_name"] for r in rows if r["status"] in ("ok", "no_output")))')

FAKE_LOG=$WORK/cut/log2.txt "$BMP" run -q -j 2 --reject-code 3 --outdir out --create_outdir \
    --journal journal.jsonl --resume -a names.txt -- "$FAKE" {in} {out} > pout.jsonl
check_eq "resumed run: exit 0" 0 $?
cd ..

strip='[{k: v for k, v in r.items() if k != "stats"} for r in rows]'
check_eq "the resumed pout equals the uninterrupted one (stats aside)" \
    "$(pout ref/pout.jsonl "$strip")" "$(pout cut/pout.jsonl "$strip")"
check "the outputs are the same files" diff -r ref/out cut/out
ran_again=$(sort cut/log2.txt | tr '\n' ' ')
check "the resumed run ran none of the journal's finished items" \
    "$PY" -c 'import sys; a = set(sys.argv[1].split()); b = set(sys.argv[2].split()); sys.exit(bool(a & b) or not a)' \
    "$ran_again" "$finished"
check_eq "between them, the two runs finished every item" \
    "$(names | sort | tr '\n' ' ')" \
    "$(journal cut/journal.jsonl '" ".join(sorted(set(r["in_name"] for r in rows))) + " "')"

# SIGKILL of the whole command (its process group) at random moments,
# each followed by --resume: every time, the pout and the outputs of an
# uninterrupted run, and nothing hidden left behind -- no temporary
# beside the outputs, no run folder in TMPDIR.
mkdir rk rk/ref rk/cut
for i in 1 2 3 4 5 6 7 8; do
    printf 'item %s\n' "$i" | tee "rk/ref/rk$i.SLOW.txt" > "rk/cut/rk$i.SLOW.txt"
done
printf 'x\n' | tee rk/ref/rk9.REJECT.txt > rk/cut/rk9.REJECT.txt
rk_names() { printf 'rk%s.SLOW.txt\n' 1 2 3 4 5 6 7 8; echo rk9.REJECT.txt; }
rk_names > rk/names.txt
rk_args=(run -q -j 2 --reject-code 3 --outdir out --create_outdir
         --journal j.jsonl -a "$WORK/rk/names.txt" -- "$FAKE" {in} {out})
export FAKE_SLOW_S=0.05
(cd rk/ref && "$BMP" "${rk_args[@]}" > pout.jsonl)
kills=10 equal=0 same_files=0 no_temps=0 no_run_dirs=0 resumed=0 left=0 left_temps=0
for k in $(seq $kills); do
    (
        cd rk/cut || exit
        rm -rf out j.jsonl
        # setsid: the command leads a group of its own, killed whole.
        setsid "$BMP" "${rk_args[@]}" > /dev/null &
        pid=$!
        sleep "0.$(printf '%03d' $((RANDOM % 200)))"
        kill -9 -- -"$pid" 2> /dev/null
        wait "$pid" 2> /dev/null
        # Workers and programs die with the command (PR_SET_PDEATHSIG), a
        # moment later; a temporary still held is rightly kept.
        for _ in $(seq 100); do
            pgrep -f "$WORK/rk/names.txt" > /dev/null || pgrep -f "$FAKE rk[0-9]" > /dev/null || break
            sleep 0.05
        done
    )
    if [ -n "$(find rk/cut/out -name '.*.bmp-*' 2> /dev/null)$(ls tmp)" ]; then left=$((left + 1)); fi
    if [ -n "$(find rk/cut/out -name '.*.bmp-*' 2> /dev/null)" ]; then left_temps=$((left_temps + 1)); fi
    (cd rk/cut && "$BMP" "${rk_args[@]:0:1}" --resume "${rk_args[@]:1}" > pout.jsonl) &&
        resumed=$((resumed + 1))
    strip='[{k: v for k, v in r.items() if k != "stats"} for r in rows]'
    [ "$(pout rk/ref/pout.jsonl "$strip")" = "$(pout rk/cut/pout.jsonl "$strip")" ] && equal=$((equal + 1))
    diff -r rk/ref/out rk/cut/out > /dev/null && same_files=$((same_files + 1))
    [ -z "$(find rk/cut/out -name '.*.bmp-*')" ] && no_temps=$((no_temps + 1))
    [ -z "$(ls tmp)" ] && no_run_dirs=$((no_run_dirs + 1))
done
check_eq "random SIGKILLs of the command: every resume exits 0" "$kills" "$resumed"
check_eq "... and its pout equals the uninterrupted run's" "$kills" "$equal"
check_eq "... and so do the outputs" "$kills" "$same_files"
check_eq "... no temporary survives beside the outputs" "$kills" "$no_temps"
check_eq "... no run folder survives in TMPDIR" "$kills" "$no_run_dirs"
check "... and the kills did leave things to clean ($left of $kills; temporaries after $left_temps)" \
    test "$left" -gt 0

# SIGINT: the run stops, says so, and lists what did not run; --resume
# finishes it.
mkdir int
for i in 1 2 3 4 5 6; do printf '%s\n' "$i" > "int/in$i.SLOW.txt"; done
cd int
# Job control on: a non-interactive shell starts background jobs with
# SIGINT ignored, and the tool rightly keeps an ignored signal ignored.
set -m
FAKE_SLOW_S=0.4 "$BMP" run -j 2 --journal j.jsonl -- "$FAKE" {in} {out} \
    ::: in1.SLOW.txt in2.SLOW.txt in3.SLOW.txt in4.SLOW.txt in5.SLOW.txt in6.SLOW.txt \
    > pout.jsonl 2> err.txt &
tool=$!
sleep 0.6
kill -INT "$tool"
wait "$tool"
status=$?
set +m
check_eq "SIGINT: exit 1" 1 $status
check "SIGINT: the message says how to finish" \
    grep -q "interrupted; run again with --resume to finish" err.txt
check "SIGINT: the summary counts what did not run" \
    grep -Eq '^6 items: [0-9] ok, 0 no output, 0 failed, [1-6] not run in' err.txt
check_eq "SIGINT: the pout is whole, in order, ending with items not run" \
    "6 not_run" "$(pout pout.jsonl 'str(len(rows)) + " " + rows[-1]["status"]')"
check "SIGINT: no part of an output is left by the stopped commands" \
    test "$(ls ./*_bmp.txt 2> /dev/null | wc -l)" -eq "$(pout pout.jsonl 'sum(r["status"] == "ok" for r in rows)')"
FAKE_SLOW_S=0.01 "$BMP" run -q -j 2 --journal j.jsonl --resume -- "$FAKE" {in} {out} \
    ::: in1.SLOW.txt in2.SLOW.txt in3.SLOW.txt in4.SLOW.txt in5.SLOW.txt in6.SLOW.txt > pout.jsonl
check_eq "--resume after SIGINT finishes the run" \
    "['ok', 'ok', 'ok', 'ok', 'ok', 'ok']" "$(pout pout.jsonl '[r["status"] for r in rows]')"
cd ..

# A journal belongs to one run: resuming with another outdir or another
# command is refused (exit 2) with what changed, and the journal and the
# outputs are left as they were; --force-resume takes it anyway.
mkdir other && cd other || exit 2
for i in 1 2 3; do printf '%s\n' "$i" > "in$i.txt"; done
"$BMP" run -q -j 2 --outdir a --create_outdir --journal j.jsonl -- cp {in} {out} \
    ::: in1.txt in2.txt in3.txt > pout.jsonl
check_eq "journalled run: exit 0" 0 $?
cp j.jsonl j.before
"$BMP" run -q -j 2 --outdir b --create_outdir --journal j.jsonl --resume -- cp {in} {out} \
    ::: in1.txt in2.txt in3.txt > pout.jsonl 2> err.txt
check_eq "resume with another outdir: exit 2" 2 $?
check "the message names what changed" grep -q 'belongs to another run: outdir was "a", now "b"' err.txt
check "the message names the way out" grep -q 'force_resume' err.txt
check "the journal is untouched" cmp -s j.jsonl j.before
check "nothing was written to the new outdir" test ! -e b
"$BMP" run -q -j 2 --outdir a --journal j.jsonl --resume -- cat {in} \
    ::: in1.txt in2.txt in3.txt > pout.jsonl 2> err.txt
check_eq "resume with another command: exit 2" 2 $?
check "the message names the command" grep -q "pipeline_id was \"cp {in} {out}\", now \"cat {in}\"" err.txt
"$BMP" run -q -j 2 --outdir a --journal j.jsonl --resume -- cp {in} {out} \
    ::: in1.txt in2.txt in3.txt > pout.jsonl
check_eq "resume of the same run: exit 0" 0 $?
"$BMP" run -q -j 2 --outdir b --create_outdir --journal j.jsonl --resume --force-resume \
    -- cp {in} {out} ::: in1.txt in2.txt in3.txt > pout.jsonl
check_eq "--force-resume: exit 0" 0 $?
check "--force-resume made the journal this run's" grep -q '"outdir": "b"' j.jsonl
"$BMP" run -q --force-resume -- cp {in} {out} ::: in1.txt > /dev/null 2> err.txt
check_eq "--force-resume without --resume: exit 2" 2 $?
cd ..

finish
