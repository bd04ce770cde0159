#!/usr/bin/env bash
# test_daemon.sh: the life of the udax mount daemon: bad pools, detach and umount, SIGTERM, SIGKILL, and its exit statuses.
set -u
udax=$1
work=$(mktemp -d /dev/shm/udax-daemon-test.XXXXXX)
pool=$work/pool
dir=$work/mnt
mkdir "$dir"
daemon=
cleanup() {
    grep -q " $dir " /proc/self/mountinfo && fusermount3 -uz "$dir"
    [ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
failures=0

check() {
    local name=$1 expected_status=$2 pattern=$3
    shift 3
    "$@" >"$work/out" 2>&1
    local status=$?
    if [ "$status" -ne "$expected_status" ] || { [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$work/out"; }; then
        echo "FAIL $name: status $status (want $expected_status), output:"
        sed 's/^/    /' "$work/out"
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
}

mounted() {
    grep -q " $dir .* - fuse.udax " /proc/self/mountinfo
}

# Starts the daemon in the foreground in the background, and waits for its mount to appear.
mount_foreground() {
    "$udax" mount -f "$pool" "$dir" &
    daemon=$!
    for _ in $(seq 600); do
        mounted && return 0
        kill -0 "$daemon" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

check "mount help" 0 "usage: udax mount POOL DIR" "$udax" mount --help
check "umount help" 0 "usage: udax umount DIR" "$udax" umount --help
check "mount without arguments" 2 "takes a POOL and a DIR" "$udax" mount
check "mount without a directory" 2 "takes a POOL and a DIR" "$udax" mount "$pool"
check "mount of a missing pool" 1 "No such file" "$udax" mount "$work/missing" "$dir"
head -c 16M /dev/zero >"$work/zeros"
check "mount of a file that is no pool" 1 "not a udax pool" "$udax" mount "$work/zeros" "$dir"
mounted && { echo "FAIL a failed mount left a mount behind"; failures=$((failures + 1)); }
"$udax" mkfs "$pool" --size 64M >/dev/null
check "mount on a missing directory" 2 "bad mount point" "$udax" mount "$pool" "$work/no-such-dir"
check "mount with an unknown option" 1 "unknown option" "$udax" mount "$pool" "$dir" -o frobnicate
check "the pool is closed after a failed mount" 0 "clean" "$udax" fsck "$pool"
check "umount of a directory that is no mount" 1 "not a udax mount" "$udax" umount "$dir"

check "mount detaches once mounted" 0 "" "$udax" mount "$pool" "$dir"
check "mounted" 0 "" mounted
echo durable >"$dir/file"
check "a second mount of the open pool" 1 "already open" "$udax" mount -f "$pool" "$work"
check "umount" 0 "" "$udax" umount "$dir"
check "unmounted" 1 "" mounted
# udax umount returned after the daemon closed the pool: fsck can open it at once.
check "fsck right after umount" 0 "clean" "$udax" fsck "$pool"

mount_foreground
check "the file outlived the mount" 0 "durable" cat "$dir/file"
kill -TERM "$daemon"
wait "$daemon"
status=$?
daemon=
check "SIGTERM: the daemon exits 0" 0 "" test "$status" -eq 0
check "SIGTERM: unmounted" 1 "" mounted
check "SIGTERM: fsck clean" 0 "clean" "$udax" fsck "$pool"

mount_foreground
for i in $(seq 50); do echo "line $i" >"$dir/before-kill-$i"; done
mkdir "$dir/directory" && mv "$dir/before-kill-1" "$dir/directory/moved"
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null
daemon=
fusermount3 -uz "$dir"
# Every call had returned before the kill, so every one of them is in the pool.
check "SIGKILL: fsck clean" 0 "clean" "$udax" fsck "$pool"
mount_foreground
check "SIGKILL: what returned is there" 0 "line 50" cat "$dir/before-kill-50"
check "SIGKILL: the rename is there" 0 "line 1" cat "$dir/directory/moved"
check "umount after SIGKILL" 0 "" "$udax" umount "$dir"
wait "$daemon"
status=$?
daemon=
check "the daemon exits 0 after umount" 0 "" test "$status" -eq 0

echo "$failures failed"
[ "$failures" -eq 0 ]
