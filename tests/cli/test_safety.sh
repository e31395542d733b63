# test_safety.sh -- what the command promises about data and processes
# when programs misbehave: {out} written under a temporary and renamed
# only on success, temporaries of dead runs removed and live ones kept,
# a program's whole process group ended with it, special files refused,
# names that look like options, a command without {out}, and metadata
# edge cases.  Every run is bounded by timeout(1), so that a hang is a
# failure here, not a stuck suite.
. "$(dirname "$0")/lib.sh"

mkdir tmp
export TMPDIR=$WORK/tmp
run() { timeout 30 "$BMP" run "$@"; }
temps() { find "${1:-.}" -name '.*.bmp-*' | sort; }

# ---- {out} is a temporary, renamed over the output on success only ----
mkdir a
for f in ok FAIL PARTHANG REJECT CRASH; do printf 'new\n' > "a/x.$f.txt"; done
for f in ok FAIL PARTHANG REJECT CRASH; do printf 'OLD\n' > "a/x.${f}_bmp.txt"; done
run -q --outdir a --overwrite --timeout 2 --reject-code 7 --shell -- \
    'case {in} in *REJECT*) echo half > {out}; exit 7;; *CRASH*) echo half > {out}; kill -9 $$;; esac; '"'$FAKE'"' {in} {out}' \
    ::: a/x.ok.txt a/x.FAIL.txt a/x.PARTHANG.txt a/x.REJECT.txt a/x.CRASH.txt > p.jsonl
check_eq "statuses: ok, failed, timed out, rejected, killed" \
    "['ok', 'failed', 'timed_out', 'no_output', 'failed']" "$(pout p.jsonl '[r["status"] for r in rows]')"
check_eq "the successful item replaced its output" "NEW" "$(cat a/x.ok_bmp.txt)"
check_eq "failed, timed-out, rejected and killed items leave the earlier output exactly as it was" \
    "OLD OLD OLD OLD" "$(cat a/x.FAIL_bmp.txt a/x.PARTHANG_bmp.txt a/x.REJECT_bmp.txt a/x.CRASH_bmp.txt | tr '\n' ' ' | sed 's/ $//')"
check_eq "... and no temporary is left" "" "$(temps a)"

# What the program finds at {out}: an empty file, locked by its worker,
# in the output's directory, with the output's extension, not inherited.
printf 'x\n' > in.dat
run -q --outdir o1 --create_outdir --shell -- \
    'printf "%s|%s|%s|%s|" {out} "$(stat -c %s {out})" "$(flock -n {out} true && echo free || echo held)" "$(ls -l /proc/$PPID/fd | grep -c bmp-run-)"; ls -l /proc/$$/fd | grep -c -e bmp-run- -e "\.bmp-" ; exit 0' \
    ::: in.dat > p.jsonl
IFS='|' read -r tname tsize tlock tworker tfds <<< "$(pout p.jsonl 'rows[0]["meta"]["stdout"].strip()')"
check "{out} is o1/.in_bmp.dat.bmp-XXXXXX.dat" grep -Eq '^o1/\.in_bmp\.dat\.bmp-[A-Za-z0-9]{6}\.dat$' <<< "$tname"
check_eq "it exists, empty, when the program starts" "0" "$tsize"
check_eq "its worker holds a lock on it while the program runs" "held" "$tlock"
check_eq "the program inherits no descriptor of the run's folder or of the temporary" "0" "$tfds"
check_eq "the worker keeps no descriptor of the run's folder (only the caller's life holds its lock)" "0" "$tworker"
check_eq "an {out} the program did not touch is no output, and is removed" "[None, 'no_output', []]" \
    "$(pout p.jsonl '[rows[0]["outname"], rows[0]["status"], os.listdir("o1")]')"

# An empty result the program did write is an output: with --overwrite it
# replaces an earlier one, which must not stay behind, stale.
: > empty.dat
mkdir o1e && echo STALE > o1e/empty_bmp.dat
run -q --outdir o1e --overwrite -- sort -o {out} {in} ::: empty.dat > p.jsonl
check_eq "an empty output written by the program replaces the earlier one" \
    "['ok', 'o1e/empty_bmp.dat', 0]" \
    "$(pout p.jsonl '[rows[0]["status"], rows[0]["outname"], os.path.getsize("o1e/empty_bmp.dat")]')"

