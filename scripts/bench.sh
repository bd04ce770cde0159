#!/usr/bin/env bash
# Runs the benchmarks in a release build and writes CSV results and plots to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build-release ] || meson setup build-release --buildtype=release -Dlockdep=false
ninja -C build-release
mkdir -p bench/results
build-release/bench/open_bench "${OPEN_BENCH_FILES:-100000}" bench/results/open.csv
gnuplot -e "set terminal pngcairo noenhanced size 800,480; set yrange [0:*]; set output 'bench/results/open.png'; \
set datafile separator ','; set style data histogram; set style fill solid; set boxwidth 0.6; \
set ylabel 'seconds'; set title 'opening a pool of small files'; \
plot 'bench/results/open.csv' using 2:xtic(1) skip 1 title ''"
echo "plot: bench/results/open.png"
