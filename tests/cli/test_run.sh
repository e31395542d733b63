# test_run.sh -- bigmultipipe run: outputs, placeholders, metadata, the
# pout as JSON Lines, the summary and the exit status of a good run.
. "$(dirname "$0")/lib.sh"

printf 'alpha\n' > a.txt
printf 'beta two\n' > b.txt
printf 'gamma\n' > c.SLOW.txt

# Three inputs, the slow one first: the pout keeps input order.
"$BMP" run --outdir out --create_outdir -- "$FAKE" {in} {out} \
    ::: c.SLOW.txt a.txt b.txt > pout.jsonl 2> err.txt
check_eq "exit status 0 when every item succeeds" 0 $?
check_eq "pout in input order" "['c.SLOW.txt', 'a.txt', 'b.txt']" \
    "$(pout pout.jsonl '[r["in_name"] for r in rows]')"
check_eq "outnames follow the _bmp rule in outdir" \
    "['out/c.SLOW_bmp.txt', 'out/a_bmp.txt', 'out/b_bmp.txt']" \
    "$(pout pout.jsonl '[r["outname"] for r in rows]')"
check_eq "statuses" "['ok', 'ok', 'ok']" \
    "$(pout pout.jsonl '[r["status"] for r in rows]')"
check_eq "meta from the command's standard output" \
    "{'bytes': 6, 'in': 'a.txt'}" "$(pout pout.jsonl 'rows[1]["meta"]')"
check_eq "the command wrote {out}" "BETA TWO" "$(cat out/b_bmp.txt)"
check_eq "standard error holds the summary only" \
    "3 items: 3 ok, 0 no output, 0 failed in" "$(sed 's/ [0-9.]* s$//' err.txt)"
check_eq "error is null and stats are there" "[None, 1]" \
    "$(pout pout.jsonl '[rows[0]["error"], rows[0]["stats"]["attempts"]]')"

# Every placeholder, through an argv-echoing shell (no --shell: sh is the
# command and the placeholders are its arguments).
mkdir -p d
printf 'x' > d/arch.tar.gz
# {out} is the temporary that is renamed to the output name: hidden,
# beside it, still ending with its extension.
"$BMP" run -q --outdir od --create_outdir --outname_append _new -- sh -c \
    'printf "{\"args\": [\"%s\", \"%s\", \"%s\", \"%s\", \"%s\"]}" "$@"' sh \
    {in} {out} {outdir} {stem} {ext} ::: d/arch.tar.gz > p.jsonl
check_eq "placeholders {in} {outdir} {stem} {ext}" \
    "['d/arch.tar.gz', 'od', 'arch.tar', '.gz']" \
    "$(pout p.jsonl '[a for i, a in enumerate(rows[0]["meta"]["args"]) if i != 1]')"
check_eq "{out}: the output's temporary, .NAME.bmp-XXXXXX.EXT beside it" "True" \
    "$(pout p.jsonl '__import__("re").fullmatch(r"od/\.arch\.tar_new\.gz\.bmp-[A-Za-z0-9]{6}\.gz", rows[0]["meta"]["args"][1]) is not None')"
check_eq "... which the command did not write: no output, nothing left" "[None, 'no_output', '']" \
    "$(pout p.jsonl '[rows[0]["outname"], rows[0]["status"], " ".join(os.listdir("od"))]')"
"$BMP" run -q -- echo '{"k": "{in}-{ nothing }-${x}-{a,b}"}' ::: .hidden > p.jsonl
check_eq "braces that are no placeholder syntax are left alone; a hidden file has no extension" \
    "{'k': '.hidden-{ nothing }-\${x}-{a,b}'}" "$(pout p.jsonl 'rows[0]["meta"]')"
"$BMP" run -q -- "$FAKE" a.txt ::: out/a_extra.txt > p.jsonl
check_eq "without placeholders, {in} is appended" "a.txt" \
    "$(pout p.jsonl 'rows[0]["meta"]["in"]')"
check_eq "... and the program's output went where it said" "ALPHA" \
    "$(cat out/a_extra.txt)"

