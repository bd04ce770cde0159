#!/usr/bin/env bash
# Checks issue 8's targets against the CSVs of file_bench and dir_bench: prints a table, writes targets.csv and a plot.
set -euo pipefail
results=${1:-bench/results}
file_csv=$results/file.csv scaling_csv=$results/scaling.csv dir_csv=$results/dir.csv sizes_csv=$results/dir_sizes.csv
for csv in "$file_csv" "$scaling_csv" "$dir_csv" "$sizes_csv"; do
    [ -f "$csv" ] || { echo "targets: $csv is missing; run scripts/bench.sh first" >&2; exit 2; }
done

# Each row: target, udax data mode, the measured ratio, the bound, and whether the ratio must be at least or at most it.
# Every ratio is one the benchmarks took as the median of the ratios of two runs in one round.
awk -F, -v file_csv="$file_csv" -v scaling_csv="$scaling_csv" -v dir_csv="$dir_csv" -v sizes_csv="$sizes_csv" '
function row(name, mode, value, bound, at_least) {
    met = at_least ? value >= bound : value <= bound
    printf "%s,%s,%.3f,%s%s,%s\n", name, mode, value, at_least ? ">=" : "<=", bound, met ? "met" : "missed"
}
FILENAME == file_csv && FNR > 1 {
    faster["udax_strict", $1] = $6; faster["udax_fast", $1] = $7; over_memory["udax_strict", $1] = $9
    over_memory["udax_fast", $1] = $10
}
FILENAME == scaling_csv && FNR > 1 { speedup[$1 "/" $2] = $5 }
FILENAME == dir_csv && FNR > 1 { over_tmpfs[$1] = $5 }
FILENAME == sizes_csv && FNR > 1 { over_empty[$1 " @" $2] = $3 }
END {
    print "target,mode,measured,bound,result"
    split("udax_strict udax_fast", modes, " ")
    for (m = 1; m <= 2; m++) {
        mode = modes[m]
        row("4KiB random read / 4KiB memcpy", mode, over_memory[mode, "4KiB random read"], 1.3, 0)
        row("tmpfs / udax: 64B random write", mode, faster[mode, "64B random write"], 5, 1)
        row("tmpfs / udax: 4KiB append", mode, faster[mode, "4KiB append"], 2, 1)
        row("tmpfs / udax: 4KiB random overwrite", mode, faster[mode, "4KiB random overwrite"], 1.5, 1)
        row("2 threads / 1: 4KiB random overwrite", mode, speedup["4KiB random overwrite/" mode], 1.8, 1)
        row("2 threads / 1: 4KiB append", mode, speedup["4KiB append/" mode], 1.8, 1)
        row("2 threads / 1: 4KiB random read", mode, speedup["4KiB random read/" mode], 1.8, 1)
    }
    row("tmpfs / udax: create+close in 100000", "any", 1 / over_tmpfs["create+close @100000"], 3, 1)
    row("tmpfs / udax: unlink in 100000", "any", 1 / over_tmpfs["unlink @100000"], 3, 1)
    row("create+close: in 100000 / in empty", "any", over_empty["create+close @100000"], 1.2, 0)
}' "$file_csv" "$scaling_csv" "$dir_csv" "$sizes_csv" >"$results/targets.csv"

column -s, -t "$results/targets.csv"
echo "$(grep -c ',met$' "$results/targets.csv") met, $(grep -c ',missed$' "$results/targets.csv") missed"

# The plot shows each measured ratio over its bound, turned so that above 1 is always better.
gnuplot -e "set terminal pngcairo noenhanced size 1100,640; set output '$results/targets.png'; \
set datafile separator ','; set style data histogram; set style fill solid; set boxwidth 0.6; set logscale y; \
set xtics rotate by 35 right; set bmargin 16; set lmargin 24; set ylabel 'margin over the target (above 1: met)'; \
set title 'issue 8 targets'; set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2; \
plot '$results/targets.csv' using (strcol(4)[1:1] eq '>' ? \$3 / real(strcol(4)[3:]) : real(strcol(4)[3:]) / \$3):xtic(strcol(1).' ('.strcol(2).')') skip 1 title ''"
echo "plot: $results/targets.png"
