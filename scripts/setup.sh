#!/usr/bin/env bash
# Installs the dependencies, builds udax, formats a default pool in /dev/shm, and shows it working: by library and mounted.
set -euo pipefail
cd "$(dirname "$0")/.."
pool=${UDAX_POOL:-/dev/shm/udax.pool}
bash scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
rm -f "$pool"
build/udax mkfs "$pool" --size 1G
build/udax info "$pool"
build/udax-demo "$pool"
mount_dir=${UDAX_MOUNT:-/mnt/udax}
mkdir -p "$mount_dir"
build/udax mount "$pool" "$mount_dir"
trap 'build/udax umount "$mount_dir"' EXIT
# Any program now uses the pool: a copy of these sources, compressed and checked.
tar -C . -cf "$mount_dir/sources.tar" README.md include src
gzip -9 "$mount_dir/sources.tar"
gzip -t "$mount_dir/sources.tar.gz"
ls -l "$mount_dir"
df -h "$mount_dir"
build/udax umount "$mount_dir"
trap - EXIT
build/udax fsck "$pool"
