#!/usr/bin/env bash
# Runs the whole test suite three times: plain, AddressSanitizer+UBSan, ThreadSanitizer; ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

# ThreadSanitizer cannot map its shadow under the high ASLR entropy of recent kernels.
tsan_runner=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
    tsan_runner=(setarch "$(uname -m)" -R)
fi

passed=0
failed=0
count_results() {
    local log=$1/meson-logs/testlog.json
    [ -f "$log" ] || { failed=$((failed + 1)); return; }
    local p f
    p=$(grep -c '"result": "OK"' "$log")
    f=$(grep -vc '"result": "OK"' "$log")
    passed=$((passed + p))
    failed=$((failed + f))
}

test_args=()
run_variant() {
    local dir=$1; shift
    local sanitizer=$1; shift
    echo "=== $dir (sanitizer: $sanitizer) ==="
    if [ -d "$dir" ]; then
        meson configure "$dir" -Dsanitizer="$sanitizer" >/dev/null
    else
        meson setup "$dir" -Dsanitizer="$sanitizer" >/dev/null
    fi || { failed=$((failed + 1)); return; }
    if ! ninja -C "$dir"; then
        failed=$((failed + 1))
        return
    fi
    rm -f "$dir/meson-logs/testlog.json"
    "$@" meson test -C "$dir" --print-errorlogs --num-processes 2 "${test_args[@]}"
    count_results "$dir"
}

run_variant build none
# The SPIN model does not depend on how udax is built: the plain variant runs it once.
test_args=(--no-suite model)
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_variant build-asan address env
# ThreadSanitizer finds races between threads: the crash enumerator and the unit tests of suite one-thread start none,
# so under it they would only take time.
test_args=(--no-suite model --no-suite crash --no-suite one-thread)
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 run_variant build-tsan thread env "${tsan_runner[@]}"

# A short libFuzzer run over pool open, recovery and fsck; scripts/fuzz.sh runs the long one.
echo "=== build-fuzz (clang, libFuzzer, sanitizer: address) ==="
if { [ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dsanitizer=address >/dev/null; } &&
    meson configure build-fuzz -Dfuzz_seconds="${FUZZ_SECONDS:-30}" >/dev/null &&
    ninja -C build-fuzz tests/fuzz/fuzz_pool tests/fuzz/make_seeds; then
    rm -f build-fuzz/meson-logs/testlog.json
    meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs
    count_results build-fuzz
else
    failed=$((failed + 1))
fi

# One build with the bug switch; each run puts back one bug, and the suite meant to catch it must fail, or that suite
# proves nothing. Without lockdep, so that a scenario's bug shows as the hang or wrong result it caused, not as an
# order report.
echo "=== build-bugs (-Dbug_injection=true) ==="
if { [ -d build-bugs ] || meson setup build-bugs -Dbug_injection=true -Dlockdep=false >/dev/null; } &&
    ninja -C build-bugs >/dev/null; then
    for bug_suite in S1:scenarios S2:scenarios S3:scenarios S4:scenarios S5:scenarios S6:scenarios \
        crash-fence:crash crash-flush:crash fault-leak:crash salvage-commit:api salvage-order:api salvage-tail:crash \
        lockless-unchecked:scenarios lockless-unwaited:scenarios append-position:scenarios; do
        bug=${bug_suite%%:*}
        suite=${bug_suite#*:}
        echo "=== UDAX_INJECT_BUG=$bug (suite $suite must fail) ==="
        # The library stops at a name it does not know, which would fail the suite as if the bug were caught.
        if ! grep -q "= \"$bug\"," src/util/inject_bug.c; then
            echo "bug $bug: src/util/inject_bug.c has no such name"
            failed=$((failed + 1))
            continue
        fi
        rm -f build-bugs/meson-logs/testlog.json
        if UDAX_INJECT_BUG=$bug UDAX_WATCHDOG_SECONDS=5 \
            meson test -C build-bugs --no-rebuild --suite "$suite" --num-processes 2 >/dev/null; then
            echo "bug $bug: every test of suite $suite passed with the bug put back"
            failed=$((failed + 1))
        elif [ -f build-bugs/meson-logs/testlog.json ]; then
            grep -h '"name"' build-bugs/meson-logs/testlog.json | grep -v '"result": "OK"' |
                sed -n 's/.*"name": "\([^"]*\)".*/  caught by \1/p'
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
else
    failed=$((failed + 1))
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
