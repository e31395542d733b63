# test_plan.sh -- bigmultipipe plan: the figures a run would use, found
# without running anything.
. "$(dirname "$0")/lib.sh"

head -c 1000 /dev/zero > small.dat
head -c 300000 /dev/zero > big.dat

"$BMP" plan ::: small.dat big.dat > plan.txt 2> err.txt
check_eq "plan: exit 0" 0 $?
check_eq "plan: nothing on standard error" "" "$(cat err.txt)"
check "shows the inputs" grep -q '^inputs: *2 (293.9 KiB in all, largest 293.0 KiB)$' plan.txt
check "shows the physical cores" grep -Eq '^physical cores: *[0-9]+$' plan.txt
check "shows the memory available" grep -Eq '^memory available: *[0-9.]+ [KMGT]iB$' plan.txt
check "shows the budget" grep -q '^memory budget: .*(mem_frac 0.8 of the memory available)$' plan.txt
check "no estimate without process_size" grep -q '^per-item estimate: *none' plan.txt
check "at most one worker per input" grep -Eq '^workers: *[12] ' plan.txt

"$BMP" plan -j 8 --mem_available 1G --process_size 400M ::: a b c d e > plan.txt
check "process_size is the estimate" grep -q '^per-item estimate: *400.0 MiB (--process_size)$' plan.txt
check "the budget is --mem_available" grep -q '^memory budget: *1.0 GiB (--mem_available)$' plan.txt
check_eq "memory limits the workers" "workers:            2 (limited by memory: 1.0 GiB / 400.0 MiB)" \
    "$(grep '^workers:' plan.txt)"
check "missing inputs are counted" grep -q '5 not found' plan.txt

"$BMP" plan -j 2 --mem_available 1M --process_expand_factor 3 -- sort ::: small.dat big.dat > plan.txt
check "the expand factor times the largest input" \
    grep -q '^per-item estimate: *878.9 KiB (process_expand_factor 3 x the largest input, big.dat: 293.0 KiB)$' plan.txt
check_eq "... limits the workers" "workers:            1 (limited by memory: 1.0 MiB / 878.9 KiB)" \
    "$(grep '^workers:' plan.txt)"

"$BMP" plan -j 3 ::: a b c d > plan.txt
check_eq "num_processes limits the workers" "workers:            3 (as --num_processes says)" \
    "$(grep '^workers:' plan.txt)"

printf 'small.dat\nbig.dat\n' | "$BMP" plan > plan.txt
check "inputs from standard input, as run" grep -q '^inputs: *2 ' plan.txt

"$BMP" plan --mem_available 1G --process_size 2G ::: a > plan.txt
check_eq "no worker fits: exit 1" 1 $?
check "... and the plan says why" grep -q '^workers: *none: process_size 2048.0 MiB exceeds' plan.txt

finish