# Modes: 0666 less the umask, as for any new file.
(umask 027 && run -q --outdir o2 --create_outdir -- "$FAKE" {in} {out} ::: in.dat > /dev/null)
check_eq "the output's mode follows the umask" "640" "$(stat -c %a o2/in_bmp.dat)"

# Without --overwrite, an output that appears while the program runs is
# not replaced: the rename refuses, atomically.
mkdir o3
run -q --outdir o3 -- sh -c 'echo theirs > o3/in_bmp.dat; echo mine > "$1"' sh {out} ::: in.dat > p.jsonl
check_eq "an output made by someone else meanwhile: the item fails" \
    "['failed', 'output o3/in_bmp.dat exists; --overwrite replaces it']" \
    "$(pout p.jsonl '[rows[0]["status"], rows[0]["error"]]')"
check_eq "... that file is untouched and no temporary is left" "theirs|" "$(cat o3/in_bmp.dat)|$(temps o3)"

# A program that renames its own file over {out} (as many do) still
# delivers its output.
run -q --outdir o4 --create_outdir -- sh -c 'echo own > "$1.part" && mv "$1.part" "$1"' sh {out} ::: in.dat > p.jsonl
check_eq "a program that replaces {out} by a rename of its own" "ok own" \
    "$(pout p.jsonl 'rows[0]["status"]') $(cat o4/in_bmp.dat)"

# No item's output is another item's input, and the run's own files are
# neither: refused before anything is written.
mkdir o7
printf 'first\n' > o7/p.txt
printf 'second\n' > o7/p_bmp.txt
ln o7/p_bmp.txt o7/hard.txt
run -q --overwrite --outdir o7 -- cp {in} {out} ::: o7/p.txt o7/hard.txt > p.jsonl 2> err.txt
check_eq "an output that is another item's input (a hard link): exit 2, before anything runs" \
    "2 second" "$? $(cat o7/p_bmp.txt)"
check "... naming both items" grep -q "item 0's output o7/p_bmp.txt is item 1's input o7/hard.txt" err.txt
for opt in --journal -o --write_pout; do
    run -q "$opt" o7/p.txt -- cat ::: o7/p.txt > /dev/null 2> err.txt
    check_eq "$opt naming an input: exit 2, the input untouched" "2 first" "$? $(cat o7/p.txt)"
done

# ---- a run removes what dead runs left, and only that ----------------
mkdir o5
printf 'keep\n' > o5/in_bmp.dat
printf 'keep\n' > o5/important.txt
: > o5/.in_bmp.dat.bmp-Dead01.dat      # unheld: a dead run's
: > o5/.in_bmp.dat.bmp-Held01.dat      # held by a live process
: > o5/.in_bmp.dat.bmp-short.dat       # not the pattern
: > o5/.other.dat.bmp-abcdef.dat       # not this run's output
mkdir tmp/bmp-run-Dead02 tmp/bmp-run-Live03
: > o5/.in_bmp.dat.bmp-Dead02.dat
printf 'o5/in_bmp.dat\0o5/.in_bmp.dat.bmp-Dead02.dat\0' > tmp/bmp-run-Dead02/claim-0
printf 'o5/in_bmp.dat\0o5/in_bmp.dat\0' > tmp/bmp-run-Dead02/claim-1
printf 'o5/in_bmp.dat\0o5/important.txt\0' > tmp/bmp-run-Dead02/claim-2
printf 'o5/in_bmp.dat' > tmp/bmp-run-Dead02/claim-3
: > o5/.in_bmp.dat.bmp-Live03.dat
printf 'o5/in_bmp.dat\0o5/.in_bmp.dat.bmp-Live03.dat\0' > tmp/bmp-run-Live03/claim-0
# flock(1) stands for the live run and its worker, holding both locks.
setsid flock tmp/bmp-run-Live03 flock o5/.in_bmp.dat.bmp-Live03.dat \
    flock o5/.in_bmp.dat.bmp-Held01.dat sleep 30 > /dev/null 2>&1 &
holder=$!
for _ in $(seq 100); do
    flock -n o5/.in_bmp.dat.bmp-Held01.dat true || break
    sleep 0.05
done
run -q --outdir o5 -- true {in} {out} ::: in.dat > /dev/null
check_eq "a dead run's folder is removed, a live run's kept" "bmp-run-Live03" "$(ls tmp)"
check_eq "temporaries: the unheld ones of this run's outputs removed; held ones, other names and other outputs' kept" \
    "o5/.in_bmp.dat.bmp-Held01.dat o5/.in_bmp.dat.bmp-Live03.dat o5/.in_bmp.dat.bmp-short.dat o5/.other.dat.bmp-abcdef.dat" \
    "$(temps o5 | tr '\n' ' ' | sed 's/ $//')"
