#!/usr/bin/env bash
# Fuzzes pool open, recovery and fsck with libFuzzer for FUZZ_SECONDS (default an hour): the long run of the CI's short one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
seconds=${FUZZ_SECONDS:-3600}
if [ -d build-fuzz ]; then
    meson configure build-fuzz -Dfuzz_seconds="$seconds" >/dev/null
else
    CC=clang meson setup build-fuzz -Dfuzz=true -Dsanitizer=address -Dfuzz_seconds="$seconds" >/dev/null
fi
ninja -C build-fuzz tests/fuzz/fuzz_pool tests/fuzz/make_seeds
meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs
