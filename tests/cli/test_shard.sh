# test_shard.sh -- run --shard I/N and merge: the shards of a run, merged,
# give the pout and the outputs of the run unsharded; --shard auto/N takes
# I from Slurm's SLURM_ARRAY_TASK_ID; a shard's summary and exit status count its
# own items only; usage errors and pouts of other runs are refused.
. "$(dirname "$0")/lib.sh"

export TMPDIR=$WORK/tmp
mkdir tmp ref sh
# Seven items: a rejected one in shard 0/2, a failing one in shard 1/2.
names() {
    echo a0.txt
    echo a1.FAIL.txt
    echo a2.REJECT.txt
    echo a3.txt
    echo a4.txt
    echo a5.txt
    echo a6.txt
}
for d in ref sh; do
    for n in $(names); do printf 'item %s\n' "$n" > "$d/$n"; done
done
run() { "$BMP" run --reject-code 3 --outdir out --create_outdir "$@" -- "$FAKE" {in} {out} ::: $(names); }

(cd ref && run -q -o pout.jsonl)
check_eq "the unsharded run: exit 1 (one item fails)" 1 $?

cd sh
run -o s0.jsonl --shard 0/2 2> s0.err
check_eq "shard 0/2, whose items all succeed or are rejected: exit 0" 0 $?
check_eq "shard 0/2's summary counts its own items" \
    "4 items of shard 0/2 (7 in all): 3 ok, 1 no output, 0 failed" \
    "$(sed 's/ in [0-9.]* s$//' s0.err)"
check_eq "shard 0/2's pout is whole, the other shard's items not_run" \
    "['ok', 'not_run', 'no_output', 'not_run', 'ok', 'not_run', 'ok']" \
    "$(pout s0.jsonl '[r["status"] for r in rows]')"
check_eq "the other shard's items say whose they are" \
    "['item of shard 1/2']" \
    "$(pout s0.jsonl 'sorted({r["error"] for r in rows if r["status"] == "not_run"})')"
run -q -o s1.jsonl --shard 1/2
check_eq "shard 1/2, with the failing item: exit 1" 1 $?

"$BMP" merge -o merged.jsonl s1.jsonl s0.jsonl 2> merged.err
check_eq "merge of both shards, one item failed: exit 1, as run" 1 $?
check_eq "and a summary of the merged pout" \
    "7 items: 5 ok, 1 no output, 1 failed, 0 not run" "$(cat merged.err)"
strip='[{k: v for k, v in r.items() if k != "stats"} for r in rows]'
check_eq "the merged pout is the unsharded run's (stats aside)" \
    "$(pout ../ref/pout.jsonl "$strip")" "$(pout merged.jsonl "$strip")"
check "the outputs are the unsharded run's, byte for byte" diff -r ../ref/out out
"$BMP" merge s0.jsonl s1.jsonl > merged_stdout.jsonl 2> /dev/null
check_eq "merge writes to standard output without -o" 1 $?
check "and the same lines" cmp -s merged.jsonl merged_stdout.jsonl
"$BMP" merge s0.jsonl -o merged_mid.jsonl s1.jsonl 2> /dev/null
check_eq "merge with -o among the pouts: exit 1 (the failed item)" 1 $?
check "and the same lines" cmp -s merged.jsonl merged_mid.jsonl
# Every item ok or rejected: exit 0.
"$PY" - s1.jsonl > s1ok.jsonl <<'PYEOF'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    r = json.loads(line)
    if i == 1:
        r.update(status="no_output", error=None, outname=None)
    print(json.dumps(r))
PYEOF
"$BMP" merge -o allok.jsonl s0.jsonl s1ok.jsonl 2> allok.err
check_eq "merge of shards whose items all succeed or are rejected: exit 0" 0 $?
check_eq "and its summary" "7 items: 5 ok, 2 no output, 0 failed, 0 not run" "$(cat allok.err)"

# A missing shard: its items finished nowhere.
"$BMP" merge -o half.jsonl s0.jsonl 2> half.err
check_eq "merge with a shard missing: exit 1" 1 $?
check "and it says how many items finished nowhere" grep -q '3 of 7 items finished in no shard' half.err
check_eq "those stay not_run, naming their shard" \
    "['item of shard 1/2', 'item of shard 1/2', 'item of shard 1/2']" \
    "$(pout half.jsonl '[r["error"] for r in rows if r["status"] == "not_run"]')"

# A shard cut short: its pout has its unfinished items not_run with error
# null (an interruption); the other shard's pout names their shard.
"$PY" - s1.jsonl > s1cut.jsonl <<'PYEOF'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    r = json.loads(line)
    if i == 5:
        r.update(status="not_run", error=None, outname=None, meta={})
    print(json.dumps(r))
PYEOF
"$BMP" merge -o cut.jsonl s1cut.jsonl s0.jsonl 2> cut.err
check_eq "merge with a shard cut short: exit 1" 1 $?
check_eq "its unfinished item is not_run, naming its shard" \
    "not_run item of shard 1/2" "$(pout cut.jsonl 'rows[5]["status"] + " " + rows[5]["error"]')"
check "and it counts it" grep -q '1 of 7 items finished in no shard' cut.err
"$BMP" merge -o cutonly.jsonl s1cut.jsonl 2> /dev/null
check_eq "the cut shard's pout alone leaves its own item unnamed" \
    "not_run None" "$(pout cutonly.jsonl 'rows[5]["status"] + " " + str(rows[5]["error"])')"

