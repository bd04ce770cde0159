#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking udax needs; safe to run again.
set -euo pipefail

packages=(
    build-essential meson ninja-build pkgconf clang
    libpmem2-dev libxxhash-dev libcmocka-dev libjudy-dev libfuse3-dev fuse3
    python3 gnuplot-nox spin
    sqlite3 git attr
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if ((${#missing[@]})); then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
