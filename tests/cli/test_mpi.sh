# test_mpi.sh -- bigmultipipe run --executor mpi under mpirun with 1 and
# 3 ranks on this machine: rank 0's pout and the outputs equal a plain
# run's, the other ranks print nothing on standard output, every rank
# exits with rank 0's status, and --journal with --resume after a
# complete run runs nothing but the failed item, and after a run where
# every item succeeded, nothing.  Registered only when MPI is built; MPIEXEC
# names the launcher.
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
            "$(grep -o '<text x="4" y="[0-9.]*">rank [12] ([^)]*) worker [0-9]*' mpi$n/report.html | wc -l)"
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

# Standard input reaches rank 0 only: refused, before MPI starts.
printf 'data/in1.txt\n' | "$BMP" run --executor mpi -- "$FAKE" {in} > out.txt 2> err.txt
check_eq "inputs on standard input: usage error" 2 $?
check "the message names standard input" grep -q "standard input" err.txt
"$BMP" run --executor mpi -a - -- "$FAKE" {in} < /dev/null > out.txt 2> err.txt
check_eq "--input-list -: usage error" 2 $?
"$BMP" run --executor nowhere -- "$FAKE" {in} ::: data/in1.txt > out.txt 2> err.txt
check_eq "an unknown executor: usage error" 2 $?

finish