# --shard auto/N: shard SLURM_ARRAY_TASK_ID of N.
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2 run -q --overwrite -o auto1.jsonl --shard auto/2
check_eq "--shard auto/2 in task 1: exit 1 (its item fails)" 1 $?
check_eq "--shard auto/2 in task 1 runs shard 1/2" \
    "$(pout s1.jsonl "$strip")" "$(pout auto1.jsonl "$strip")"
# A lost task submitted again alone (sbatch --array=0): its array is that
# one task, and it is still shard 0 of 2, not every item.
SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=0 SLURM_ARRAY_TASK_COUNT=1 \
    run -q --overwrite -o auto0.jsonl --shard auto/2
check_eq "task 0 submitted again with --array=0: exit 0" 0 $?
check_eq "and it runs shard 0/2" \
    "$(pout s0.jsonl "$strip")" "$(pout auto0.jsonl "$strip")"

# Usage errors, before anything runs.
cd ..
mkdir bad
cd bad
for n in $(names); do printf 'x\n' > "$n"; done
for shard in 2/2 1/0 x 0/2x -1/2 ""; do
    run -q --shard "$shard" > /dev/null 2> err.txt
    check_eq "--shard '$shard': exit 2" 2 $?
    check "--shard '$shard': the message names the option" grep -q -- '--shard' err.txt
done
check "nothing ran for a bad --shard" test ! -e out
for shard in auto auto/ auto/0 auto/x; do
    SLURM_ARRAY_TASK_ID=0 run -q --shard "$shard" > /dev/null 2> err.txt
    check_eq "--shard '$shard': exit 2" 2 $?
done
env -u SLURM_ARRAY_TASK_ID "$BMP" run -q --shard auto/2 -- "$FAKE" {in} {out} ::: a0.txt 2> err.txt
check_eq "--shard auto/2 outside a job array: exit 2" 2 $?
check "and it names the variable" grep -q SLURM_ARRAY_TASK_ID err.txt
SLURM_ARRAY_TASK_ID=2 "$BMP" run -q --shard auto/2 -- "$FAKE" {in} {out} ::: a0.txt 2> err.txt
check_eq "--shard auto/2 in task 2: exit 2" 2 $?
check "and it says the task ids are the shard numbers" grep -q 'not a shard number from 0 to 1' err.txt
check "nothing ran for --shard auto refused" test ! -e out

# A journal of one shard is not resumed as another.
run -q -o j0.jsonl --shard 0/2 --journal journal.jsonl
check_eq "shard 0/2 with a journal: exit 0" 0 $?
run -q -o j1.jsonl --shard 1/2 --journal journal.jsonl --resume 2> err.txt
check_eq "resuming shard 0/2's journal as shard 1/2: exit 2" 2 $?
check "and the message names the shard" grep -q 'shard was "0/2", now "1/2"' err.txt

# A shard sweeps the temporaries of its own items only: another shard's
# may be in use on another machine.  (Names as {out} makes them.)
mkdir -p out
: > out/.a0_bmp.txt.bmp-Ab12Cd.txt
: > out/.a1.FAIL_bmp.txt.bmp-Ef34Gh.txt
run -q -o sweep.jsonl --overwrite --shard 0/2 2> /dev/null
check "shard 0/2 removed its own item's dead temporary" test ! -e out/.a0_bmp.txt.bmp-Ab12Cd.txt
check "and left shard 1/2's" test -e out/.a1.FAIL_bmp.txt.bmp-Ef34Gh.txt

# merge refuses what is not the shards of one run.
"$BMP" run -q -o other.jsonl --shard 0/2 -- "$FAKE" {in} {out} ::: a0.txt a3.txt 2> /dev/null
"$BMP" merge ../sh/s0.jsonl other.jsonl > /dev/null 2> err.txt
check_eq "merge of pouts of different runs: exit 2" 2 $?
check "and it says so" grep -q 'not shards of one run' err.txt
"$BMP" merge > /dev/null 2> err.txt
check_eq "merge without pouts: exit 2" 2 $?
"$BMP" merge missing.jsonl > /dev/null 2> err.txt
check_eq "merge of a file that is not there: exit 2" 2 $?
"$BMP" merge --bogus ../sh/s0.jsonl > /dev/null 2> err.txt
check_eq "merge with an unknown option: exit 2" 2 $?
"$BMP" merge ../sh/s0.jsonl -x ../sh/s1.jsonl > /dev/null 2> err.txt
check_eq "merge with an unknown option among the pouts: exit 2" 2 $?
check "and it names it" grep -q -- '-x' err.txt
"$BMP" merge ../sh/s0.jsonl -o > /dev/null 2> err.txt
check_eq "merge with -o last, without its file: exit 2" 2 $?
if [ -r /proc/self/mem ]; then
    # Reading /proc/self/mem from its start fails with EIO: not a usage
    # matter.
    "$BMP" merge /proc/self/mem > /dev/null 2> err.txt
    check_eq "merge of a file that cannot be read (EIO): exit 1" 1 $?
fi
"$BMP" merge --help > help.txt
check_eq "merge --help: exit 0" 0 $?
check "merge --help shows its usage" grep -q 'bigmultipipe merge \[-o FILE\] POUT' help.txt

finish
