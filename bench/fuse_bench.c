/* fuse_bench.c: small-file and 4 KiB I/O costs through plain system calls in directories (a mount, then its baselines), against a memory copy. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_figures.h"

#define ROUNDS 7
#define PAGE 4096u
#define MAX_TARGETS 3
/* Writes with an fsync each: fewer, since on a FUSE mount every fsync is one more round trip to the daemon. */
#define SYNC_OPS_DIVISOR 16u
#define WARM_PIECE (1u << 20)
#define ORDER_SEED 0x9e3779b97f4a7c15ull

static const char usage[] =
    "usage: fuse_bench [-n FILES] [-m MIB] [-o CSV] NAME=DIR [NAME=DIR...]\n"
    "Runs the workload in a new directory under each DIR, round by round; the first is measured, the\n"
    "others and a memory copy are its baselines. FILES small files (default 10000), one file of MIB MiB\n"
    "(default 256) in 4 KiB I/O; CSV defaults to bench/results/fuse.csv.\n";

/* One directory measured: the tree this run makes under it, and the large file while a round uses it. */
struct target {
    const char *name;
    char root[PATH_MAX];
    int root_fd, small_fd, big_fd;
};

static struct target targets[MAX_TARGETS];
static unsigned target_count, files, pages, sync_ops;
/* The order in which the random phases visit pages, each at most once: the same for every target and every round. */
static uint32_t *page_order;
static char page_out[PAGE], page_in[PAGE], *warm_buffer;

static void remove_trees(void)
{
    for (unsigned i = 0; i < target_count; i++) {
        char command[PATH_MAX + 64];
        snprintf(command, sizeof(command), "rm -rf --one-file-system '%s'", targets[i].root);
        if (targets[i].root[0] && system(command) != 0)
            fprintf(stderr, "fuse_bench: could not remove %s\n", targets[i].root);
    }
}

static void die(const char *what, const struct target *t)
{
    fprintf(stderr, "fuse_bench: %s in %s: %s\n", what, t ? t->root : "-", strerror(errno));
    exit(1);
}

static void name_of(char name[16], unsigned i)
{
    snprintf(name, 16, "f%06u", i);
}

/*
 * Small files. Calls name files relative to a descriptor of their directory,
 * so that a FUSE mount whose names have expired revalidates the file's name
 * alone, not every directory of a path.
 */

static double run_create(struct target *t)
{
    char name[16];
    double start = seconds_now();
    for (unsigned i = 0; i < files; i++) {
        name_of(name, i);
        int fd = openat(t->small_fd, name, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0 || write(fd, page_out, PAGE) != PAGE || close(fd))
            die("create+write+close", t);
    }
    return seconds_now() - start;
}

static double run_stat(struct target *t)
{
    char name[16];
    struct stat st;
    double start = seconds_now();
    for (unsigned i = 0; i < files; i++) {
        name_of(name, i);
        if (fstatat(t->small_fd, name, &st, 0) || st.st_size != PAGE)
            die("stat", t);
    }
    return seconds_now() - start;
}

static double run_read_small(struct target *t)
{
    char name[16];
    double start = seconds_now();
    for (unsigned i = 0; i < files; i++) {
        name_of(name, i);
        int fd = openat(t->small_fd, name, O_RDONLY);
        if (fd < 0 || read(fd, page_in, PAGE) != PAGE || close(fd))
            die("open+read+close", t);
    }
    return seconds_now() - start;
}

static double run_unlink(struct target *t)
{
    char name[16];
    double start = seconds_now();
    for (unsigned i = 0; i < files; i++) {
        name_of(name, i);
        if (unlinkat(t->small_fd, name, 0))
            die("unlink", t);
    }
    return seconds_now() - start;
}

/*
 * 4 KiB I/O on one large file, made anew each round by its sequential write
 * and kept open through the phases after it.
 */

