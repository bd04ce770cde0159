/* dir_bench.c: per-operation cost of create, stat, rename, unlink and readdir in directories of 0 to 100,000 (or 1,000,000) names, on udax and on tmpfs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_exit.h"
#include "bench_figures.h"
#include "udax.h"

#define ROUNDS 15
/* Names created, looked up and unlinked per round on top of the names the directory already holds. */
#define OPS 2000u
#define MAX_WARM_ROUNDS 200
#define SIZE_COUNT 4
#define PHASES 5

static const unsigned sizes[SIZE_COUNT] = {0, 10000, 100000, 1000000};
static const char *const phase_names[PHASES] = {"create+close", "stat", "unlink", "readdir/entry", "rename"};

static char pool_path[128], tree_path[128];

static void remove_files(void)
{
    unlink(pool_path);
    remove_tree(tree_path);
}

/* One directory to measure: /dSIZE of a udax pool, or dSIZE under a tmpfs tree when pool is NULL. */
struct target {
    struct udax_pool *pool;
    char dir[160];
};

static void path_of(const struct target *t, char *path, size_t size, const char *prefix, unsigned i)
{
    snprintf(path, size, "%s/%s%07u", t->dir, prefix, i);
}

static void create_file(const struct target *t, const char *prefix, unsigned i)
{
    char path[200];
    path_of(t, path, sizeof(path), prefix, i);
    int fd = t->pool ? udax_open(t->pool, path, O_CREAT | O_EXCL | O_WRONLY, 0644)
                     : open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0 || (t->pool ? udax_close(t->pool, fd) : close(fd)))
        die("create");
}

static void stat_file(const struct target *t, const char *prefix, unsigned i)
{
    char path[200];
    struct stat st;
    path_of(t, path, sizeof(path), prefix, i);
    if (t->pool ? udax_stat(t->pool, path, &st) : stat(path, &st))
        die("stat");
}

static void unlink_file(const struct target *t, const char *prefix, unsigned i)
{
    char path[200];
    path_of(t, path, sizeof(path), prefix, i);
    if (t->pool ? udax_unlink(t->pool, path) : unlink(path))
        die("unlink");
}

/* Renames within the directory, to a name that does not exist yet. */
static void rename_file(const struct target *t, const char *from_prefix, const char *to_prefix, unsigned i)
{
    char from[200], to[200];
    path_of(t, from, sizeof(from), from_prefix, i);
    path_of(t, to, sizeof(to), to_prefix, i);
    if (t->pool ? udax_rename(t->pool, from, to) : rename(from, to))
        die("rename");
}

static unsigned long list_dir(const struct target *t)
{
    unsigned long entries = 0;
    if (t->pool) {
        UDAX_DIR *dir = udax_opendir(t->pool, t->dir);
        if (!dir)
            die("opendir");
        while (udax_readdir(t->pool, dir))
            entries++;
        udax_closedir(t->pool, dir);
    } else {
        DIR *dir = opendir(t->dir);
        if (!dir)
            die("tmpfs opendir");
        while (readdir(dir))
            entries++;
        closedir(dir);
    }
    return entries;
}

/* One round at one size: ns per create, stat, rename, unlink, and per entry of a full listing while the OPS names exist. */
static void measure_round(const struct target *t, unsigned names, double ns[PHASES])
{
    double start = seconds_now();
    for (unsigned i = 0; i < OPS; i++)
        create_file(t, "op", i);
    ns[0] = (seconds_now() - start) * 1e9 / OPS;

    start = seconds_now();
    for (unsigned i = 0; i < OPS; i++)
        stat_file(t, "op", i);
    ns[1] = (seconds_now() - start) * 1e9 / OPS;

    start = seconds_now();
    unsigned long entries = list_dir(t);
    ns[3] = (seconds_now() - start) * 1e9 / (double)entries;
    if (entries != names + OPS + 2)
        die("listing count");

    start = seconds_now();
    for (unsigned i = 0; i < OPS; i++)
        rename_file(t, "op", "rn", i);
    ns[4] = (seconds_now() - start) * 1e9 / OPS;

    start = seconds_now();
    for (unsigned i = 0; i < OPS; i++)
        unlink_file(t, "rn", i);
    ns[2] = (seconds_now() - start) * 1e9 / OPS;
}

