/* dir_bench.c: per-operation cost of create, stat, rename, unlink and readdir as a directory grows, on udax and on tmpfs. */
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

#define ROUNDS 9
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

/* One directory to measure: /d of a udax pool, or d under a tmpfs tree when pool is NULL. */
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
 * pages freed earlier. Rounds run until one takes almost no fault, so that
 * every size is measured alike; the count of rounds that took is returned.
 */
static int warm_up(const struct target *udax, const struct target *tmpfs, unsigned names)
{
    double ns[PHASES];
    measure_round(tmpfs, names, ns);
    for (int round = 1; round <= MAX_WARM_ROUNDS; round++) {
        long before = minor_faults();
        measure_round(udax, names, ns);
        if (minor_faults() - before < OPS / 20)
            return round;
    }
    return MAX_WARM_ROUNDS;
}

int main(int argc, char **argv)
{
    unsigned long largest = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    const char *csv_path = argc > 2 ? argv[2] : "bench/results/dir.csv";
    if (largest != 100000 && largest != 1000000) {
        fprintf(stderr, "usage: %s [LARGEST: 100000 (default) or 1000000] [CSV]\n", argv[0]);
        return 2;
    }
    snprintf(pool_path, sizeof(pool_path), "/dev/shm/udax-dir-bench-%d.pool", (int)getpid());
    snprintf(tree_path, sizeof(tree_path), "/dev/shm/udax-dir-bench-%d.tree", (int)getpid());
    atexit(remove_files);

    /* Every file takes one 4 KiB log page; an eighth more and 256 MiB leave room for the directory's log. */
    uint64_t inodes = largest + OPS + 64;
    struct udax_mkfs_options opts = {.inode_count = inodes};
    if (udax_pool_create(pool_path, inodes * 4608 + (256ull << 20), &opts))
        die("mkfs");
    struct target udax = {.pool = udax_pool_open(pool_path, NULL)}, tmpfs = {0};
    if (!udax.pool)
        die("open");
    snprintf(udax.dir, sizeof(udax.dir), "/d");
    if (udax_mkdir(udax.pool, udax.dir, 0755))
        die("mkdir");
    snprintf(tmpfs.dir, sizeof(tmpfs.dir), "%s/d", tree_path);
    if (mkdir(tree_path, 0755) || mkdir(tmpfs.dir, 0755))
        die("tmpfs mkdir");

    static char workloads[SIZE_COUNT * PHASES][48];
    double medians[SIZE_COUNT][2][PHASES];
    unsigned measured = 0;
    for (unsigned s = 0; s < SIZE_COUNT && sizes[s] <= largest; s++, measured++) {
        unsigned from = s ? sizes[s - 1] : 0;
        for (unsigned i = from; i < sizes[s]; i++) {
            create_file(&udax, "f", i);
            create_file(&tmpfs, "f", i);
        }
        int warm_rounds = warm_up(&udax, &tmpfs, sizes[s]);
        /* udax and tmpfs take turns each round, so that a change in the load of the machine falls on both. */
        double samples[2][PHASES][ROUNDS];
        for (int round = 0; round < ROUNDS; round++) {
            double ns[PHASES];
            for (int which = 0; which < 2; which++) {
                measure_round(which ? &tmpfs : &udax, sizes[s], ns);
                for (int p = 0; p < PHASES; p++)
                    samples[which][p][round] = ns[p];
            }
        }
        for (int which = 0; which < 2; which++)
            for (int p = 0; p < PHASES; p++)
                medians[s][which][p] = median(samples[which][p], ROUNDS);
        printf("measured %u names, after %d warm-up rounds\n", sizes[s], warm_rounds);
        fflush(stdout);
    }

    for (int p = 0; p < PHASES; p++)
        for (unsigned s = 0; s < measured; s++) {
            char *name = workloads[p * SIZE_COUNT + s];
            snprintf(name, sizeof(workloads[0]), "%s @%u", phase_names[p], sizes[s]);
            add_figure(name, medians[s][0][p], "tmpfs", medians[s][1][p]);
        }
    print_figures(24, 6);

    printf("\nper-op cost against the empty directory (same file system)\n");
    printf("%-14s %8s %10s %10s\n", "workload", "names", "udax", "tmpfs");
    for (int p = 0; p < PHASES; p++)
        for (unsigned s = 1; s < measured; s++)
            printf("%-14s %8u %10.3f %10.3f\n", phase_names[p], sizes[s], medians[s][0][p] / medians[0][0][p],
                   medians[s][1][p] / medians[0][1][p]);
    write_csv("dir_bench", csv_path);

    if (udax_pool_close(udax.pool))
        die("close");
    return 0;
}
