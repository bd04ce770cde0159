#!/usr/bin/env bash
# fio_bench.sh: the same fio jobs through the udax engine on pools (strict and fast) and through fio's psync and mmap
# engines on tmpfs, with fio's null engine for fio's own cost; prints a table of ratios, writes a CSV and a plot.
# usage: bench/fio_bench.sh BUILD_DIR RESULTS_DIR; FIO_BENCH_MIB (each job's file) and FIO_BENCH_SECONDS (each run).
set -euo pipefail
build=$1
results=$2
engine=$build/bench/fio/udax_fio.so
if [ ! -f "$engine" ]; then
    echo "fio_bench.sh: no $engine: this build left the fio engine out (meson setup says why)" >&2
    exit 1
fi
jobfile=$(dirname "$0")/fio/bench.fio
csv=$results/fio.csv
file_mib=${FIO_BENCH_MIB:-256}

work=$(mktemp -d /dev/shm/udax-fio-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tmpfs" "$work/json"
# Two jobs' files, and room for strict mode's copy-on-write beside them.
pool_mib=$((file_mib * 4 + 256))
"$build/udax" mkfs "$work/strict.pool" --size "${pool_mib}M" --data=strict >/dev/null
"$build/udax" mkfs "$work/fast.pool" --size "${pool_mib}M" --data=fast >/dev/null
export FIO_BENCH_ENGINE
FIO_BENCH_ENGINE=$(realpath "$engine")
export FIO_BENCH_STRICT_POOL=$work/strict.pool FIO_BENCH_FAST_POOL=$work/fast.pool FIO_BENCH_TMPFS=$work/tmpfs
export FIO_BENCH_SIZE=${file_mib}M FIO_BENCH_SECONDS=${FIO_BENCH_SECONDS:-3}

# name, fio's rw and bs; reads first, so that the files they lay out are in place for the writes.
workloads=("randread_4k randread 4k" "read_1m read 1m" "randwrite_4k randwrite 4k" "randwrite_64 randwrite 64"
    "write_1m write 1m")
sections=(udax_strict udax_fast psync mmap null)
for workload in "${workloads[@]}"; do
    read -r name rw bs <<<"$workload"
    for jobs in 1 2; do
        for section in "${sections[@]}"; do
            echo "fio_bench.sh: $name, $jobs job(s), $section"
            FIO_BENCH_RW=$rw FIO_BENCH_BS=$bs FIO_BENCH_JOBS=$jobs fio --section="$section" --output-format=json \
                --output="$work/json/$name.$jobs.$section.json" "$jobfile"
        done
    done
done

mkdir -p "$results"
python3 - "$work/json" "$csv" "${workloads[@]}" <<'EOF'
import json
import sys

json_dir, csv_path, workloads = sys.argv[1], sys.argv[2], [w.split()[0] for w in sys.argv[3:]]
sections = ["udax_strict", "udax_fast", "psync", "mmap", "null"]


def ns_per_operation(name, jobs, section):
    """1e9 / the IOPS of all the run's jobs together (fio's group_reporting sums them)."""
    with open(f"{json_dir}/{name}.{jobs}.{section}.json") as f:
        job = json.load(f)["jobs"][0]
    iops = job["read"]["iops"] + job["write"]["iops"]
    return 1e9 / iops


rows = []
for name in workloads:
    for jobs in (1, 2):
        ns = {s: ns_per_operation(name, jobs, s) for s in sections}
        rows.append((name, jobs, ns))

ratios = [("udax_strict", "psync"), ("udax_fast", "psync"), ("udax_strict", "mmap"), ("udax_fast", "mmap")]
print("\nns per operation (1e9 / IOPS of all jobs); ratios are udax / baseline, in time")
header = f"{'workload':<14} {'jobs':>4}" + "".join(f" {s:>12}" for s in sections)
header += "".join(f" {a.replace('udax_', '') + '/' + b:>13}" for a, b in ratios)
print(header)
with open(csv_path, "w") as csv:
    csv.write("workload,jobs," + ",".join(f"{s}_ns" for s in sections) + ","
              + ",".join(f"{a}_over_{b}" for a, b in ratios) + "\n")
    for name, jobs, ns in rows:
        line = f"{name:<14} {jobs:>4}" + "".join(f" {ns[s]:>12.1f}" for s in sections)
        line += "".join(f" {ns[a] / ns[b]:>13.3g}" for a, b in ratios)
        print(line)
        csv.write(f"{name},{jobs}," + ",".join(f"{ns[s]:.1f}" for s in sections) + ","
                  + ",".join(f"{ns[a] / ns[b]:.6g}" for a, b in ratios) + "\n")
print(f"results: {csv_path}")
EOF

# A logarithmic axis: a 64-byte write costs tens of nanoseconds in place, a 1 MiB copy a hundred microseconds.
gnuplot -e "set terminal pngcairo noenhanced size 1100,640; set output '$results/fio.png'; set datafile separator ','; \
set logscale y; set offsets 0,0,graph 0.1,0; set style data histogram; set style histogram clustered gap 1; \
set style fill solid; set xtics rotate by 30 right; set bmargin 8; set key top left; \
set ylabel 'ns per operation (1e9 / IOPS of all jobs)'; set title 'fio: the udax engine against psync, mmap and null'; \
plot '$csv' skip 1 using 3:xtic(strcol(1).', '.strcol(2).(\$2 > 1 ? ' jobs' : ' job')) title 'udax, strict pool', \
'' skip 1 using 4 title 'udax, fast pool', '' skip 1 using 5 title 'psync on tmpfs', \
'' skip 1 using 6 title 'mmap on tmpfs (memcpy)', '' skip 1 using 7 title 'null (fio alone)'"
echo "plot: $results/fio.png"
