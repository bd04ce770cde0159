#!/usr/bin/env bash
# Installs the dependencies, builds udax, formats a default pool in /dev/shm and shows it working.
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
build/udax fsck "$pool"
