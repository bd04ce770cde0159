#!/usr/bin/env bash
# test_cli.sh: the udax command: mkfs, info, fsck, help, their exit codes and their messages on bad input.
set -u
udax=$1
demo=$2
pool=/dev/shm/udax-cli-test-$$.pool
failures=0
trap 'rm -f "$pool" "$pool.out"' EXIT

check() {
    local name=$1 expected_status=$2 pattern=$3
    shift 3
    "$@" >"$pool.out" 2>&1
    local status=$?
    if [ "$status" -ne "$expected_status" ] || ! grep -qE -- "$pattern" "$pool.out"; then
        echo "FAIL $name: status $status (want $expected_status), output:"
        sed 's/^/    /' "$pool.out"
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
}

check "help" 0 "udax mkfs|mkfs POOL" "$udax" help
check "no command" 2 "no command" "$udax"
check "unknown command" 2 "unknown command 'frobnicate'" "$udax" frobnicate
check "mkfs bad size" 2 "bad size" "$udax" mkfs "$pool" --size lots
check "mkfs bad mode" 2 "unknown data mode" "$udax" mkfs "$pool" --size 16M --data=maybe
check "mkfs too small" 1 "at least" "$udax" mkfs "$pool" --size 1M
check "mkfs" 0 "formatted .* data=fast" "$udax" mkfs "$pool" --size 16M --data=fast
check "info" 0 "data mode: +fast" "$udax" info "$pool"
check "info medium" 0 "medium: +dram via tmpfs" "$udax" info "$pool"
check "demo" 0 "hello from udax" "$demo" "$pool"
check "info counts" 0 "files: +2" "$udax" info "$pool"
check "fsck clean" 0 "clean" "$udax" fsck "$pool"
check "fsck help" 0 "fsck POOL" "$udax" fsck --help
check "info missing pool" 1 "No such file" "$udax" info /dev/shm/udax-no-such-pool
check "info not a pool" 1 "not a udax pool" "$udax" info /etc/hostname

printf 'XXXXXXXX' | dd of="$pool" bs=1 seek=16 conv=notrunc status=none
check "fsck damaged superblock" 4 "primary superblock is damaged" "$udax" fsck "$pool"
check "fsck repair" 1 "corrected" "$udax" fsck "$pool" --repair
check "fsck after repair" 0 "clean" "$udax" fsck "$pool"
check "fsck not a pool" 8 "not a udax pool" "$udax" fsck /etc/hostname

# The root's last log entry damaged: refused, reported with what --repair will do, salvaged.
word() { od -An -t u8 -j "$1" -N 8 "$pool" | tr -d ' '; }
root_tail=$(word $(($(word 56) * 4096 + 64 + 8)))
# The byte lies in the entry's time, so it is flipped rather than overwritten: a fixed byte matches it one run in 256.
damaged_at=$((root_tail - 64 + 20))
old_byte=$(od -An -t u1 -j "$damaged_at" -N 1 "$pool" | tr -d ' ')
printf "\\$(printf '%03o' $((old_byte ^ 0xff)))" | dd of="$pool" bs=1 seek="$damaged_at" conv=notrunc status=none
check "info damaged log" 1 "inode 1: log entry fails its checksum.*run udax fsck" "$udax" info "$pool"
check "fsck damaged log" 4 "inode 1: .*--repair keeps its first " "$udax" fsck "$pool"
check "fsck salvage" 1 "repaired: kept its first " "$udax" fsck "$pool" --repair
check "fsck after salvage" 0 "clean" "$udax" fsck "$pool"
check "info after salvage" 0 "files: +2" "$udax" info "$pool"

if [ "$failures" -eq 0 ]; then
    echo "all cli checks passed"
    exit 0
fi
exit 1
