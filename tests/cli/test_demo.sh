# test_demo.sh -- bigmultipipe demo prints the listing of SPEC.md (the
# Python package's documented result), and cleans up after itself.
. "$(dirname "$0")/lib.sh"

mkdir tmp
TMPDIR=$WORK/tmp "$BMP" demo > out.txt 2> err.txt
check_eq "demo: exit 0" 0 $?
check "demo prints the expected listing" cmp -s "$SRC/tests/cli/expected/demo.txt" out.txt
check_eq "demo: nothing on standard error" "" "$(cat err.txt)"
check_eq "demo removes its files" "" "$(ls -A tmp)"
TMPDIR=$WORK/tmp "$BMP" demo -j 1 > out1.txt
check "demo with one worker prints the same" cmp -s out.txt out1.txt

finish