static double run_write_sequential(struct target *t)
{
    if (t->big_fd >= 0 && close(t->big_fd))
        die("close", t);
    if (unlinkat(t->root_fd, "big", 0) && errno != ENOENT)
        die("unlink big", t);
    t->big_fd = openat(t->root_fd, "big", O_CREAT | O_EXCL | O_RDWR, 0644);
    /* No readahead: a random read that misses the page cache reads its own 4 KiB and no more. */
    if (t->big_fd < 0 || posix_fadvise(t->big_fd, 0, 0, POSIX_FADV_RANDOM))
        die("create big", t);
    double start = seconds_now();
    for (unsigned i = 0; i < pages; i++)
        if (write(t->big_fd, page_out, PAGE) != PAGE)
            die("sequential write", t);
    return seconds_now() - start;
}

static double run_overwrite_random(struct target *t)
{
    double start = seconds_now();
    for (unsigned i = 0; i < pages; i++)
        if (pwrite(t->big_fd, page_out, PAGE, (off_t)page_order[i] * PAGE) != PAGE)
            die("random overwrite", t);
    return seconds_now() - start;
}

static double read_random(struct target *t)
{
    double start = seconds_now();
    for (unsigned i = 0; i < pages; i++)
        if (pread(t->big_fd, page_in, PAGE, (off_t)page_order[i] * PAGE) != PAGE)
            die("random read", t);
    return seconds_now() - start;
}

/* Every page is read once first, so that the page cache holds the whole file whatever the writes left in it. */
static double run_read_random_cached(struct target *t)
{
    for (uint64_t offset = 0; offset < (uint64_t)pages * PAGE; offset += WARM_PIECE)
        if (pread(t->big_fd, warm_buffer, WARM_PIECE, (off_t)offset) <= 0)
            die("warming read", t);
    return read_random(t);
}

/*
 * The file's clean pages leave the page cache, so that on a FUSE mount each
 * read goes to the daemon. tmpfs keeps them, its pages being the file itself.
 */
static double run_read_random_dropped(struct target *t)
{
    if (posix_fadvise(t->big_fd, 0, 0, POSIX_FADV_DONTNEED))
        die("fadvise DONTNEED", t);
    return read_random(t);
}

static double run_write_fsync_random(struct target *t)
{
    double start = seconds_now();
    for (unsigned i = 0; i < sync_ops; i++)
        if (pwrite(t->big_fd, page_out, PAGE, (off_t)page_order[i] * PAGE) != PAGE || fsync(t->big_fd))
            die("write+fsync", t);
    return seconds_now() - start;
}

struct phase {
    const char *name;
    double (*run)(struct target *t);
    const unsigned *ops;
};

static const struct phase phases[] = {
    {"create+write+close", run_create, &files},
    {"stat", run_stat, &files},
    {"open+read+close", run_read_small, &files},
    {"unlink", run_unlink, &files},
    {"write_sequential", run_write_sequential, &pages},
    {"overwrite_random", run_overwrite_random, &pages},
    {"read_random_cached", run_read_random_cached, &pages},
    {"read_random_dropped", run_read_random_dropped, &pages},
    {"write+fsync_random", run_write_fsync_random, &sync_ops},
};
#define PHASES (sizeof(phases) / sizeof(phases[0]))

struct step {
    const struct phase *phase;
    struct target *target;
};

