#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking udax needs; safe to run again.
set -euo pipefail

packages=(
    build-essential meson ninja-build pkgconf clang
    libpmem2-dev libxxhash-dev libcmocka-dev libjudy-dev liburcu-dev libfuse3-dev fuse3
    python3 gnuplot-nox spin
    sqlite3 git attr fio
)

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# fio loads an external I/O engine built against its own headers, which Debian does not package: bench/fio builds
# against the Debian source of exactly the installed fio, unpacked once per version and configured for config-host.h.
fio_version=$(dpkg-query -W -f='${Version}' fio)
fio_source=/usr/local/src/udax-fio-${fio_version:?}
if [ ! -f "$fio_source/config-host.h" ]; then
    deb_src=/etc/apt/sources.list.d/udax-deb-src.sources
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
        "$codename" "$codename" /usr/share/keyrings/debian-archive-keyring.gpg | "${sudo_cmd[@]}" tee "$deb_src" >/dev/null
    # Only this entry's index is fetched; the binary ones are as fresh as the installation above needed.
    "${sudo_cmd[@]}" apt-get update -qq -o Dir::Etc::SourceList="$deb_src" -o Dir::Etc::SourceParts=- \
        -o APT::Get::List-Cleanup=0
    # Unpacked and configured beside its final place, then renamed into it, so that an interrupted run leaves no
    # tree that looks complete. apt downloads as its sandbox user, _apt, which must be able to write there.
    unpack=$("${sudo_cmd[@]}" mktemp -d /usr/local/src/udax-fio-unpack.XXXXXX)
    trap '"${sudo_cmd[@]}" rm -rf "$unpack"' EXIT
    "${sudo_cmd[@]}" chown _apt "$unpack"
    (cd "$unpack" && "${sudo_cmd[@]}" apt-get source -qq --download-only "fio=$fio_version") ||
        { echo "install-deps.sh: no Debian source of fio $fio_version in $codename" >&2; exit 1; }
    # apt checked each file against the archive's signed index; dpkg-source's own check wants debian-keyring.
    (cd "$unpack" && "${sudo_cmd[@]}" dpkg-source -q --no-check -x fio_*.dsc fio)
    (cd "$unpack/fio" && "${sudo_cmd[@]}" ./configure --disable-native >/dev/null)
    "${sudo_cmd[@]}" rm -rf "$fio_source"
    "${sudo_cmd[@]}" mv "$unpack/fio" "$fio_source"
fi
