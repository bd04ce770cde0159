#!/usr/bin/env bash
# test_fio.sh: fio job files run on a pool through the udax engine, checking what they read, and the engine's refusals;
# each pool must pass fsck after, and nothing may land on the host's file system.
# usage: test_fio.sh FIO ENGINE UDAX JOB_DIR
set -u
fio=$1
# fio runs elsewhere, and Meson passes the engine relative to the build directory.
engine=$(realpath "$2")
udax=$3
jobs=$4
work=$(mktemp -d /dev/shm/udax-fio-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
pool=$work/pool
# fio runs in an empty directory, where a file it made on the host rather than in the pool would show.
host_dir=$work/host
mkdir "$host_dir"
failures=0
# The job files name the engine and the pool through these.
export UDAX_FIO_ENGINE=$engine UDAX_POOL=$pool

# NAME REASON
failed() {
    echo "FAIL $1: $2; output:"
    sed 's/^/    /' "$work/out"
    failures=$((failures + 1))
}

# NAME: the pool after a run, whether fio succeeded or not: clean, and nothing made on the host.
pool_left_clean() {
    if [ -e "$pool" ] && ! "$udax" fsck "$pool" >>"$work/out" 2>&1; then
        failed "$1" "fsck of the pool"
    elif [ -n "$(ls -A "$host_dir")" ]; then
        failed "$1" "files on the host: $(ls -A "$host_dir" | tr '\n' ' ')"
    else
        return 0
    fi
    return 1
}

# NAME JOB_FILE FILES: the job file on a fresh pool succeeds and leaves FILES files in it.
run_job() {
    local name=$1 job=$2 files=$3
    rm -f "$pool"
    "$udax" mkfs "$pool" --size 256M >"$work/out" 2>&1 || { failed "$name" "mkfs"; return; }
    (cd "$host_dir" && "$fio" "$jobs/$job") >"$work/out" 2>&1
    local status=$?
    if [ "$status" -ne 0 ]; then
        failed "$name" "fio exited with status $status"
    elif pool_left_clean "$name"; then
        if ! "$udax" info "$pool" | grep -qE "^files: +$files\$"; then
            failed "$name" "the pool does not hold $files files"
        else
            echo "ok   $name"
        fi
    fi
}

# NAME PATTERN FIO_OPTIONS...: a job of these options on the pool as it is fails, printing PATTERN.
refused() {
    local name=$1 pattern=$2
    shift 2
    (cd "$host_dir" && "$fio" --name=refused --rw=write --size=1M "$@") >"$work/out" 2>&1
    local status=$?
    if [ "$status" -eq 0 ]; then
        failed "$name" "fio succeeded"
    elif ! grep -qE -- "$pattern" "$work/out"; then
        failed "$name" "no message matching '$pattern'"
    elif pool_left_clean "$name"; then
        echo "ok   $name"
    fi
}

run_job "random writes, verified" randwrite_verify.fio 1
run_job "write, then read in another job, verified" write_then_read.fio 1
run_job "trim, then read zeros" trim_then_read.fio 1
run_job "read of a missing file, laid out in the pool" read_missing.fio 1
run_job "two jobs on two files, two on one file, verified" two_jobs.fio 3

# The pool of the last run holds the directory /two, which each refusal then leaves clean.
refused "no pool option" "udax engine: options: no pool: the udax engine needs pool=PATH" \
    --ioengine=external:"$engine" --thread --filename=/refused.data
head -c 16M /dev/zero >"$work/zeros"
refused "not a pool" "udax engine: udax_pool_open: $work/zeros: not a udax pool" \
    --ioengine=external:"$engine" --pool="$work/zeros" --thread --filename=/refused.data
refused "jobs as processes" "udax engine: options: job refused runs as a process: .* needs thread=1" \
    --ioengine=external:"$engine" --pool="$pool" --filename=/refused.data
refused "a directory as the file" "udax engine: udax_stat: /two: not a regular file in the pool" \
    --ioengine=external:"$engine" --pool="$pool" --thread --filename=/two
"$udax" mkfs "$work/other.pool" --size 16M >/dev/null
refused "two pools in one process" "udax engine: pool: pool=.* after this process.s jobs used .*: one pool per process" \
    --ioengine=external:"$engine" --pool="$pool" --thread --filename=/refused.data \
    --name=other --rw=write --size=1M --ioengine=external:"$engine" --pool="$work/other.pool" --thread \
    --filename=/refused.data
rm -f "$pool"
"$udax" mkfs "$pool" --size 8M >/dev/null
refused "a full pool" "fio: udax_pwrite: .*No space left on device" \
    --ioengine=external:"$engine" --pool="$pool" --thread --filename=/full.data --size=16M --bs=64k

if [ "$failures" -eq 0 ]; then
    echo "all fio checks passed"
    exit 0
fi
exit 1
