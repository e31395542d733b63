# test_failures.sh -- what becomes of an item whose command rejects it,
# fails, dies of a signal, cannot start, hangs or fails once; and the exit
# status of the run.
. "$(dirname "$0")/lib.sh"

for f in ok.txt x.REJECT.txt x.FAIL.txt x.CRASH.txt x.BADMETA.txt; do
    printf 'data\n' > "$f"
done

"$BMP" run --reject-code 3 -- "$FAKE" {in} {out} \
    ::: ok.txt x.REJECT.txt > p.jsonl 2> err.txt
check_eq "rejected items count as success: exit 0" 0 $?
check_eq "a rejected item: no output, meta {}" "[None, {}, 'no_output', None]" \
    "$(pout p.jsonl '[rows[1][k] for k in ("outname", "meta", "status", "error")]')"
check_eq "summary counts the rejected item as no output" \
    "2 items: 1 ok, 1 no output, 0 failed in" "$(sed 's/ [0-9.]* s$//' err.txt)"

"$BMP" run --overwrite -- "$FAKE" {in} {out} ::: ok.txt x.REJECT.txt x.FAIL.txt x.CRASH.txt \
    x.BADMETA.txt > p.jsonl 2> err.txt
check_eq "some items failed: exit 1" 1 $?
check_eq "summary" "5 items: 1 ok, 0 no output, 4 failed in" \
    "$(sed 's/ [0-9.]* s$//' err.txt)"
check_eq "without --reject-code, code 3 is a failure" \
    "['failed', 'command exited with code 3']" \
    "$(pout p.jsonl '[rows[1]["status"], rows[1]["error"]]')"
check_eq "exit code and the last line of standard error in the error" \
    "command exited with code 5: fake_tool: cannot process this input" \
    "$(pout p.jsonl 'rows[2]["error"]')"
check_eq "a failed item keeps its standard error in meta" \
    "fake_tool: starting\nfake_tool: cannot process this input\n" \
    "$(pout p.jsonl 'rows[2]["meta"]["stderr"].replace(chr(10), "\\n")')"
check "a half-written {out} of a failed command is removed" test ! -e x.FAIL_bmp.txt
check_eq "death by a signal, named" \
    "['failed', 'command killed by signal SIGSEGV (Segmentation fault): about to crash']" \
    "$(pout p.jsonl '[rows[3]["status"], rows[3]["error"]]')"
check_eq "a meta file that is not JSON fails the item" "True" \
    "$(pout p.jsonl 'rows[4]["error"].startswith("BMP_META_FILE does not hold a JSON object")')"
check "... and its {out} is removed" test ! -e x.BADMETA_bmp.txt

"$BMP" run -q -- ./no-such-program {in} {out} ::: x.FAIL.txt > p.jsonl
check_eq "a command that cannot start: exit 1" 1 $?
check_eq "... and says why" "cannot run ./no-such-program: No such file or directory" \
    "$(pout p.jsonl 'rows[0]["error"]')"

"$BMP" run -q -- no-such-program-in-path {in} {out} ::: x.FAIL.txt > p.jsonl
check_eq "a program looked up in PATH and not found" \
    "cannot run no-such-program-in-path: No such file or directory" \
    "$(pout p.jsonl 'rows[0]["error"]')"
printf '#!/bin/sh\nexit 0\n' > not-executable.sh
chmod 644 not-executable.sh
"$BMP" run -q -- ./not-executable.sh {in} {out} ::: x.FAIL.txt > p.jsonl
check_eq "a program that may not be executed" \
    "cannot run ./not-executable.sh: Permission denied" \
    "$(pout p.jsonl 'rows[0]["error"]')"
# A script without "#!" runs under /bin/sh, as execvp and the shell do.
printf 'printf "%%s" "{\\"words\\": $#}"; cp "$1" "$2"\n' > no-shebang.sh
chmod 755 no-shebang.sh
"$BMP" run -q --overwrite -- ./no-shebang.sh {in} {out} ::: ok.txt > p.jsonl
check_eq "a script without #! runs under sh, with its arguments" \
    "['ok', {'words': 2}]" "$(pout p.jsonl '[rows[0]["status"], rows[0]["meta"]]')"

printf 'h\n' > x.HANG.txt
start=$(date +%s)
"$BMP" run -q --overwrite --timeout 0.5 -- "$FAKE" {in} {out} ::: x.HANG.txt ok.txt > p.jsonl
check_eq "a timed-out item: exit 1" 1 $?
check_eq "... its status and message" "['timed_out', 'timed out after 0.5 s', 'ok']" \
    "$(pout p.jsonl '[rows[0]["status"], rows[0]["error"], rows[1]["status"]]')"
check "... and the hung command was killed, not waited for" test $(( $(date +%s) - start )) -lt 10
sleep 0.2
check "... no fake_tool left running" test -z "$(pgrep -f "$FAKE x.HANG")"

# A command killed at its timeout after writing part of {out}: the part
# is in a temporary, which the retry and the end of the run remove.
printf 'p\n' > x.PARTHANG.txt
"$BMP" run -q -j 1 --timeout 0.3 --retries 1 -- "$FAKE" {in} {out} ::: x.PARTHANG.txt ok.txt > p.jsonl
check_eq "a retry after a timeout runs again over the part left" "['timed_out', 2, 'timed out after 0.3 s']" \
    "$(pout p.jsonl '[rows[0]["status"], rows[0]["stats"]["attempts"], rows[0]["error"]]')"
check "nothing under the output name, and the killed attempts' temporaries are removed" \
    test ! -e x.PARTHANG_bmp.txt -a -z "$(find . -name '.*.bmp-*')"

printf 'f\n' > x.FLAKY.txt
"$BMP" run -q --retries 1 -- "$FAKE" {in} {out} ::: x.FLAKY.txt > p.jsonl
check_eq "--retries: a flaky item succeeds on its second attempt" "['ok', 2]" \
    "$(pout p.jsonl '[rows[0]["status"], rows[0]["stats"]["attempts"]]')"

"$BMP" run -q --no-such-option -- true ::: ok.txt > /dev/null 2>&1
check_eq "unknown option: exit 2" 2 $?

# Short of descriptors: two workers at `ulimit -n 16` still run every
# item (a program start needs the pipes of its output and error only).
mkdir fd16 && cd fd16 || exit 2
for i in 1 2 3 4 5 6; do printf '%s\n' "$i" > "f$i.txt"; done
(ulimit -n 16 && "$BMP" run -q -j 2 --outdir o --create_outdir -- cp {in} {out} \
    ::: f1.txt f2.txt f3.txt f4.txt f5.txt f6.txt > pout.jsonl)
check_eq "ulimit -n 16, two workers: exit 0" 0 $?
check_eq "... every item ok" "['ok', 'ok', 'ok', 'ok', 'ok', 'ok']" \
    "$(pout pout.jsonl '[r["status"] for r in rows]')"
cd ..

finish
