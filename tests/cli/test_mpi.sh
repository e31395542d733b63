# test_mpi.sh -- bigmultipipe run --executor mpi under mpirun with 1 to
# 4 ranks on this machine: rank 0's pout and the outputs equal a plain
# run's, the other ranks print nothing on standard output, every rank
# exits with rank 0's status, --read_pout prints the stored pout and
# lets every rank go, and --journal with --resume after a
# complete run runs nothing but the failed item, and after a run where
# every item succeeded, nothing.  Faults with 3 ranks: a helper rank
# SIGKILLed while an item stalls ends the job non-zero, rank 0's journal
# keeps what finished, and the same command with --resume gives the
# plain run's pout and outputs, the dead rank's temporary removed; a
# helper rank SIGSTOPped is found by the heartbeat (BMP_MPI_HEARTBEAT=3),
# rank 0 writes the pout with the stalled item failed and ends the job,
# and --resume finishes it the same way.  A rank bound to one CPU
# (taskset) says so once, with the fix.  Registered only when MPI is
# built; MPIEXEC names the launcher.
. "$(dirname "$0")/lib.sh"

MPIRUN=${MPIEXEC:-mpirun}
mkdir data tmp
for i in $(seq -w 1 9); do printf 'item %s\n' "$i" > "data/in$i.txt"; done
printf 'x\n' > data/in10.REJECT.txt
printf 'x\n' > data/in11.FAIL.txt
export TMPDIR=$WORK/tmp
strip='[{k: v for k, v in r.items() if k != "stats"} for r in rows]'

# run_in DIR OPTIONS...: the fake program over data/ into DIR/out, with
# the launcher words in LAUNCH (none for a plain run), the pout in
# DIR/pout.jsonl, standard error in DIR/err.txt.
run_in() {
    local dir=$1
    shift
    mkdir -p "$dir"
    (cd "$dir" && ${LAUNCH} "$BMP" run "$@" --reject-code 3 --outdir out --create_outdir \
        --journal journal.jsonl -- "$FAKE" {in} {out} \
        ::: ../data/in*.txt > pout.jsonl 2> err.txt)
}

LAUNCH= run_in plain
check_eq "plain run: exit 1 (one item fails)" 1 $?

