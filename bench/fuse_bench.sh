#!/usr/bin/env bash
# fuse_bench.sh: runs fuse_bench in one run on a udax mount, on tmpfs and on libfuse's passthrough_ll over tmpfs, and plots it.
# usage: bench/fuse_bench.sh BUILD_DIR RESULTS_DIR; FUSE_BENCH_FILES and FUSE_BENCH_MIB size the workload.
set -euo pipefail
build=$1
results=$2
udax=$build/udax
passthrough=$build/bench/passthrough_ll
csv=$results/fuse.csv

# libfuse's own example, the usual FUSE baseline: built at each run from the copy that libfuse3-dev installs.
# shellcheck disable=SC2046 # pkg-config prints several words
cc -O2 -Wall $(pkg-config --cflags fuse3) /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c -o "$passthrough" \
    $(pkg-config --libs fuse3)

work=$(mktemp -d /dev/shm/udax-fuse-bench.XXXXXX)
mkdir "$work/udax" "$work/tmpfs" "$work/source" "$work/passthrough"
udax_pid=
passthrough_pid=

# DIR PID: unmounts DIR if it is still mounted (lazily when the daemon is gone) and waits for its daemon.
unmount() {
    [ -n "$2" ] || return 0
    if grep -q " $1 " /proc/self/mountinfo; then
        if kill -0 "$2" 2>/dev/null; then
            fusermount3 -u "$1" || fusermount3 -uz "$1"
        else
            fusermount3 -uz "$1"
        fi
    fi
    local status=0
    wait "$2" || status=$?
    [ "$status" -eq 0 ] || echo "fuse_bench.sh: the daemon of $1 exited with status $status" >&2
    return "$status"
}

# On every exit, failures included; the tree goes only once nothing is mounted in it, and rm never crosses into a mount.
cleanup() {
    local status=$?
    unmount "$work/udax" "$udax_pid" || status=1
    unmount "$work/passthrough" "$passthrough_pid" || status=1
    if grep -q " $work/" /proc/self/mountinfo; then
        echo "fuse_bench.sh: $work still has a mount in it; left in place" >&2
        status=1
    else
        rm -rf --one-file-system "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
# A signal ends the script through exit, once the command in the foreground returns, so that cleanup runs for it too.
trap 'exit 1' INT TERM HUP

# DIR PID FSTYPE: the daemon is ready when the kernel lists its mount; it may instead exit at once on an error.
wait_for_mount() {
    for _ in $(seq 600); do
        grep -q " $1 .* - $3 " /proc/self/mountinfo && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.05
    done
    echo "fuse_bench.sh: the mount on $1 did not appear" >&2
    return 1
}

"$udax" mkfs "$work/pool" --size 1G >/dev/null
"$udax" mount -f "$work/pool" "$work/udax" &
udax_pid=$!
wait_for_mount "$work/udax" "$udax_pid" fuse.udax
# Set up as the udax mount is, so that the two differ only in their daemons: names and attributes cached for 1 s,
# file data kept across opens (keep_cache), and extended attributes served. Without them the kernel would stop asking
# after the first write for security.capability, which it asks a server with extended attributes before every write.
"$passthrough" -f -o "source=$work/source,cache=always,timeout=1,xattr" "$work/passthrough" &
passthrough_pid=$!
wait_for_mount "$work/passthrough" "$passthrough_pid" fuse.passthrough_ll

mkdir -p "$results"
"$build/bench/fuse_bench" -n "${FUSE_BENCH_FILES:-10000}" -m "${FUSE_BENCH_MIB:-256}" -o "$csv" \
    "udax_mount=$work/udax" "tmpfs=$work/tmpfs" "passthrough_ll=$work/passthrough"

# The CSV holds three rows a workload, against tmpfs, passthrough_ll and the memory copy, in that order.
# A logarithmic axis: a cached read costs about a microsecond, a create through FUSE a hundred times more.
gnuplot -e "set terminal pngcairo noenhanced size 1000,640; set output '$results/fuse.png'; set datafile separator ','; \
stats '$csv' skip 1 every 3::2 using 4 nooutput; copy_ns = STATS_min; \
set logscale y; set yrange [100:*]; set offsets 0,0,graph 0.1,0; set style data histogram; \
set style histogram clustered gap 1; set style fill solid; set xtics rotate by 30 right; set bmargin 10; set key top right; \
set ylabel 'ns per operation'; set title 'FUSE mounts against tmpfs, 4 KiB per operation (over the bars: udax mount / passthrough_ll)'; \
plot '$csv' skip 1 every 3::0 using 2:xtic(1) title 'udax mount', '' skip 1 every 3::1 using 4 title 'passthrough_ll over tmpfs', \
'' skip 1 every 3::0 using 4 title 'tmpfs', copy_ns with lines dashtype 2 linewidth 2 title 'memcpy per 4 KiB', \
'' skip 1 every 3::1 using (\$0 - 0.125):((\$2 > \$4 ? \$2 : \$4) * 1.5):(sprintf('%.2f', \$5)) with labels title ''"
echo "plot: $results/fuse.png"
