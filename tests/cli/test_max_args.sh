# test_max_args.sh -- -n N (--max-args): one program start for up to N
# inputs, each input with its own {out} temporary and its own pout entry,
# the same as a run without -n gives it.
. "$(dirname "$0")/lib.sh"

run() { timeout 60 "$BMP" run "$@"; }

# The program: inputs first, then as many outputs (GNU parallel's -X
# repeats each word); an input holding FAIL makes it exit 3 after writing
# the others, one holding SKIP gets no output, SLOW sleeps.  It prints
# one JSON object a line per input: each input's own meta.
cat > conv.sh <<'SH'
n=$(($# / 2)); i=1; code=0
while [ $i -le $n ]; do
    eval "in=\${$i}; out=\${$((i + n))}"
    printf '{"c": "%s"}\n' "$(head -n 1 "$in")"
    case $(cat "$in") in
    *FAIL*) code=3 ;;
    *SKIP*) ;;
    *SLOW*) sleep 0.3; tr a-z A-Z < "$in" > "$out" ;;
    *) tr a-z A-Z < "$in" > "$out" ;;
    esac
    i=$((i + 1))
done
exit $code
SH
for i in 1 2 3 4 5 6 7; do printf 'file %s\n' "$i" > "f$i.txt"; done
NAMES="f1.txt f2.txt f3.txt f4.txt f5.txt f6.txt f7.txt"

# ---- outputs and pout equal to a run without -n -------------------------
run -q -n 3 --outdir a --create_outdir -o a.jsonl -- sh conv.sh {in} {out} ::: $NAMES
check_eq "-n 3: exit 0" 0 $?
run -q --outdir b --create_outdir -o b.jsonl -- sh conv.sh {in} {out} ::: $NAMES
same=1
for i in 1 2 3 4 5 6 7; do cmp -s "a/f${i}_bmp.txt" "b/f${i}_bmp.txt" || same=0; done
check_eq "-n 3: every output equals the run without -n, byte for byte" 1 $same
FIELDS='[[r["in_name"], (r["outname"] or "").split("/")[-1], r["status"], r["error"], r["meta"]] for r in rows]'
check_eq "-n 3: one pout entry per input, as without -n (stats aside)" \
    "$(pout b.jsonl "$FIELDS")" "$(pout a.jsonl "$FIELDS")"
check_eq "-n 3: each input's meta is its own line of standard output" \
    "['file 1', 'file 7']" "$(pout a.jsonl '[rows[0]["meta"]["c"], rows[6]["meta"]["c"]]')"
run -q -n 2 -o m.jsonl -- sh -c 'echo not json' sh {in} ::: f1.txt f2.txt f3.txt
check_eq "-n 2: other output is the group's, in each input's meta" \
    "['not json\\n', 'not json\\n', 'not json\\n']" "$(pout m.jsonl '[r["meta"]["stdout"] for r in rows]')"
check_eq "-n 3: an input's stats are its group's" \
    "True" "$(pout a.jsonl 'rows[0]["stats"] == rows[2]["stats"] and rows[0]["stats"] != rows[3]["stats"]')"
check_eq "-n 3: no temporary left" "" "$(ls -A a | grep bmp- || true)"

# ---- a program that writes only some outputs, a failing input ----------
printf 'SKIP\n' > f2.txt
printf 'FAIL\n' > f5.txt
run -q -n 3 --outdir c --create_outdir -o c.jsonl -- sh conv.sh {in} {out} ::: $NAMES
check_eq "a failed input: exit 1" 1 $?
check_eq "statuses: an unwritten output is no_output; a failed program fails its group" \
    "['ok', 'no_output', 'ok', 'failed', 'failed', 'failed', 'ok']" \
    "$(pout c.jsonl '[r["status"] for r in rows]')"
check_eq "... the failure says why" "command exited with code 3" \
    "$(pout c.jsonl 'rows[3]["error"]')"
check_eq "... the failed group's outputs were not renamed, its temporaries removed" \
    "f1_bmp.txt f3_bmp.txt f7_bmp.txt" "$(ls c | tr '\n' ' ' | sed 's/ $//')"
run -q --outdir d --create_outdir -o d.jsonl -- sh conv.sh {in} {out} ::: $NAMES
check_eq "... the inputs that fail alone have the same status without -n" \
    "$(pout d.jsonl '[r["status"] for r in rows if r["in_name"] != "f4.txt" and r["in_name"] != "f6.txt"]')" \
    "$(pout c.jsonl '[r["status"] for r in rows if r["in_name"] != "f4.txt" and r["in_name"] != "f6.txt"]')"
printf 'file 2\n' > f2.txt
printf 'file 5\n' > f5.txt