# Metadata channels.
printf 'm\n' > m.METAFILE.txt
printf 't\n' > t.TEXT.txt
printf 'n\n' > n.NOISY.txt
printf 'o\n' > o.NOOUT.txt
mkdir tmp
TMPDIR=$WORK/tmp "$BMP" run -q -- "$FAKE" {in} {out} \
    ::: m.METAFILE.txt t.TEXT.txt n.NOISY.txt o.NOOUT.txt > p.jsonl
check_eq "meta from BMP_META_FILE" \
    "{'bytes': 2, 'in': 'm.METAFILE.txt', 'via': 'file'}" \
    "$(pout p.jsonl 'rows[0]["meta"]')"
check_eq "standard output that is not JSON is kept as text" \
    "{'stdout': 'plain text, not JSON\n'}" \
    "$(pout p.jsonl 'rows[1]["meta"]')"
check_eq "standard error: the last 64 KiB, the cut counted" \
    "[65536, 34474, True]" \
    "$(pout p.jsonl '[len(rows[2]["meta"]["stderr"]), rows[2]["meta"]["stderr_truncated"], rows[2]["meta"]["stderr"].endswith("9\nlast line\n")]')"
check_eq "no {out} written: metadata only" "[None, 'no_output', 2]" \
    "$(pout p.jsonl '[rows[3]["outname"], rows[3]["status"], rows[3]["meta"]["bytes"]]')"
check_eq "no metadata files left behind in TMPDIR" "" "$(ls -A tmp)"

# Existing outputs: the library's rule, kept.
printf 'old' > keep_bmp.txt
printf 'k' > keep.txt
"$BMP" run -q -- "$FAKE" {in} {out} ::: keep.txt > p.jsonl
check_eq "an existing {out} fails the item without --overwrite" \
    "['failed', 'output ./keep_bmp.txt exists; --overwrite replaces it']" \
    "$(pout p.jsonl '[rows[0]["status"], rows[0]["error"]]')"
check_eq "... and the file is untouched" "old" "$(cat keep_bmp.txt)"
"$BMP" run -q --overwrite -- true {in} {out} ::: keep.txt > p.jsonl
check_eq "an older {out} that the command leaves alone is not its output" \
    "[None, 'no_output']" "$(pout p.jsonl '[rows[0]["outname"], rows[0]["status"]]')"
"$BMP" run -q --overwrite -- "$FAKE" {in} {out} ::: keep.txt > p.jsonl
check_eq "--overwrite: the command replaces it" "['ok', 'K']" \
    "$(pout p.jsonl '[rows[0]["status"], open("keep_bmp.txt").read()]')"
"$BMP" run -q --overwrite --outname_append '' -- "$FAKE" {in} {out} ::: keep.txt > p.jsonl
check_eq "an output that is the input itself fails the item" "failed k" \
    "$(pout p.jsonl 'rows[0]["status"]') $(cat keep.txt)"

# Two inputs with one output name: refused before anything runs.
mkdir -p d1 d2
printf '1' > d1/same.txt
printf '2' > d2/same.txt
"$BMP" run -q -- "$FAKE" {in} {out} ::: d1/same.txt d2/same.txt > p.jsonl 2> err.txt
check_eq "two inputs, one {out}: exit 2" 2 $?
check "... naming the items and the output" grep -q "items 0 and 1 would both write ./same_bmp.txt" err.txt
check "... and nothing ran" test ! -e same_bmp.txt
"$BMP" run -q -- wc -c ::: d1/same.txt d2/same.txt > p.jsonl
check_eq "a command without {out} may share one" 0 $?

# The pout to a file, and read back by write_pout/read_pout.
"$BMP" run -q -o saved.jsonl --write_pout cache.jsonl -- "$FAKE" {in} {out} \
    ::: a.txt > stdout.txt
check_eq "--output: nothing on standard output" "" "$(cat stdout.txt)"
check_eq "--output file is JSON Lines" "['ok']" \
    "$(pout saved.jsonl '[r["status"] for r in rows]')"
check "--write_pout holds the same lines" cmp -s saved.jsonl cache.jsonl
"$BMP" run -q --read_pout cache.jsonl -- false ::: a.txt > again.jsonl
check_eq "--read_pout returns the stored pout without running" 0 $?
check "... the same pout" cmp -s saved.jsonl again.jsonl

# Names, outputs and meta as Python's json module reads them back.
check_eq "every line parses with Python's json module" "3" \
    "$(pout pout.jsonl 'len(rows)')"

finish