for n in 1 3; do
    LAUNCH="$MPIRUN -n $n --oversubscribe" FAKE_LOG=$WORK/log$n.txt \
        run_in mpi$n --executor mpi
    check_eq "$n rank(s): exit 1, rank 0's status" 1 $?
    check_eq "$n rank(s): the pout equals the plain run's (stats aside)" \
        "$(pout plain/pout.jsonl "$strip")" "$(pout mpi$n/pout.jsonl "$strip")"
    check "$n rank(s): the outputs are the same files" diff -r plain/out mpi$n/out
    check_eq "$n rank(s): one summary line, rank 0's" 1 \
        "$(grep -c '^11 items: 9 ok, 1 no output, 1 failed' mpi$n/err.txt)"
    check_eq "$n rank(s): each item ran once" \
        "$(ls data | sort | tr '\n' ' ')" \
        "$(sed 's,.*/,,' "$WORK/log$n.txt" | sort | tr '\n' ' ')"
    # Where each item ran: a helper rank and its host with 3 ranks,
    # neither key with one (as in a plain run's pout).
    if [ $n -gt 1 ]; then
        check_eq "$n rank(s): every entry names rank 1 or 2 and a host" True \
            "$(pout mpi$n/pout.jsonl 'all(r["stats"].get("rank") in (1, 2) and r["stats"].get("host") for r in rows)')"
        # The report page: a row per rank and worker, one bar per item.
        "$BMP" report mpi$n/pout.jsonl -o mpi$n/report.html
        check_eq "$n rank(s): the report has a row per rank and worker" \
            "$(pout mpi$n/pout.jsonl 'len({(r["stats"]["rank"], r["stats"]["worker"]) for r in rows})')" \
            "$(grep -o '<text x="4" y="[0-9.]*" clip-path="url(#labels)"><title>[^<]*</title>rank [12] worker [0-9]*' mpi$n/report.html | wc -l)"
        check_eq "$n rank(s): the report has one bar per item" 11 \
            "$(grep -o '<rect class="bar ' mpi$n/report.html | wc -l)"
    else
        check_eq "$n rank(s): no entry names a rank or a host" False \
            "$(pout mpi$n/pout.jsonl 'any("rank" in r["stats"] or "host" in r["stats"] for r in rows)')"
    fi
    check_eq "$n rank(s): the journal holds every item" 11 \
        "$(journal mpi$n/journal.jsonl 'len(rows)')"

    # Resumed after a complete run: only the failed item runs again (as
    # in a plain run), the same pout.
    rm -f "$WORK/log$n.txt"
    (cd mpi$n && mv pout.jsonl pout1.jsonl)
    LAUNCH="$MPIRUN -n $n --oversubscribe" FAKE_LOG=$WORK/log$n.txt \
        run_in mpi$n --executor mpi --resume
    check_eq "$n rank(s), --resume: exit 1" 1 $?
    check_eq "$n rank(s), --resume: only the failed item ran again" \
        in11.FAIL.txt "$(sed 's,.*/,,' "$WORK/log$n.txt")"
    check_eq "$n rank(s), --resume: the same pout (stats aside)" \
        "$(pout mpi$n/pout1.jsonl "$strip")" "$(pout mpi$n/pout.jsonl "$strip")"
done

# 2 and 4 ranks: the same pout and outputs (resume and the report are
# checked above, with 1 and 3).
for n in 2 4; do
    LAUNCH="$MPIRUN -n $n --oversubscribe" FAKE_LOG=$WORK/log$n.txt \
        run_in mpi$n --executor mpi
    check_eq "$n ranks: exit 1, rank 0's status" 1 $?
    check_eq "$n ranks: the pout equals the plain run's (stats aside)" \
        "$(pout plain/pout.jsonl "$strip")" "$(pout mpi$n/pout.jsonl "$strip")"
    check "$n ranks: the outputs are the same files" diff -r plain/out mpi$n/out
    check_eq "$n ranks: each item ran once" \
        "$(ls data | sort | tr '\n' ' ')" \
        "$(sed 's,.*/,,' "$WORK/log$n.txt" | sort | tr '\n' ' ')"
    check_eq "$n ranks: every entry names a helper rank and a host" True \
        "$(pout mpi$n/pout.jsonl "all(1 <= r['stats'].get('rank', 0) < $n and r['stats'].get('host') for r in rows)")"
done

# Every rank exits with rank 0's status: 0 when every item is ok.
mkdir good
(cd good && "$MPIRUN" -n 3 --oversubscribe "$BMP" run -q --executor mpi \
    --outdir out --create_outdir -- "$FAKE" {in} {out} \
    ::: ../data/in[0-9].txt > pout.jsonl)
check_eq "3 ranks, every item ok: exit 0" 0 $?
check_eq "3 ranks: rank 0's pout only, one entry an item" 9 "$(wc -l < good/pout.jsonl)"
(cd good && FAKE_LOG=$WORK/log_good.txt "$MPIRUN" -n 3 --oversubscribe "$BMP" run -q \
    --executor mpi --outdir out2 --create_outdir --journal journal.jsonl -- "$FAKE" {in} {out} \
    ::: ../data/in[0-9].txt > pout1.jsonl &&
    FAKE_LOG=$WORK/log_good2.txt "$MPIRUN" -n 3 --oversubscribe "$BMP" run -q \
    --executor mpi --outdir out2 --create_outdir --journal journal.jsonl --resume \
    -- "$FAKE" {in} {out} ::: ../data/in[0-9].txt > pout2.jsonl)
check_eq "3 ranks, journal then --resume: both exit 0" 0 $?
check_eq "3 ranks: the first run ran every item" 9 "$(wc -l < "$WORK/log_good.txt")"
check "3 ranks, --resume after a complete run: nothing ran" test ! -e "$WORK/log_good2.txt"
check_eq "3 ranks, --resume: the same pout (stats aside)" \
    "$(pout good/pout1.jsonl "$strip")" "$(pout good/pout2.jsonl "$strip")"

# --read_pout naming the stored pout of these inputs: rank 0 prints it
# and runs nothing, and the other ranks are let go (no hang: the timeout
# ends a job that waits for ever).
(cd good && FAKE_LOG=$WORK/log_read.txt timeout -s KILL 60 "$MPIRUN" -n 3 \
    --oversubscribe "$BMP" run -q --executor mpi --outdir out3 --create_outdir \
    --read_pout pout1.jsonl -- "$FAKE" {in} {out} ::: ../data/in[0-9].txt \
    > pout3.jsonl)
check_eq "3 ranks, --read_pout: exit 0, no hang" 0 $?
check "3 ranks, --read_pout: nothing ran" test ! -e "$WORK/log_read.txt"
check_eq "3 ranks, --read_pout: the stored pout" \
    "$(pout good/pout1.jsonl "$strip")" "$(pout good/pout3.jsonl "$strip")"

# Standard input reaches rank 0 only: refused, before MPI starts.
printf 'data/in1.txt\n' | "$BMP" run --executor mpi -- "$FAKE" {in} > out.txt 2> err.txt
check_eq "inputs on standard input: usage error" 2 $?
check "the message names standard input" grep -q "standard input" err.txt
"$BMP" run --executor mpi -a - -- "$FAKE" {in} < /dev/null > out.txt 2> err.txt
check_eq "--input-list -: usage error" 2 $?
"$BMP" run --executor nowhere -- "$FAKE" {in} ::: data/in1.txt > out.txt 2> err.txt
check_eq "an unknown executor: usage error" 2 $?

# ---- Faults: a rank killed, a rank hung, a rank bound to one CPU ----------
# stall.sh IN OUT: the fake program, except that an item named STALL,
# unless STALL_OFF is set, writes part of its output (a temporary beside
# the outputs), writes its pid to $STALL_PID and sleeps: the test then
# kills or stops the rank that runs it.
cat > stall.sh <<'EOF2'
#!/bin/sh
case $1 in
*STALL*)
    if [ -z "$STALL_OFF" ]; then
        printf PART > "$2"
        echo $$ > "$STALL_PID"
        exec sleep 60
    fi ;;
