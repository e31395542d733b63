#!/bin/sh
# fault.sh MPIEXEC TEST_MPI_FAULT kill|hang|refuse|late|cached|hang0 SCRATCH
# (test_mpi_fault.c says what each mode does): a helper rank killed
# (or stopped) in the middle of a run through the library ends the job
# non-zero; rank 0's journal kept what finished (kill) or rank 0 checked
# its pout before ending the job (hang: SCRATCH/verdict says ok); the same
# run with resume then gives the serial run's pout.  refuse: a helper
# that stops with an error; the program checks rank 0's pout and exits 0.
mpiexec=$1 prog=$2 mode=$3 scratch=$4
rm -rf "$scratch"
mkdir -p "$scratch" || exit 2
fail=0
case $mode in refuse | late | cached)
    # A helper that stops with an error, one that starts late, a stored
    # pout on rank 0: the job goes on to its end.
    "$mpiexec" -n 3 --oversubscribe "$prog" "$mode" "$scratch" || exit 1
    rm -rf "$scratch"
    exit 0
esac
if [ "$mode" = hang0 ]; then
    # Rank 0 stopped: the helpers end the job; never wait for ever, and
    # the stopped rank 0 goes in the end whatever happened.
    timeout -s KILL 90 "$mpiexec" -n 3 --oversubscribe "$prog" hang0 \
        "$scratch" 2>"$scratch/stderr"
    code=$?
    pid=$(cat "$scratch/rank0.pid" 2>/dev/null)
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    cat "$scratch/stderr" >&2
    if [ $code -eq 0 ] || [ $code -eq 137 ]; then
        echo "not ok - hang0: the job ended with $code"
        exit 1
    fi
    echo "ok - hang0: the job ended with $code"
    if ! grep -q "taken for hung" "$scratch/stderr"; then
        echo "not ok - hang0: no helper said that rank 0 is hung"
        exit 1
    fi
    echo "ok - hang0: a helper said that rank 0 is hung"
    rm -rf "$scratch"
    exit 0
fi
"$mpiexec" -n 3 --oversubscribe "$prog" "$mode" "$scratch"
code=$?
if [ $code -eq 0 ]; then
    echo "not ok - $mode: the job ended with 0"
    fail=1
else
    echo "ok - $mode: the job ended with $code"
fi
if [ "$(grep -c '"in_name"' "$scratch/journal.jsonl" 2>/dev/null)" -ge 1 ]; then
    echo "ok - $mode: rank 0's journal holds finished items"
else
    echo "not ok - $mode: rank 0's journal holds no item"
    fail=1
fi
if [ "$mode" = hang ]; then
    if [ "$(cat "$scratch/verdict" 2>/dev/null)" = ok ]; then
        echo "ok - hang: rank 0's pout and return code as documented"
    else
        echo "not ok - hang: rank 0's checks:"
        cat "$scratch/verdict" 2>/dev/null
        fail=1
    fi
fi
if "$mpiexec" -n 3 --oversubscribe "$prog" resume "$scratch"; then
    echo "ok - $mode: resume gives the serial run's pout"
else
    echo "not ok - $mode: resume"
    fail=1
fi
[ $fail -eq 0 ] && rm -rf "$scratch"
exit $fail