check_eq "a claim never removes an output or any other file" "keep keep" "$(cat o5/in_bmp.dat o5/important.txt | tr '\n' ' ' | sed 's/ $//')"
kill -- -"$holder" 2> /dev/null
wait "$holder" 2> /dev/null

# Claims name files from the root, so that a run started in another
# folder, over other outputs, still finds a dead run's temporaries.
run -q --outdir o5b --create_outdir --shell -- 'cat "$TMPDIR"/bmp-run-*/claim-0 | tr "\0" "\n" >&2; true' {out} ::: in.dat > p.jsonl
check_eq "a claim holds the output and its temporary from the root" \
    "True True" "$(pout p.jsonl '" ".join(str(l.startswith(os.getcwd() + "/o5b/")) for l in rows[0]["meta"]["stderr"].split())')"
mkdir o8 elsewhere tmp/bmp-run-Dead04
: > o8/.x_bmp.dat.bmp-Dead04.dat
printf '%s\0%s\0' "$PWD/o8/x_bmp.dat" "$PWD/o8/.x_bmp.dat.bmp-Dead04.dat" > tmp/bmp-run-Dead04/claim-0
(cd elsewhere && printf 'x\n' > in.dat && run -q --outdir out --create_outdir -- "$FAKE" {in} {out} ::: in.dat > /dev/null)
check_eq "a dead run's claimed temporary is removed by a run started elsewhere" "|" \
    "$(temps o8)|$(ls tmp)"
run -q --outdir o5 -- true {in} {out} ::: in.dat > /dev/null
check_eq "once their holders are gone, the next run removes them" "o5/.in_bmp.dat.bmp-short.dat o5/.other.dat.bmp-abcdef.dat|" \
    "$(temps o5 | tr '\n' ' ' | sed 's/ $//')|$(ls tmp)"

# ---- processes: the program's group lives and dies with it -------------
# Sleeps of a length of this script's own (its pid in the fraction), so
# that another copy of it running meanwhile is not seen.
s1=317.1$$ s2=317.2$$ s3=317.3$$
gone() { # gone PATTERN: waits up to 5 s for no process to match
    for _ in $(seq 50); do pgrep -f "$1" > /dev/null || return 0; sleep 0.1; done
    return 1
}
run -q -- sh -c "sleep $s1 & echo '{\"done\": 1}'" ::: in.dat > p.jsonl
check_eq "a background child holding the pipes does not keep the item open" "0 {'done': 1}" \
    "$? $(pout p.jsonl 'rows[0]["meta"]')"
check "... and is killed with the program's group" gone "sleep $s1"

for f in a b c d; do printf '%s\n' "$f" > "k_$f.txt"; done
run -q -j 2 --outdir o6 --create_outdir --shell -- \
    'case {in} in *b*) kill 0;; *c*) trap "kill 0" EXIT;; esac; sleep 0.2; cat {in} > {out}' \
    ::: k_a.txt k_b.txt k_c.txt k_d.txt > p.jsonl
check_eq "kill 0 and trap 'kill 0' EXIT end their own item only; the run completes" \
    "1 ['ok', 'failed', 'failed', 'ok']" "$? $(pout p.jsonl '[r["status"] for r in rows]')"
check_eq "... the others wrote their outputs" "a d" "$(cat o6/k_a_bmp.txt o6/k_d_bmp.txt | tr '\n' ' ' | sed 's/ $//')"

run -q -j 2 --timeout 1 -- sh -c "sleep $s2 & sleep $s2" ::: in.dat > p.jsonl
check_eq "a timed-out program" "timed_out" "$(pout p.jsonl 'rows[0]["status"]')"
check "... and its background child are gone after the run" gone "sleep $s2"

# An interrupted run ends what its programs started, too.
set -m
"$BMP" run -q -j 2 -- sh -c "sleep $s3 & sleep $s3" ::: in.dat k_a.txt > p.jsonl 2> /dev/null &
tool=$!
for _ in $(seq 50); do [ "$(pgrep -fc "sleep $s3")" -ge 4 ] && break; sleep 0.1; done
kill -INT "$tool"
wait "$tool"
status=$?
set +m
check_eq "SIGINT: the run stops (exit 1)" 1 "$status"
check "... and every program and background child is gone" gone "sleep $s3"