esac
exec "$FAKE" "$1" "$2"
EOF2
chmod +x stall.sh
export FAKE STALL_PID
mkdir fdata
for i in 1 2 3 4 5 6; do printf 'fast %s\n' $i > fdata/a$i.txt; done
printf 'stall\n' > fdata/m.STALL.txt
for i in 1 2 3; do printf 'slow %s\n' $i > fdata/z$i.SLOW.txt; done
export FAKE_SLOW_S=1

# frun DIR OPTIONS...: 3 ranks over fdata/ into DIR/out, in the
# background; MPIPID is mpirun's pid.
frun() {
    local dir=$1
    shift
    mkdir -p "$dir"
    (cd "$dir" && exec $MPIRUN -n 3 --oversubscribe "$BMP" run --executor mpi "$@" \
        -j 2 --outdir out --create_outdir --journal journal.jsonl \
        -- ../stall.sh {in} {out} ::: ../fdata/*.txt > pout.jsonl 2> err.txt) &
    MPIPID=$!
}

# stalled_rank: waits for the STALL item to start (60 s at most) and
# prints the pid of the rank that runs it: the ancestor of the item's
# program whose parent is mpirun.
stalled_rank() {
    local i p pp
    for i in $(seq 600); do [ -s "$STALL_PID" ] && break; sleep 0.1; done
    p=$(cat "$STALL_PID" 2>/dev/null)
    while [ -n "$p" ] && [ -r "/proc/$p/stat" ]; do
        pp=$(sed 's/.*) //' "/proc/$p/stat" | cut -d' ' -f2)
        if [ "$pp" = "$MPIPID" ]; then
            echo "$p"
            return 0
        fi
        p=$pp
    done
    return 1
}

# The one-machine run to compare with.
(cd fdata && mkdir -p ../fplain && cd ../fplain && STALL_OFF=1 "$BMP" run -j 2 \
    --outdir out --create_outdir -- ../stall.sh {in} {out} ::: ../fdata/*.txt \
    > pout.jsonl 2> err.txt)
check_eq "fault runs: the plain run succeeds" 0 $?

for how in KILL STOP; do
    d=f$how
    STALL_PID=$WORK/$d.pid
    # A short heartbeat for the hung rank; the default for the killed
    # one, which MPI itself sees die.
    if [ $how = STOP ]; then export BMP_MPI_HEARTBEAT=3; else unset BMP_MPI_HEARTBEAT; fi
    frun $d
    victim=$(stalled_rank)
    check "$how: the STALL item runs on a helper rank" test -n "$victim"
    # Wait for the fast items' lines in rank 0's journal, then hit the
    # rank.
    for i in $(seq 600); do
        [ "$(journal $d/journal.jsonl 'sum(r["status"] == "ok" for r in rows)' 2>/dev/null || echo 0)" -ge 6 ] && break
        sleep 0.1
    done
    before=$(journal $d/journal.jsonl 'len(rows)')
    rank_of=$(tr '\0' '\n' < /proc/$victim/environ | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
    kill -$how "$victim"
    wait $MPIPID
    code=$?
    check "$how: the job ends non-zero (exit $code)" test $code -ne 0
    check "$how: the STALL item's temporary is left beside the outputs" \
        test -n "$(ls -A $d/out | grep '^\.m\.STALL')"
    check "$how: rank 0's journal kept every item it had ($before)" \
        test "$(journal $d/journal.jsonl 'len(rows)')" -ge "$before"
    check_eq "$how: every journal entry's output exists" True \
        "$(cd $d && journal journal.jsonl 'all(r["outname"] is None or os.path.exists(r["outname"]) for r in rows)')"
    if [ $how = KILL ]; then
        check "KILL: MPI names the killed rank" grep -q "rank $rank_of .*signal 9" $d/err.txt
    else
        # Rank 0 saw the silence, wrote the pout of what finished and
        # ended the job.
        check "STOP: rank 0 names the silent rank and the heartbeat" \
            grep -q "rank $rank_of (host .*heartbeat time-out" $d/err.txt
        check_eq "STOP: the pout holds every item" 10 "$(wc -l < $d/pout.jsonl)"
        check_eq "STOP: the STALL item failed, its error naming the rank" True \
            "$(pout $d/pout.jsonl "any(r['in_name'].endswith('m.STALL.txt') and r['status'] == 'failed' and 'rank $rank_of' in r['error'] for r in rows)")"
        check_eq "STOP: the items that finished are ok in the pout" True \
            "$(pout $d/pout.jsonl 'sum(r["status"] == "ok" for r in rows) >= 6')"
        kill -CONT "$victim" 2>/dev/null
    fi
    unset BMP_MPI_HEARTBEAT
    # The same command with --resume finishes the run.
    (cd $d && STALL_OFF=1 $MPIRUN -n 3 --oversubscribe "$BMP" run --executor mpi --resume \
        -j 2 --outdir out --create_outdir --journal journal.jsonl \
        -- ../stall.sh {in} {out} ::: ../fdata/*.txt > pout2.jsonl 2> err2.txt)
    check_eq "$how, --resume: exit 0" 0 $?
    check_eq "$how, --resume: the pout equals the plain run's (stats aside)" \
        "$(pout fplain/pout.jsonl "$strip")" "$(pout $d/pout2.jsonl "$strip")"
    check "$how, --resume: the outputs are the plain run's, no temporary left" \
        diff -r fplain/out $d/out
done
unset FAKE_SLOW_S

# A rank bound to one CPU of several says so, naming itself and the fix.
if [ "$(nproc --all)" -gt 1 ] && command -v taskset > /dev/null; then
    mkdir bound
    (cd bound && taskset -c 0 $MPIRUN -n 2 --oversubscribe --bind-to none "$BMP" run -q \
        --executor mpi --outdir out --create_outdir -- "$FAKE" {in} {out} \
        ::: ../data/in[0-9].txt > pout.jsonl 2> err.txt)
    check_eq "bound to one CPU: the run succeeds" 0 $?
    check "bound to one CPU: rank 1 says it is bound, with its host" \
        grep -q "rank 1 on host .* is bound to 1 of [0-9][0-9]* CPUs" bound/err.txt
    check "bound to one CPU: the fix is named" grep -q -- "--bind-to none.*srun -c N" bound/err.txt
    check_eq "bound to one CPU: said once" 1 "$(grep -c 'is bound to' bound/err.txt)"
    mkdir unbound
    (cd unbound && $MPIRUN -n 2 --oversubscribe --bind-to none "$BMP" run -q \
        --executor mpi --outdir out --create_outdir -- "$FAKE" {in} {out} \
        ::: ../data/in[0-9].txt > pout.jsonl 2> err.txt)
    if [ "$(nproc)" = "$(nproc --all)" ]; then
        check "not bound: nothing said" test -z "$(grep 'is bound to' unbound/err.txt)"
    fi
fi

finish
