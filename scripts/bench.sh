#!/usr/bin/env bash
# Runs the benchmarks in a release build and writes CSV results and plots to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Link-time optimisation inlines the calls between layers on the lockless paths: each call and its pushes are stores
# that queue behind a store that misses the cache (docs/bench.md).
[ -d build-release ] || meson setup build-release --buildtype=release -Dlockdep=false -Db_lto=true
meson configure build-release -Db_lto=true
ninja -C build-release
mkdir -p bench/results
build-release/bench/open_bench "${OPEN_BENCH_FILES:-100000}" bench/results/open.csv
gnuplot -e "set terminal pngcairo noenhanced size 800,480; set yrange [0:*]; set output 'bench/results/open.png'; \
set datafile separator ','; set style data histogram; set style fill solid; set boxwidth 0.6; \
set ylabel 'seconds'; set title 'opening a pool of small files'; \
plot 'bench/results/open.csv' using 2:xtic(1) skip 1 title ''"
echo "plot: bench/results/open.png"
build-release/bench/dax_bench "${DAX_BENCH_MIB:-1024}" bench/results/dax.csv
gnuplot -e "set terminal pngcairo noenhanced size 1000,640; set yrange [0:*]; set offsets 0,0,graph 0.15,0; set output 'bench/results/dax.png'; \
set datafile separator ','; set style data histogram; set style fill solid; set boxwidth 0.6; \
set xtics rotate by 30 right; set lmargin 34; set rmargin 4; set bmargin 14; set ylabel 'udax / baseline (time)'; set title 'DAX entry engine against its baselines'; \
plot 'bench/results/dax.csv' using 5:xtic(strcol(1).' / '.strcol(3)) skip 1 title '', \
'' using 0:5:(sprintf('%.3g', \$5)) skip 1 with labels rotate by 90 left offset 0,0.5 title ''"
echo "plot: bench/results/dax.png"
build-release/bench/mmap_bench "${MMAP_BENCH_MIB:-1024}" bench/results/mmap.csv
# A logarithmic axis: a fault costs thousands of times a store to a page in place, and first touch about as much as tmpfs.
gnuplot -e "set terminal pngcairo noenhanced size 1000,640; set logscale y; set yrange [0.1:*]; set offsets 0,0,graph 0.15,0; \
set output 'bench/results/mmap.png'; set datafile separator ','; set style data histogram; set style fill solid; set boxwidth 0.6; \
set xtics rotate by 30 right; set lmargin 34; set rmargin 4; set bmargin 16; set ylabel 'udax / baseline (time)'; \
set title 'udax_mmap against its baselines'; \
plot 'bench/results/mmap.csv' using 5:xtic(strcol(1).' / '.strcol(3)) skip 1 title '', \
'' using 0:5:(sprintf('%.3g', \$5)) skip 1 with labels rotate by 90 left offset 0,0.5 title ''"
echo "plot: bench/results/mmap.png"
build-release/bench/dir_bench "${DIR_BENCH_NAMES:-100000}" bench/results/dir.csv bench/results/dir_sizes.csv
# A logarithmic axis: readdir costs tens of nanoseconds an entry, a create microseconds.
gnuplot -e "set terminal pngcairo noenhanced size 1000,640; set logscale y; set offsets 0,0,graph 0.15,0; \
set output 'bench/results/dir.png'; set datafile separator ','; set style data histogram; \
set style histogram clustered gap 1; set style fill solid; set xtics rotate by 30 right; set bmargin 10; \
set ylabel 'ns per operation'; set title 'directory operations by the size of the directory'; \
plot 'bench/results/dir.csv' using 2:xtic(1) skip 1 title 'udax', '' using 4 skip 1 title 'tmpfs'"
echo "plot: bench/results/dir.png"
build-release/bench/file_bench "${FILE_BENCH_MIB:-64}" bench/results/file.csv bench/results/scaling.csv
# A logarithmic axis: a 64 B write and a 1 MiB one differ by a thousand times; what counts is each bar against 1.
gnuplot -e "set terminal pngcairo noenhanced size 1000,640; set logscale y; set output 'bench/results/file.png'; \
set datafile separator ','; set style data histogram; set style histogram clustered gap 1; set style fill solid; \
set xtics rotate by 30 right; set bmargin 10; set ylabel 'tmpfs time / time (above 1: faster than tmpfs)'; \
set title 'the data path against tmpfs system calls'; set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2; \
plot 'bench/results/file.csv' using 6:xtic(1) skip 1 title 'udax strict', '' using 7 skip 1 title 'udax fast', \
'' using 8 skip 1 title 'memcpy'"
echo "plot: bench/results/file.png"
gnuplot -e "set terminal pngcairo noenhanced size 1000,640; set yrange [0:*]; set offsets 0,0,graph 0.1,0; set output 'bench/results/scaling.png'; \
set datafile separator ','; set style data histogram; set style fill solid; set boxwidth 0.6; \
set xtics rotate by 30 right; set bmargin 12; set ylabel 'two threads / one thread (throughput)'; \
set title 'two threads, each on a file of its own'; set arrow from graph 0, first 1.8 to graph 1, first 1.8 nohead dt 2; \
plot 'bench/results/scaling.csv' using 5:xtic(strcol(1).' / '.strcol(2)) skip 1 title ''"
echo "plot: bench/results/scaling.png"
build-release/bench/access_gap_bench bench/results/access_gap.csv
# A logarithmic axis: a fenced 64 B store costs tens of times a plain one, a read of 4 KiB a fraction more than a copy.
gnuplot -e "set terminal pngcairo noenhanced size 1100,620; set logscale y; set offsets 0,0,graph 0.15,0; \
set output 'bench/results/access_gap.png'; set datafile separator ','; set style data histogram; set style fill solid; \
set boxwidth 0.6; set xtics rotate by 35 right; set lmargin 12; set rmargin 4; set bmargin 19; set xtics font ',9'; \
set ylabel 'time / the back-to-back access of its kind'; set title 'random accesses separated by work or a fence'; \
plot 'bench/results/access_gap.csv' using 4:xtic(1) skip 1 title '', \
'' using 0:4:(sprintf('%.3g', \$4)) skip 1 with labels rotate by 90 left offset 0,0.5 title ''"
echo "plot: bench/results/access_gap.png"
# The FUSE mount against tmpfs and libfuse's passthrough_ll over tmpfs; it mounts both and unmounts them, failures included.
bash bench/fuse_bench.sh build-release bench/results
# fio's jobs through the udax engine against fio's psync and mmap engines on tmpfs; needs the engine in build-release.
bash bench/fio_bench.sh build-release bench/results
bash bench/targets.sh bench/results
