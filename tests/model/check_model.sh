#!/usr/bin/env bash
# check_model.sh: verifies entry_lock.pml exhaustively with SPIN in every configuration; a bug variant passes when SPIN catches it.
#
# usage: check_model.sh VARIANT [CONFIG...]
#   VARIANT correct: every configuration must verify with 0 errors.
#   VARIANT S1, S2, R5 or R6: the model is built with -DBUG_<VARIANT>; at
#   least one configuration must report an error, whose trail is replayed.
#   The check stops at the first configuration that catches the bug.
#   CONFIG: S1 S2 BUCKET MIX3 MIX2 (all by default).
# SPIN and CC name the programs to use.
set -u
variant=${1:?usage: check_model.sh correct|S1|S2|R5|R6 [CONFIG...]}
shift
configs=("$@")
((${#configs[@]})) || configs=(S1 S2 BUCKET MIX3 MIX2)
spin=${SPIN:-spin}
cc=${CC:-cc}
model=$(cd "$(dirname "$0")" && pwd)/entry_lock.pml

case $variant in
correct) flags=() ;;
S1 | S2 | R5 | R6) flags=("-DBUG_$variant") ;;
*) echo "unknown variant '$variant'" >&2; exit 2 ;;
esac

# pan and its trail land in the current directory, so work where no other run can meet them.
work=$(mktemp -d "${TMPDIR:-/tmp}/udax-model.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
cp "$model" "$work/" && cd "$work" || exit 1

broken=0
caught=()
for config in "${configs[@]}"; do
    defs=("${flags[@]}" "-DCONFIG_$config")
    rm -f pan pan.* entry_lock.pml.trail
    if ! "$spin" "${defs[@]}" -a entry_lock.pml >spin.out 2>&1; then
        echo "config $config: spin -a failed:"; sed 's/^/    /' spin.out
        broken=$((broken + 1)); continue
    fi
    # Compiling pan costs more than searching the small configurations, so only the large ones get optimised.
    case $config in MIX*) opt=-O1 ;; *) opt=-O0 ;; esac
    # Exhaustive: no bitstate or hash compaction; COLLAPSE only compresses the stored states.
    if ! "$cc" "$opt" -w -DSAFETY -DCOLLAPSE -DMEMLIM=1536 -o pan pan.c >cc.out 2>&1; then
        echo "config $config: compiling pan failed:"; sed 's/^/    /' cc.out
        broken=$((broken + 1)); continue
    fi
    ./pan -m100000 >pan.out 2>&1
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.out | head -n1)
    stored=$(sed -n 's/^ *\([0-9]*\) states, stored.*/\1/p' pan.out | head -n1)
    elapsed=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' pan.out | head -n1)
    echo "config $config: ${stored:-?} states stored, ${elapsed:-?} s, errors: ${errors:-?}"
    if [ -z "$errors" ] || ! grep -q 'Full statespace search' pan.out ||
        grep -qE 'max search depth too small|out of memory|MEMLIM' pan.out; then
        echo "config $config: the search did not complete:"; sed 's/^/    /' pan.out
        broken=$((broken + 1)); continue
    fi
    if [ "$errors" -gt 0 ]; then
        grep -E '^pan:1:' pan.out | sed 's/^/    /'
        caught+=("$config")
        # The replay's printfs tell which process did what until the error.
        "$spin" "${defs[@]}" -t entry_lock.pml 2>&1 |
            grep -E '^ +(P[0-9]|LOST|STRANDED)|^spin: (entry_lock|text of)' | sed 's/^ */    /'
        break
    fi
done

if [ "$broken" -gt 0 ]; then
    echo "FAIL: $broken configuration(s) could not be checked"
    exit 1
fi
if [ "$variant" = correct ]; then
    if ((${#caught[@]})); then
        echo "FAIL: the model has errors in: ${caught[*]}"
        exit 1
    fi
    echo "PASS: no deadlock, lost wake-up or broken exclusion in: ${configs[*]}"
    exit 0
fi
if ((${#caught[@]} == 0)); then
    echo "FAIL: bug $variant put back, and no configuration catches it"
    exit 1
fi
echo "PASS: bug $variant caught in: ${caught[*]}"
