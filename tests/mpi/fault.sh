#!/bin/sh
# fault.sh MPIEXEC TEST_MPI_FAULT kill|hang|refuse SCRATCH: a helper rank killed
# (or stopped) in the middle of a run through the library ends the job
# non-zero; rank 0's journal kept what finished (kill) or rank 0 checked
# its pout before ending the job (hang: SCRATCH/verdict says ok); the same
# run with resume then gives the serial run's pout.  refuse: a helper
# that stops with an error; the program checks rank 0's pout and exits 0.
mpiexec=$1 prog=$2 mode=$3 scratch=$4
rm -rf "$scratch"
mkdir -p "$scratch" || exit 2
fail=0
if [ "$mode" = refuse ]; then
    # A helper that stops with an error: the job goes on to its end.
    "$mpiexec" -n 3 --oversubscribe "$prog" refuse "$scratch" || exit 1
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
