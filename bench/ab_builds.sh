#!/bin/bash
# ab_builds.sh: A/B of the library built from a git revision (A) against the working tree's build-release (B).
set -euo pipefail
usage="usage: bash bench/ab_builds.sh REVISION [append|overwrite|read|create|write64 ...]"
[ $# -ge 1 ] && [ "$1" != --help ] || { echo "$usage"; echo "prints each workload's median B/A time ratio; below 1 means B is faster"; exit $(( $# ? 0 : 2 )); }
rev=$1
shift
workloads=${*:-append overwrite read create}
root=$(git rev-parse --show-toplevel)
base=$(mktemp -d /tmp/udax-ab-XXXXXX)
trap 'git -C "$root" worktree remove --force "$base/tree" 2>/dev/null || true; rm -rf "$base"' EXIT
git -C "$root" worktree add -q --detach "$base/tree" "$rev"
# Both sides as scripts/bench.sh builds build-release.
meson setup "$base/build" "$base/tree" --buildtype=release -Dlockdep=false -Db_lto=true > /dev/null
ninja -C "$base/build" libudax.so > /dev/null
[ -d "$root/build-release" ] || meson setup "$root/build-release" "$root" --buildtype=release -Dlockdep=false \
    -Db_lto=true > /dev/null
meson configure "$root/build-release" -Db_lto=true
ninja -C "$root/build-release" libudax.so bench/ab_builds > /dev/null
for w in $workloads; do
    taskset -c 1 "$root/build-release/bench/ab_builds" "$base/build/libudax.so" "$root/build-release/libudax.so" "$w"
done