# ---- special files are refused before the program starts --------------
mkfifo pipe.fifo
mkdir adir
run -q -- cat ::: pipe.fifo /dev/null in.dat > p.jsonl
check_eq "a FIFO and a device: refused without blocking; a file runs" \
    "['failed', 'failed', 'no_output']" "$(pout p.jsonl '[r["status"] for r in rows]')"
check_eq "... with a clear message" \
    "['pipe.fifo is a FIFO, not a regular file', '/dev/null is a character device, not a regular file']" \
    "$(pout p.jsonl '[r["error"] for r in rows[:2]]')"
run -q -- ls {in} ::: adir > p.jsonl
check_eq "a directory is given to the program" "no_output" "$(pout p.jsonl 'rows[0]["status"]')"

# ---- names that look like options reach programs as files -------------
printf 'contents of a file named --version\n' > ./--version
printf 'dash\n' > ./-x.txt
run -q -- cat ::: --version > p.jsonl
check_eq "run -- cat ::: --version prints the file, not cat's version" \
    "{'stdout': 'contents of a file named --version\n'}" "$(pout p.jsonl 'rows[0]["meta"]')"
run -q --shell -- 'cat {in}' ::: --version > p.jsonl
check_eq "... also with --shell" "{'stdout': 'contents of a file named --version\n'}" \
    "$(pout p.jsonl 'rows[0]["meta"]')"
run -q --outdir=-od --create_outdir -- sh -c 'printf "%s %s " "$1" "$2"; cp "$1" "$3"' sh {in} {outdir} {out} ::: -x.txt > p.jsonl
check_eq "{in} and {outdir} that start with - are given as ./-NAME" "./-x.txt ./-od " \
    "$(pout p.jsonl 'rows[0]["meta"]["stdout"]')"
check_eq "... the output is written, and the pout keeps the names as given" "['-x.txt', '-od/-x_bmp.txt', 'ok'] dash" \
    "$(pout p.jsonl '[rows[0]["in_name"], rows[0]["outname"], rows[0]["status"]]') $(cat ./-od/-x_bmp.txt)"

# ---- a command without {out} claims no output -------------------------
printf 'exists\n' > in_bmp.dat
run -q -- sh -c 'ls -a; wc -c < "$1"' sh {in} ::: in.dat > p.jsonl
check_eq "an output-named file exists: no failure, no outname, no temporary" "[0, None, 'no_output', False]" \
    "[$?, $(pout p.jsonl 'rows[0]["outname"]'), '$(pout p.jsonl 'rows[0]["status"]')', $(pout p.jsonl '".bmp-" in rows[0]["meta"]["stdout"]')]"
check_eq "... and that file is untouched" "exists" "$(cat in_bmp.dat)"

# ---- metadata edge cases -----------------------------------------------
run -q --shell -- 'case {in} in *1*) printf "  \n\n";; *2*) printf "\0\0\0";; *3*) printf "\n";; esac' \
    ::: m1 m2 m3 m4 > p.jsonl
check_eq "standard output of white space, NUL bytes, one newline: kept as text; nothing printed: nothing" \
    "[{'stdout': '  \n\n'}, {'stdout': '\x00\x00\x00'}, {'stdout': '\n'}, {}]" \
    "$(pout p.jsonl '[r["meta"] for r in rows]')"
head -c 5000000 /dev/zero | tr '\0' 'x' > big.txt
run -q --shell -- 'case {in} in *big*) { printf "{\"a\": \""; cat big.txt; printf "\"}"; } > "$BMP_META_FILE";;
    *nul*) printf "{\"a\": 1}\0" > "$BMP_META_FILE";; *fifo*) rm -f "$BMP_META_FILE"; mkfifo "$BMP_META_FILE";;
    *space*) printf " \n" > "$BMP_META_FILE";; esac' ::: big nul fifo space > p.jsonl
check_eq "BMP_META_FILE: bounded, NUL bytes refused, only a regular file read, white space is nothing" \
    "[('failed', 'BMP_META_FILE: it holds more than 4 MiB, the limit'), ('failed', 'BMP_META_FILE: it holds a NUL byte (at byte 8)'), ('failed', 'BMP_META_FILE: it is not a regular file'), ('no_output', None)]" \
    "$(pout p.jsonl '[(r["status"], r["error"]) for r in rows]')"

check_eq "nothing left in TMPDIR" "" "$(ls -A tmp)"

finish