static long minor_faults(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

/*
 * The allocator hands out blocks next-fit, so a create first touches pool
 * pages that this process has not mapped yet, and pays for mapping them,
 * which has nothing to do with the directory, until the allocator wraps round to
 * pages freed earlier. Passes over every size run until one takes almost no
 * fault, so that every size is measured alike; the count of passes is returned.
 */
static int warm_up(struct target targets[][2], unsigned measured)
{
    double ns[PHASES];
    for (unsigned s = 0; s < measured; s++)
        measure_round(&targets[s][1], sizes[s], ns);
    for (int pass = 1; pass <= MAX_WARM_ROUNDS; pass++) {
        long before = minor_faults();
        for (unsigned s = 0; s < measured; s++)
            measure_round(&targets[s][0], sizes[s], ns);
        if (minor_faults() - before < OPS / 20)
            return pass;
    }
    return MAX_WARM_ROUNDS;
}

int main(int argc, char **argv)
{
    unsigned long largest = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    const char *csv_path = argc > 2 ? argv[2] : "bench/results/dir.csv";
    const char *sizes_csv_path = argc > 3 ? argv[3] : "bench/results/dir_sizes.csv";
    if (argc > 4 || (largest != 100000 && largest != 1000000)) {
        fprintf(stderr, "usage: %s [LARGEST: 100000 (default) or 1000000] [CSV] [SIZES_CSV]\n", argv[0]);
        return 2;
    }
    snprintf(pool_path, sizeof(pool_path), "/dev/shm/udax-dir-bench-%d.pool", (int)getpid());
    snprintf(tree_path, sizeof(tree_path), "/dev/shm/udax-dir-bench-%d.tree", (int)getpid());
    atexit(remove_files);

    /* Every file takes one 4 KiB log page; an eighth more and 256 MiB leave room for the directories' logs. */
    unsigned measured = 0;
    while (measured < SIZE_COUNT && sizes[measured] <= largest)
        measured++;
    uint64_t inodes = SIZE_COUNT * OPS + 64;
    for (unsigned s = 0; s < measured; s++)
        inodes += sizes[s];
    struct udax_mkfs_options opts = {.inode_count = inodes};
    if (udax_pool_create(pool_path, inodes * 4608 + (256ull << 20), &opts))
        die("mkfs");
    struct udax_pool *pool = udax_pool_open(pool_path, NULL);
    if (!pool)
        die("open");
    if (mkdir(tree_path, 0755))
        die("tmpfs mkdir");

    /*
     * A directory of each size on each file system, all filled first, so that
     * every round can visit every size: a change in the load of the machine
     * then falls on the empty directory and the full one alike, which the
     * ratio between them needs as much as the ratio to tmpfs does.
     */
    struct target targets[SIZE_COUNT][2];
    for (unsigned s = 0; s < measured; s++) {
        targets[s][0] = (struct target){.pool = pool};
        snprintf(targets[s][0].dir, sizeof(targets[s][0].dir), "/d%u", sizes[s]);
        targets[s][1] = (struct target){0};
        snprintf(targets[s][1].dir, sizeof(targets[s][1].dir), "%s/d%u", tree_path, sizes[s]);
        if (udax_mkdir(pool, targets[s][0].dir, 0755) || mkdir(targets[s][1].dir, 0755))
            die("mkdir");
        for (unsigned i = 0; i < sizes[s]; i++) {
            create_file(&targets[s][0], "f", i);
            create_file(&targets[s][1], "f", i);
        }
    }
    printf("measuring, after %d warm-up passes over every size\n", warm_up(targets, measured));
    fflush(stdout);

    static char workloads[SIZE_COUNT * PHASES][48];
    static double samples[SIZE_COUNT][2][PHASES][ROUNDS];
    double medians[SIZE_COUNT][2][PHASES];
    for (int round = 0; round < ROUNDS; round++)
        for (unsigned s = 0; s < measured; s++)
            for (int which = 0; which < 2; which++) {
                double ns[PHASES];
                measure_round(&targets[s][which], sizes[s], ns);
                for (int p = 0; p < PHASES; p++)
                    samples[s][which][p][round] = ns[p];
            }
    for (unsigned s = 0; s < measured; s++)
        for (int which = 0; which < 2; which++)
            for (int p = 0; p < PHASES; p++)
                medians[s][which][p] = median_of_rounds(samples[s][which][p], ROUNDS);

    /* Each ratio is the median of the ratios of two runs in one round: the rounds visit every size on both. */
    for (int p = 0; p < PHASES; p++)
        for (unsigned s = 0; s < measured; s++) {
            char *name = workloads[p * SIZE_COUNT + s];
            snprintf(name, sizeof(workloads[0]), "%s @%u", phase_names[p], sizes[s]);
            add_paired_figure(name, medians[s][0][p], "tmpfs", medians[s][1][p],
                              median_ratio(samples[s][0][p], samples[s][1][p], ROUNDS));
        }
    print_figures(24, 6);

    FILE *sizes_csv = fopen(sizes_csv_path, "w");
    if (!sizes_csv)
        die(sizes_csv_path);
    fprintf(sizes_csv, "workload,names,udax_over_empty,tmpfs_over_empty\n");
    printf("\nper-op cost against the empty directory (same file system)\n");
    printf("%-14s %8s %10s %10s\n", "workload", "names", "udax", "tmpfs");
    for (int p = 0; p < PHASES; p++)
        for (unsigned s = 1; s < measured; s++) {
            double udax = median_ratio(samples[s][0][p], samples[0][0][p], ROUNDS);
            double tmpfs = median_ratio(samples[s][1][p], samples[0][1][p], ROUNDS);
            printf("%-14s %8u %10.3f %10.3f\n", phase_names[p], sizes[s], udax, tmpfs);
            fprintf(sizes_csv, "%s,%u,%.4f,%.4f\n", phase_names[p], sizes[s], udax, tmpfs);
        }
    fclose(sizes_csv);
    write_csv("dir_bench", csv_path);
    printf("results: %s\n", sizes_csv_path);

    if (udax_pool_close(pool))
        die("close");
    return 0;
}
