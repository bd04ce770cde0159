#!/usr/bin/env bash
# run_fuzz.sh: seeds a corpus with real pools and fuzzes pool open, recovery and fsck for a while.
set -uo pipefail
make_seeds=$(realpath -- "$1")
fuzzer=$(realpath -- "$2")
seconds=${3:-30}
work=$(mktemp -d /dev/shm/udax-fuzz-corpus.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/seeds" "$work/corpus" "$work/found"
"$make_seeds" "$work/seeds" || exit 1
"$fuzzer" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$work/found/" "$work/corpus" "$work/seeds" >"$work/log" 2>&1
status=$?
grep -E "^(INFO: seed corpus|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" "$work/log"
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/found")" ]; then
    tail -40 "$work/log"
    cp "$work"/found/* . 2>/dev/null
    echo "fuzzing found inputs that fail (copied to $(pwd)): $(ls "$work/found")"
    exit 1
fi
echo "fuzzing ran ${seconds}s without a finding"
