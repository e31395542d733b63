# test_parallel.sh -- what users of GNU parallel and xargs reach for:
# parallel's placeholders, an output of another extension, --dry-run,
# --halt, the joblog (--job-meta), the program's own memory and CPU in the
# stats, NUL bytes without -0, a stored pout of other inputs, option
# values and abbreviations.
. "$(dirname "$0")/lib.sh"

# Runs the tool bounded by timeout(1): a hang is a failed check, never a
# stuck suite.
run() { timeout 60 "$BMP" run "$@"; }

# ---- placeholders --------------------------------------------------------
mkdir -p d
printf 'x' > d/arch.tar.gz
printf 'y' > -dash.txt
printf 'z' > plain
# sh prints its arguments as a JSON array: the values as the program got
# them.  -j 1: one worker, so {%} is 1 for every item.
ARGS='printf "{\"a\": [\"%s\""  "$1"; shift; for x; do printf ", \"%s\"" "$x"; done; printf "]}"'
run -q -j 1 -- sh -c "$ARGS" sh {} {/} {//} {.} {/.} {#} {%} \
    ::: d/arch.tar.gz -dash.txt plain > p.jsonl
check_eq "{} {/} {//} {.} {/.} {#} {%} with GNU parallel's meanings" \
    "['d/arch.tar.gz', 'arch.tar.gz', 'd', 'd/arch.tar', 'arch.tar', '1', '1']" \
    "$(pout p.jsonl 'rows[0]["meta"]["a"]')"
check_eq "... a name starting with - is given as ./-NAME" \
    "['./-dash.txt', './-dash.txt', '.', './-dash', './-dash', '2', '1']" \
    "$(pout p.jsonl 'rows[1]["meta"]["a"]')"
check_eq "... a name without directory or extension: {//} is ." \
    "['plain', 'plain', '.', 'plain', 'plain', '3', '1']" \
    "$(pout p.jsonl 'rows[2]["meta"]["a"]')"
# {%}: the slot of the worker, from 1 to the number of workers.
for i in 1 2 3 4 5 6; do printf '%s' "$i" > "s$i.SLOW.txt"; done
FAKE_SLOW_S=0.05 run -q -j 2 -- sh -c 'echo "{\"slot\": $1}"; exec "$2" "$3" /dev/null >/dev/null' \
    sh {%} "$FAKE" {} ::: s1.SLOW.txt s2.SLOW.txt s3.SLOW.txt s4.SLOW.txt s5.SLOW.txt s6.SLOW.txt > p.jsonl
check_eq "{%}: slots 1 and 2 with -j 2" "[1, 2]" \
    "$(pout p.jsonl 'sorted(set(r["meta"]["slot"] for r in rows))')"
# {#} in a shell command, quoted by --shell.
run -q --shell -- 'printf "{\"n\": %s, \"b\": \"%s\"}" {#} {/}' ::: "d/it's here.txt" > p.jsonl
check_eq "--shell: {#} and {/} with a quote in the name" "[1, \"it's here.txt\"]" \
    "$(pout p.jsonl '[rows[0]["meta"]["n"], rows[0]["meta"]["b"]]')"

# Unknown placeholders are usage errors, before anything runs.
for bad in '{input}' '{1}' 'x{/..}y' '{out_dir}'; do
    run -q -- touch ran.txt "$bad" ::: a > out.txt 2> err.txt
    rc=$?
    check_eq "unknown placeholder $bad: exit 2" 2 "$rc"
    check "... named in the message, nothing run" \
        sh -c 'grep -qF "unknown placeholder" err.txt && test ! -e ran.txt && test ! -s out.txt'
done
run -q --dry-run -- awk '{ print $1 }' '${HOME}' '{a,b}' ::: f > out.txt
check_eq "braces with a space, \${...} and {a,b} are no placeholders" \
    "awk '{ print \$1 }' '\${HOME}' '{a,b}' f" "$(cat out.txt)"

# ---- --out-ext -------------------------------------------------------------
printf 'hello hello hello\n' > a.txt
printf 'bye\n' > b.csv
run -q --shell --out-ext .gz --outdir z --create_outdir -- \
    'echo "{\"out\": \"$(basename {out})\"}"; gzip -c {in} > {out}' ::: a.txt b.csv > p.jsonl
check_eq "--out-ext .gz: outputs named NAME_bmp.gz" "['z/a_bmp.gz', 'z/b_bmp.gz']" \
    "$(pout p.jsonl '[r["outname"] for r in rows]')"
check_eq "... holding what the command wrote" "hello hello hello" "$(gzip -dc z/a_bmp.gz)"
check_eq "... {out} is a temporary that ends with the new extension" "True" \
    "$(pout p.jsonl '__import__("re").fullmatch(r"\.a_bmp\.gz\.bmp-[A-Za-z0-9]{6}\.gz", rows[0]["meta"]["out"]) is not None')"
check_eq "... and nothing else is left in the output directory" "a_bmp.gz b_bmp.gz" \
    "$(ls -A z | tr '\n' ' ' | sed 's/ $//')"
# A failure keeps an earlier output and leaves no temporary.
run -q --shell --overwrite --out-ext .gz --outdir z -- 'echo partial > {out}; exit 3' ::: a.txt > p.jsonl
check_eq "... a failed item leaves the earlier output as it was" "hello hello hello" "$(gzip -dc z/a_bmp.gz)"
check_eq "... and no temporary" "a_bmp.gz b_bmp.gz" "$(ls -A z | tr '\n' ' ' | sed 's/ $//')"
# Two inputs that would write one output, an output that is an input.
printf 'x' > a.csv
run -q --out-ext .gz -- cp {in} {out} ::: a.txt a.csv > out.txt 2> err.txt
check_eq "--out-ext: two items with one output: exit 2" 2 $?
check "... naming the output" grep -q "a_bmp.gz" err.txt
printf 'x' > c_bmp.gz
run -q --out-ext .gz --outdir . -- cp {in} {out} ::: c.txt c_bmp.gz > out.txt 2> err.txt
check_eq "--out-ext: an output that is another item's input: exit 2" 2 $?
check "... nothing written" test ! -e c_bmp_bmp.gz
run -q --out-ext .gz -- gzip -k {in} ::: a.txt > out.txt 2> err.txt
check_eq "--out-ext without {out}: usage error" "2 yes" "$? $(grep -q 'does not hold' err.txt && echo yes)"
for bad in gz .a/b . ''; do
    run -q --out-ext "$bad" -- true {out} ::: a.txt > out.txt 2> err.txt
    check_eq "--out-ext '$bad': usage error" 2 $?
done

# ---- --dry-run -------------------------------------------------------------
printf 'q' > "it's a name.txt"
run --dry-run --outdir od -- "$FAKE" {in} {out} ::: "it's a name.txt" a.txt > dry.txt 2> err.txt
check_eq "--dry-run: exit 0" 0 $?
check_eq "... one line per item" 2 "$(wc -l < dry.txt)"
check "... runs nothing and writes nothing" test ! -e od -a ! -s err.txt
# The printed lines, run by a shell, give the program the same words.
run -q --dry-run -- sh -c "$ARGS" sh {in} {/} "a b" ::: "it's a name.txt" 'x"$(y)' > dry.txt
sh dry.txt > args.txt
check_eq "... quoted as a shell reads them back" \
    "{\"a\": [\"it's a name.txt\", \"it's a name.txt\", \"a b\"]}{\"a\": [\"x\"\$(y)\", \"x\"\$(y)\", \"a b\"]}" \
    "$(cat args.txt)"
run --dry-run -- cp {in} {out} ::: a.txt dir/ c.txt > dry.txt 2> err.txt
check_eq "... an item without an output name: said, exit 1, the others shown" \
    "1 2 yes" "$? $(wc -l < dry.txt) $(grep -q 'dir/: .*the item would fail' err.txt && echo yes)"
run --dry-run --shell --out-ext .gz -- 'gzip -c {in} > {out}' ::: a.txt > dry.txt
check_eq "... with --shell, the shell text" "gzip -c 'a.txt' > './.a_bmp.gz.bmp-XXXXXX.gz'" "$(cat dry.txt)"

# ---- --halt ----------------------------------------------------------------
printf 'f' > FAIL.txt
for x in c d e g; do printf '%s' "$x" > "$x.txt"; done
printf 'l' > long.SLOW.txt
# now: the running item is ended (it would sleep 40 s) and stays not_run.
FAKE_SLOW_S=40 run -j 2 --halt now,fail=1 -- "$FAKE" {in} {out} \
    ::: long.SLOW.txt FAIL.txt c.txt d.txt > p.jsonl 2> err.txt
check_eq "--halt now,fail=1: exit 1" 1 $?
check_eq "... the running item ended, none started after" \
    "['not_run', 'failed', 'not_run', 'not_run']" "$(pout p.jsonl '[r["status"] for r in rows]')"
check "... says why" grep -q "halted (--halt now,fail=1) after 1 failed" err.txt
check "... and the killed item left no temporary" test -z "$(ls -A | grep '\.bmp-')"
# soon: the running item finishes; none starts after.
FAKE_SLOW_S=0.5 run -j 2 --halt soon,fail=1 -- "$FAKE" {in} {out} \
    ::: long.SLOW.txt FAIL.txt c.txt d.txt > p.jsonl 2> err.txt
check_eq "--halt soon,fail=1: exit 1" 1 $?
check_eq "... the running item finished, none started after" \
    "['ok', 'failed', 'not_run', 'not_run']" "$(pout p.jsonl '[r["status"] for r in rows]')"
# success: the aim reached, exit 0.
run -q -j 1 --overwrite --halt now,success=2 -- "$FAKE" {in} {out} \
    ::: FAIL.txt c.txt d.txt e.txt g.txt > p.jsonl
check_eq "--halt now,success=2: exit 0" 0 $?
check_eq "... after two succeeded" "['failed', 'ok', 'ok', 'not_run', 'not_run']" \
    "$(pout p.jsonl '[r["status"] for r in rows]')"
# A share of the items done, three at least.
printf 'f' > FAIL2.txt
run -q -j 1 --overwrite --halt soon,fail=50% -- "$FAKE" {in} {out} \
    ::: FAIL.txt c.txt FAIL2.txt d.txt e.txt > p.jsonl
check_eq "--halt soon,fail=50%: halted once 2 of 3 failed" "['failed', 'ok', 'failed', 'not_run', 'not_run']" \
    "$(pout p.jsonl '[r["status"] for r in rows]')"
run -q -j 1 --overwrite --halt never -- "$FAKE" {in} {out} ::: FAIL.txt c.txt > p.jsonl
check_eq "--halt never: every item runs" "['failed', 'ok']" "$(pout p.jsonl '[r["status"] for r in rows]')"
for bad in now soon,fail=0 later,fail=1 now,fail=x now,fail=101% now,oops=1; do
    run -q --halt "$bad" -- true ::: a > out.txt 2> err.txt
    check_eq "--halt $bad: usage error" 2 $?
done
run -q --halt now,fail=1 --executor serial -- true ::: a > out.txt 2> err.txt
check_eq "--halt with the serial executor: usage error" 2 $?

# ---- the joblog and the program's own measurements -----------------------
printf 'c' > k.CRASH.txt
printf 's' > w.SLOW.txt
before=$(date +%s)
FAKE_SLOW_S=0.3 run -q --overwrite --job-meta -- "$FAKE" {in} {out} \
    ::: w.SLOW.txt FAIL.txt k.CRASH.txt > p.jsonl
after=$(date +%s)
check_eq "--job-meta: seq, exit and signal of each item" \
    "[(1, 0, None), (2, 5, None), (3, None, 'SIGSEGV')]" \
    "$(pout p.jsonl '[(r["meta"]["job"]["seq"], r["meta"]["job"]["exit"], r["meta"]["job"]["signal"]) for r in rows]')"
check_eq "... start within the run, runtime at least the program's sleep" "True" \
    "$(pout p.jsonl "all($before <= r['meta']['job']['start'] <= $after + 1 for r in rows) and rows[0]['meta']['job']['runtime'] >= 0.3")"
check_eq "... the program's keys are kept beside it" "1" "$(pout p.jsonl 'rows[0]["meta"]["bytes"]')"
run -q --overwrite -- "$FAKE" {in} {out} ::: c.txt > p.jsonl
check_eq "without --job-meta, meta is the program's only" "{'bytes': 1, 'in': 'c.txt'}" \
    "$(pout p.jsonl 'rows[0]["meta"]')"
# A program that touches 100 MiB: its peak is the item's.
printf 'b' > m.BIG.txt
run -q --overwrite --job-meta -- "$FAKE" {in} {out} ::: m.BIG.txt > p.jsonl
check_eq "a 100 MiB program: stats.peak_rss >= 100 MiB" "True" \
    "$(pout p.jsonl 'rows[0]["stats"]["peak_rss"] >= 100 << 20')"
check_eq "... its own peak in the job record, and its growth is the item's" "True" \
    "$(pout p.jsonl 'rows[0]["meta"]["job"]["peak_rss"] >= 100 << 20 and rows[0]["stats"]["peak_rss"] - rows[0]["stats"]["start_rss"] >= 100 << 20')"
check_eq "... its CPU time counts in the item's" "True" \
    "$(pout p.jsonl 'rows[0]["stats"]["cpu_s"] >= rows[0]["meta"]["job"]["cpu_s"] > 0')"
# The scheduler learns from it: an estimate of 1 x the input's 1 byte,
# then the command's peak.
printf 'b' > m2.BIG.txt
run -q -j 1 --overwrite --adaptive --process_expand_factor 1 -- "$FAKE" {in} {out} \
    ::: m.BIG.txt m2.BIG.txt > p.jsonl
check_eq "--adaptive: the first item passed its estimate, the next is estimated at >= 100 MiB" \
    "[True, True]" \
    "$(pout p.jsonl '[rows[0]["stats"]["over_estimate"], rows[1]["stats"]["estimate"] >= 100 << 20]')"

# A SIGKILL that is not the kernel's OOM killer's is a failure, not a
# memory failure to retry with more memory.
run -q -- sh -c 'kill -9 $$' ::: a.txt > p.jsonl
check_eq "a program killed by a user's SIGKILL: failed once, not retried for memory" \
    "['failed', 1, True]" \
    "$(pout p.jsonl '[rows[0]["status"], rows[0]["stats"]["attempts"], "killed by signal SIGKILL" in rows[0]["error"]]')"

# ---- inputs ----------------------------------------------------------------
printf 'a.txt\0c.txt\0' > nul.list
run -q -a nul.list -- touch ran.txt > out.txt 2> err.txt
check_eq "NUL bytes in a list read by lines: exit 2" 2 $?
check "... with a hint to use -0, nothing run" sh -c 'grep -q -- "-0" err.txt && test ! -e ran.txt'
printf 'a.txt\nc.txt\0d.txt\n' | run -q -- touch ran.txt > out.txt 2> err.txt
check_eq "a NUL byte on standard input: exit 2, the line named" "2 yes" \
    "$? $(grep -q 'line 2' err.txt && echo yes)"
run -q -0 -a nul.list -- cat > p.jsonl
check_eq "... read with -0" "['a.txt', 'c.txt']" "$(pout p.jsonl '[r["in_name"] for r in rows]')"

# ---- --read_pout -----------------------------------------------------------
run -q --overwrite --write_pout stored.jsonl -- "$FAKE" {in} {out} ::: a.txt c.txt > /dev/null
run -q --read_pout stored.jsonl -- touch ran.txt ::: a.txt d.txt > out.txt 2> err.txt
check_eq "--read_pout of other inputs: exit 2" 2 $?
check "... naming the item that differs, nothing run" \
    sh -c 'grep -q "item 2 is \"c.txt\", this run.s is \"d.txt\"" err.txt && test ! -e ran.txt'
run -q --read_pout stored.jsonl -- touch ran.txt ::: a.txt > out.txt 2> err.txt
check_eq "--read_pout with fewer inputs: exit 2" "2 yes" "$? $(grep -q 'holds 2 items, this run has 1' err.txt && echo yes)"
run -q --read_pout stored.jsonl -- touch ran.txt ::: a.txt c.txt > out.txt
check_eq "--read_pout of these inputs: the stored pout, nothing run" "0 yes" \
    "$? $(cmp -s out.txt stored.jsonl && test ! -e ran.txt && echo yes)"

# ---- option values and abbreviations -------------------------------------
"$BMP" plan --read_pout ::: a b > out.txt 2> err.txt
check_eq "plan --read_pout ::: a b: usage error, not a file named :::" "2 yes" \
    "$? $(grep -q -- '--read_pout needs a value (FILE) before :::' err.txt && echo yes)"
"$BMP" run -o -- true ::: a > out.txt 2> err.txt
check_eq "run -o -- ...: usage error" 2 $?
run -q --outd ab --create -- cp {in} {out} ::: a.txt > p.jsonl
check_eq "unambiguous abbreviations: --outd, --create" "ab/a_bmp.txt" "$(pout p.jsonl 'rows[0]["outname"]')"
run -q --out x -- true ::: a > out.txt 2> err.txt
check_eq "an ambiguous abbreviation: usage error" 2 $?
check "... listing the candidates" grep -q -- "--out is ambiguous: it could be.*--output.*--outdir" err.txt

finish