# ---- an input refused before the start; the others run ------------------
mkdir -p r && printf 'old\n' > r/f2_bmp.txt
run -q -n 3 --outdir r -o r.jsonl -- sh conv.sh {in} {out} ::: f1.txt f2.txt f3.txt
check_eq "an existing output: that input fails, the others of its group run" \
    "['ok', 'failed', 'ok']" "$(pout r.jsonl '[r["status"] for r in rows]')"
check_eq "... and the existing output is kept" "old" "$(cat r/f2_bmp.txt)"

# ---- odd names -----------------------------------------------------------
printf 'q\n' > "it's a name.txt"
printf 'd\n' > -dash.txt
printf 'n\n' > 'new
line.txt'
run -q -n 4 --outdir e --create_outdir -o e.jsonl -- sh conv.sh {in} {out} ::: "it's a name.txt" -dash.txt 'new
line.txt'
check_eq "odd names: each its own output" "['ok', 'ok', 'ok']" \
    "$(pout e.jsonl '[r["status"] for r in rows]')"
check_eq "... with its own content" "Q" "$(cat "e/it's a name_bmp.txt")"
run -q -n 4 --shell --outdir g --create_outdir -o g.jsonl -- sh conv.sh {in} {out} ::: "it's a name.txt" -dash.txt
check_eq "--shell: the names quoted" "['ok', 'ok']" \
    "$(pout g.jsonl '[r["status"] for r in rows]')"

# ---- --dry-run: one line per program start -------------------------------
check_eq "--dry-run: one line per group" 3 \
    "$(run -n 3 --dry-run --outdir h -- cat {in} ::: $NAMES | wc -l)"
check_eq "--dry-run: a word without a per-input placeholder stays once" \
    "echo -x f1.txt f2.txt" "$(run -n 2 --dry-run -- echo -x {in} ::: f1.txt f2.txt)"
check_eq "no placeholder: the names go last" \
    "echo f1.txt f2.txt" "$(run -n 2 --dry-run -- echo ::: f1.txt f2.txt)"

check_eq "-X with -j 2: about four groups per job" 8 \
    "$(run -X -j 2 --dry-run -- echo {in} ::: $(seq 32) | wc -l)"
run -q -X -j 2 --outdir x --create_outdir -o x.jsonl -- sh conv.sh {in} {out} ::: $NAMES
check_eq "-X: the pout of a run without -n" \
    "$(pout b.jsonl "$FIELDS")" "$(pout x.jsonl "$FIELDS")"

# ---- resume after a kill -------------------------------------------------
for i in 1 2 3 4 5 6 7; do printf 'SLOW %s\n' "$i" > "s$i.txt"; done
SNAMES="s1.txt s2.txt s3.txt s4.txt s5.txt s6.txt s7.txt"
( timeout -s KILL 0.8 "$BMP" run -q -j 1 -n 2 --journal j.jsonl --outdir k \
    --create_outdir -o k.jsonl -- sh conv.sh {in} {out} ::: $SNAMES ) 2> /dev/null
check_eq "killed: not finished" 137 $?
run -q -j 1 -n 3 --journal j.jsonl --resume --outdir k -o k.jsonl -- sh conv.sh {in} {out} ::: $SNAMES 2> err.txt
check_eq "--resume with another -n: refused" 2 $?
run -q -j 1 -n 2 --journal j.jsonl --resume --outdir k -o k.jsonl -- sh conv.sh {in} {out} ::: $SNAMES
check_eq "--resume with the same -n: finished" 0 $?
check_eq "... every input ok, one entry each" "7 ['ok']" \
    "$(pout k.jsonl 'str(len(rows)) + " " + str(sorted(set(r["status"] for r in rows)))')"
check_eq "... no temporary left" "" "$(ls -A k | grep bmp- || true)"

# ---- a group that times out: each of its inputs timed_out ---------------
run -q -j 1 -n 3 --timeout 0.5 --outdir t --create_outdir -o t.jsonl -- sh conv.sh {in} {out} ::: s1.txt f1.txt f2.txt s2.txt s3.txt s4.txt
check_eq "--timeout: the inputs of the group that ran past it are timed_out" \
    "['ok', 'ok', 'ok', 'timed_out', 'timed_out', 'timed_out']" \
    "$(pout t.jsonl '[r["status"] for r in rows]')"
check_eq "... nothing of it renamed, no temporary left" \
    "f1_bmp.txt f2_bmp.txt s1_bmp.txt" "$(ls -A t | tr '\n' ' ' | sed 's/ $//')"

# ---- usage errors --------------------------------------------------------
run -n 0 -- cat {in} ::: f1.txt > /dev/null 2>&1
check_eq "-n 0: a usage error" 2 $?
run -n 2 --halt now,fail=1 -- cat {in} ::: f1.txt > /dev/null 2>&1
check_eq "-n with --halt: a usage error" 2 $?
run -n 2 --shard 1/2 -- cat {in} ::: f1.txt > /dev/null 2>&1
check_eq "-n with --shard: a usage error" 2 $?

finish
