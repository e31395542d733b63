# test_inputs.sh -- where inputs come from (:::, --input-list, standard
# input, -0) and names that a shell would split or mangle.
. "$(dirname "$0")/lib.sh"

printf 'one\n' > one.txt
printf 'two\n' > two.txt
printf 'three\n' > three.txt

printf 'one.txt\ntwo.txt\n\nthree.txt\n' | "$BMP" run -q -- "$FAKE" {in} {out} > p.jsonl
check_eq "names on standard input, one a line, empty lines skipped" \
    "['one.txt', 'two.txt', 'three.txt']" "$(pout p.jsonl '[r["in_name"] for r in rows]')"

printf 'two.txt\none.txt' > list.txt
"$BMP" run -q -a list.txt --input-list=list.txt -- echo ::: three.txt > p.jsonl < /dev/null
check_eq "::: first, then each list file, the last line without newline too" \
    "['three.txt', 'two.txt', 'one.txt', 'two.txt', 'one.txt']" \
    "$(pout p.jsonl '[r["in_name"] for r in rows]')"

printf 'one.txt\n' | "$BMP" run -q -a - -- "$FAKE" {in} {out} > p.jsonl
check_eq "-a - reads standard input" "['one.txt']" "$(pout p.jsonl '[r["in_name"] for r in rows]')"

# Names with spaces, quotes, a newline, a leading dash-free oddity and a
# byte that is not UTF-8, NUL-separated as find -print0 gives them.
mkdir names
odd=(names/'with space.txt' names/"it's \"quoted\".txt" names/$'new\nline.txt'
     names/'$(touch INJECTED) `x` ;.txt' names/$'latin\xe9.txt')
for f in "${odd[@]}"; do printf 'x\n' > "$f"; done
printf '%s\0' "${odd[@]}" | "$BMP" run -q -0 -- "$FAKE" {in} {out} > p.jsonl
check_eq "-0: every odd name reaches the command exactly" \
    "$(printf '%s\n' "${odd[@]}" | od -c)" \
    "$(pout p.jsonl '"\n".join(os.fsdecode(os.fsencode(r["in_name"])) for r in rows)' | od -c)"
check_eq "-0: the command got each name as one argument" "[True, True, True, True]" \
    "$(pout p.jsonl '[r["meta"]["in"] == r["in_name"] for r in rows[:4]]')"
check_eq "-0: all succeed" "['ok', 'ok', 'ok', 'ok', 'ok']" \
    "$(pout p.jsonl '[r["status"] for r in rows]')"
check "-0: the outputs exist under their exact names" \
    test -f "./new"$'\n'"line_bmp.txt" -a -f "./it's \"quoted\"_bmp.txt" -a -f ./latin$'\xe9'_bmp.txt
check_eq "the non-UTF-8 name round-trips through surrogateescape" "b'./latin\\xe9_bmp.txt'" \
    "$(pout p.jsonl 'os.fsencode(rows[4]["outname"])')"

# The same names through --shell: placeholders become quoted words.
rm -f ./*_bmp.txt
printf '%s\0' "${odd[@]}" | "$BMP" run -q -0 --shell -- 'tr a-z A-Z < {in} > {out} && echo "{\"n\": 1}"' > p.jsonl
check_eq "--shell: all succeed" "['ok', 'ok', 'ok', 'ok', 'ok']" \
    "$(pout p.jsonl '[r["status"] for r in rows]')"
check "--shell: nothing in a name ran as shell code" test ! -e INJECTED
check_eq "--shell: the command wrote {out}" "X" "$(cat "./with space_bmp.txt")"
printf 'one.txt\n' | "$BMP" run -q --shell -- 'wc -c <' > p.jsonl
check_eq "--shell without placeholders appends {in} quoted" "{'stdout': '4\n'}" \
    "$(pout p.jsonl 'rows[0]["meta"]')"

# An empty list of inputs is an empty run, as with xargs -r and GNU
# parallel: nothing runs, exit 0, a summary, an empty pout.
"$BMP" run -- touch ran.txt < /dev/null > p.jsonl 2> err.txt
check_eq "empty standard input: exit 0" 0 $?
check "... with a summary" grep -q "^0 items: 0 ok, 0 no output, 0 failed" err.txt
check "... an empty pout, and nothing ran" test ! -s p.jsonl -a ! -e ran.txt
: > empty.txt
"$BMP" run -q -a empty.txt -o p2.jsonl -- touch ran.txt > /dev/null 2> err.txt
check_eq "empty list file: exit 0" 0 $?
check "... -o gets an empty pout, and nothing ran" test -f p2.jsonl -a ! -s p2.jsonl -a ! -e ran.txt
check "... and -q says nothing" test ! -s err.txt
"$BMP" run -q -a missing.txt -- true > /dev/null 2> err.txt
check_eq "missing list file: exit 2" 2 $?
check "... naming the file" grep -q "missing.txt" err.txt

finish
