#!/usr/bin/env bash
# with_mount.sh: runs a command against a fresh pool mounted through FUSE, then unmounts and requires a clean daemon exit and fsck.
# usage: with_mount.sh UDAX POOL_SIZE COMMAND [ARGS...]; the command gets the mount directory as its last argument.
set -u
udax=$1
size=$2
shift 2
work=$(mktemp -d /dev/shm/udax-fuse-test.XXXXXX)
# Other users must reach the mount point too.
chmod 0755 "$work"
pool=$work/pool
dir=$work/mnt
mkdir "$dir"
daemon=
cleanup() {
    if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
        fusermount3 -u "$dir" 2>/dev/null
        wait "$daemon"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$udax" mkfs "$pool" --size "$size" >/dev/null || exit 1
# allow_other: the tests act as other users too, whose uid, gid and groups udax checks.
"$udax" mount -f "$pool" "$dir" -o allow_other &
daemon=$!
# The daemon is ready when the kernel lists its mount; it may instead exit at once on an error.
for _ in $(seq 600); do
    grep -q " $dir .* - fuse.udax " /proc/self/mountinfo && break
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.05
done
if ! grep -q " $dir .* - fuse.udax " /proc/self/mountinfo; then
    echo "with_mount: the mount of $pool on $dir did not appear"
    exit 1
fi

"$@" "$dir"
status=$?

"$udax" umount "$dir" || { echo "with_mount: udax umount failed"; status=1; }
wait "$daemon"
daemon_status=$?
daemon=
if [ "$daemon_status" -ne 0 ]; then
    echo "with_mount: the daemon exited with status $daemon_status"
    status=1
fi
"$udax" fsck "$pool" || { echo "with_mount: fsck of the pool after unmount failed"; status=1; }
exit "$status"
