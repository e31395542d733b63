# test_usage.sh -- --help, --version, the manual page, and usage errors
# (exit status 2 with a message naming the problem).
. "$(dirname "$0")/lib.sh"

"$BMP" --version > out.txt
check_eq "--version" 0 $?
check "... prints the version" grep -Eq '^bigmultipipe [0-9]+\.[0-9]+\.[0-9]+$' out.txt

"$BMP" --help > out.txt
check_eq "--help: exit 0" 0 $?
check "--help lists the commands" grep -q '^  run ' out.txt
for sub in run plan demo; do
    "$BMP" $sub --help > "help_$sub.txt"
    check_eq "$sub --help: exit 0" 0 $?
    check "$sub --help: usage line" grep -q "^Usage: bigmultipipe $sub" "help_$sub.txt"
done
check "run --help shows the shared options" grep -q -- '-j, --num_processes N' help_run.txt
check "run --help shows the placeholders" grep -q '{outdir}' help_run.txt
check "run --help shows the exit statuses" grep -q '^  2  usage error' help_run.txt
check "plan --help has no run-only option" test -z "$(grep -- '--reject-code' help_plan.txt)"

# The manual page is made from the same table as --help and kept in doc/.
"$BMP" --man > man.1
check "doc/bigmultipipe.1 is what bigmultipipe --man prints (regenerate with: bigmultipipe --man > doc/bigmultipipe.1)" \
    cmp -s man.1 "$SRC/doc/bigmultipipe.1"
for opt in input-list reject-code process_expand_factor num_processes outdir timeout journal; do
    check "the manual documents --$opt" grep -q -- "-\\\\-$(printf '%s' "$opt" | sed 's/-/\\\\-/g')" man.1
done
if command -v groff > /dev/null; then
    groff -man -Tutf8 -ww -z man.1 2> groff.txt
    check_eq "groff reads the manual without warnings" "" "$(cat groff.txt)"
fi

usage_error() {
    local name=$1 pattern=$2
    shift 2
    "$BMP" "$@" < /dev/null > out.txt 2> err.txt
    local rc=$?
    if [ "$rc" = 2 ] && grep -q -- "$pattern" err.txt && [ ! -s out.txt ]; then
        ok "usage error, exit 2: $name"
    else
        not_ok "usage error, exit 2: $name" "exit $rc; stderr: $(cat err.txt)"
    fi
}
usage_error "no subcommand" "Usage"
usage_error "unknown subcommand" 'unknown command "frobnicate"' frobnicate
usage_error "unknown option" "--bogus: unknown option" run --bogus -- true ::: x
usage_error "run-only option given to plan" "--shell: unknown option for plan" plan --shell
usage_error "no command" "no command" run ::: x
usage_error "no command after --" "no command" run -- ::: x
usage_error "missing value" "-j needs a value" run -j
usage_error "bad size" "is not a size" run --process_size lots -- true ::: x
usage_error "bad reject code" "not an exit code" run --reject-code 0 -- true ::: x
usage_error "bad timeout" "not a positive number" run --timeout -1 -- true ::: x
usage_error "bad mem_frac" "mem_frac must be" run --mem_frac 1.5 -- true ::: x
usage_error "negative num_processes" "num_processes" run --num_processes -2 -- true ::: x
usage_error "flag with a value" "takes no value" run --shell=yes -- true ::: x
usage_error "--resume without --journal" "needs --journal" run --resume -- true ::: x
usage_error "demo takes no inputs" "demo takes no command" demo ::: x
usage_error "a second :::" "a second ::: among the inputs" run -- true ::: a ::: b
usage_error "an empty --journal=" "--journal needs a file name" run --journal= -- true ::: x
usage_error "an empty --journal ''" "--journal needs a file name" run --journal '' -- true ::: x
usage_error "an empty --output" "--output needs a file name" run -o '' -- true ::: x
usage_error "an empty --input-list" "--input-list needs a file name" run --input-list= -- true ::: x
usage_error "an empty --write_pout" "--write_pout needs a file name" run --write_pout '' -- true ::: x
usage_error "an empty --read_pout" "--read_pout needs a file name" run --read-pout= -- true ::: x

# Both spellings of long options, and --opt=value.
"$BMP" run -q --num-processes=1 --outname-append=_x --input_list=/dev/null \
    -- sh -c 'echo x > "$1"' sh {out} ::: a > p.jsonl
check_eq "- and _ are the same in long option names" "./a_x" \
    "$(pout p.jsonl 'rows[0]["outname"]')"

finish