static double run_step(void *arg)
{
    const struct step *s = arg;
    return s->phase->run(s->target);
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A permutation, so that a dropped page is read from the daemon once, never from a read just before it. */
static void make_page_order(void)
{
    page_order = malloc(sizeof(*page_order) * pages);
    if (!page_order)
        die("page order", NULL);
    uint64_t state = ORDER_SEED;
    for (unsigned i = 0; i < pages; i++)
        page_order[i] = i;
    for (unsigned i = pages - 1; i > 0; i--) {
        unsigned j = (unsigned)(splitmix64(&state) % (i + 1));
        uint32_t swap = page_order[i];
        page_order[i] = page_order[j];
        page_order[j] = swap;
    }
}

static void add_target(struct target *t, char *spec)
{
    char *equals = strchr(spec, '=');
    if (!equals || equals == spec || !equals[1]) {
        fputs(usage, stderr);
        exit(2);
    }
    *equals = '\0';
    t->name = spec;
    t->big_fd = -1;
    snprintf(t->root, sizeof(t->root), "%s/fuse-bench-%d", equals + 1, (int)getpid());
    if (mkdir(t->root, 0755))
        die("mkdir", t);
    t->root_fd = open(t->root, O_PATH | O_DIRECTORY);
    if (t->root_fd < 0 || mkdirat(t->root_fd, "small", 0755))
        die("mkdir small", t);
    t->small_fd = openat(t->root_fd, "small", O_PATH | O_DIRECTORY);
    if (t->small_fd < 0)
        die("open small", t);
}

int main(int argc, char **argv)
{
    const char *csv_path = "bench/results/fuse.csv";
    unsigned long mib = 256;
    files = 10000;
    for (int opt; (opt = getopt(argc, argv, "n:m:o:")) != -1;) {
        if (opt == 'n')
            files = (unsigned)strtoul(optarg, NULL, 10);
        else if (opt == 'm')
            mib = strtoul(optarg, NULL, 10);
        else if (opt == 'o')
            csv_path = optarg;
        else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind == argc || argc - optind > MAX_TARGETS || !files || !mib || mib > 4096) {
        fputs(usage, stderr);
        return 2;
    }
    pages = (unsigned)((mib << 20) / PAGE);
    sync_ops = pages / SYNC_OPS_DIVISOR ? pages / SYNC_OPS_DIVISOR : 1;
    memset(page_out, 0xab, sizeof(page_out));
    warm_buffer = malloc(WARM_PIECE);
    if (!warm_buffer)
        die("warming buffer", NULL);
    make_page_order();
    atexit(remove_trees);
    for (int i = optind; i < argc; i++)
        add_target(&targets[target_count++], argv[i]);

    struct big_copy copy = {malloc((size_t)mib << 20), malloc((size_t)mib << 20), (uint64_t)mib << 20};
    if (!copy.from || !copy.to)
        die("copy buffers", NULL);
    /* Both copy buffers are faulted in first, so the copy measures memory bandwidth, not page faults. */
    memset(copy.from, 1, copy.bytes);
    memset(copy.to, 2, copy.bytes);

    /* Target by target within a round, so that each phase follows the one before it on its own tree at once. */
    struct step steps[MAX_TARGETS][PHASES];
    struct workload w[MAX_TARGETS * PHASES + 1];
    unsigned count = 0;
    for (unsigned t = 0; t < target_count; t++)
        for (unsigned p = 0; p < PHASES; p++) {
            steps[t][p] = (struct step){&phases[p], &targets[t]};
            w[count++] = (struct workload){.run = run_step, .arg = &steps[t][p]};
        }
    w[count++] = (struct workload){.run = run_big_copy, .arg = &copy};

    printf("fuse_bench: %u files of 4 KiB; a %lu MiB file in 4 KiB I/O (%u writes with fsync); %s measured", files,
           mib, sync_ops, targets[0].name);
    for (unsigned t = 1; t < target_count; t++)
        printf(", %s", targets[t].name);
    printf(" and memcpy as baselines\n");
    /*
     * A first round is thrown away: a pool's pages are first touched by the
     * daemon then, as its allocator moves on through a fresh pool.
     */
    measure_in_rounds(w, count, 1);
    printf("warm-up round done; medians of %d rounds follow\n", ROUNDS);
    fflush(stdout);
    measure_in_rounds(w, count, ROUNDS);

    double copy_ns = w[count - 1].median_s * 1e9 / pages;
    for (unsigned p = 0; p < PHASES; p++) {
        double ops = *phases[p].ops;
        double measured_ns = w[p].median_s * 1e9 / ops;
        for (unsigned t = 1; t < target_count; t++)
            add_figure(phases[p].name, measured_ns, targets[t].name, w[t * PHASES + p].median_s * 1e9 / ops);
        add_figure(phases[p].name, measured_ns, "memcpy_per_4KiB", copy_ns);
    }
    print_figures(20, 14);
    write_csv("fuse_bench", csv_path);

    for (unsigned t = 0; t < target_count; t++)
        if (targets[t].big_fd >= 0)
            close(targets[t].big_fd);
    free(copy.from);
    free(copy.to);
    free(page_order);
    free(warm_buffer);
    return 0;
}
