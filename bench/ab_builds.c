/* ab_builds.c: an A/B comparison of two builds of libudax in one process, for changes smaller than the machine's drift. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_random.h"
#include "udax.h"

/*
 * Not a benchmark against udax's baselines: both sides are udax. This
 * machine's speed moves by a third between runs of one program, which hides
 * a change worth 3 percent; here the two builds' rounds alternate a few
 * milliseconds apart, and the median of the per-round ratios keeps what the
 * drift does not touch. bench/ab_builds.sh builds the two libraries.
 */

#define FILE_BYTES (64ULL << 20)
#define PIECE (1 << 20)
#define PAGE 4096
#define LINE 64
#define WARM_ROUNDS 10

struct build {
    void *handle;
    int (*pool_create)(const char *, uint64_t, const struct udax_mkfs_options *);
    struct udax_pool *(*pool_open)(const char *, const struct udax_open_options *);
    int (*pool_close)(struct udax_pool *);
    int (*open)(struct udax_pool *, const char *, int, ...);
    int (*close)(struct udax_pool *, int);
    int (*unlink)(struct udax_pool *, const char *);
    int (*ftruncate)(struct udax_pool *, int, off_t);
    ssize_t (*write)(struct udax_pool *, int, const void *, size_t);
    ssize_t (*pwrite)(struct udax_pool *, int, const void *, size_t, off_t);
    ssize_t (*pread)(struct udax_pool *, int, void *, size_t, off_t);
    struct udax_pool *pool;
    char pool_path[64];
    int fd, append_fd;
    uint64_t appended, random;
};

enum ab_workload { APPEND, OVERWRITE, READ, CREATE, WRITE64 };
static const char *const workload_names[] = {"append", "overwrite", "read", "create", "write64"};

static char source[PIECE], sink[PIECE];
static struct build build_a, build_b;

/* At exit, however the run ends: the pools it made, 1 GiB of /dev/shm each. */
static void remove_pools(void)
{
    if (build_a.pool_path[0])
        unlink(build_a.pool_path);
    if (build_b.pool_path[0])
        unlink(build_b.pool_path);
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "ab_builds: %s: %s\n", what, detail);
    exit(1);
}

static void *symbol(struct build *b, const char *name)
{
    void *s = dlsym(b->handle, name);
    if (!s)
        fail(name, dlerror());
    return s;
}

static void load(struct build *b, const char *library, char side)
{
    b->handle = dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!b->handle)
        fail(library, dlerror());
    *(void **)&b->pool_create = symbol(b, "udax_pool_create");
    *(void **)&b->pool_open = symbol(b, "udax_pool_open");
    *(void **)&b->pool_close = symbol(b, "udax_pool_close");
    *(void **)&b->open = symbol(b, "udax_open");
    *(void **)&b->close = symbol(b, "udax_close");
    *(void **)&b->unlink = symbol(b, "udax_unlink");
    *(void **)&b->ftruncate = symbol(b, "udax_ftruncate");
    *(void **)&b->write = symbol(b, "udax_write");
    *(void **)&b->pwrite = symbol(b, "udax_pwrite");
    *(void **)&b->pread = symbol(b, "udax_pread");
    snprintf(b->pool_path, sizeof(b->pool_path), "/dev/shm/udax-ab-%d-%c.pool", (int)getpid(), side);
    struct udax_mkfs_options opts = {.data_mode = UDAX_DATA_FAST};
    if (b->pool_create(b->pool_path, 1ULL << 30, &opts) || !(b->pool = b->pool_open(b->pool_path, NULL)))
        fail(b->pool_path, "cannot make the pool");
    b->fd = b->open(b->pool, "/file", O_CREAT | O_RDWR, 0644);
    for (uint64_t offset = 0; b->fd >= 0 && offset < FILE_BYTES; offset += PIECE)
        if (b->pwrite(b->pool, b->fd, source, PIECE, (off_t)offset) != PIECE)
            fail(b->pool_path, "cannot fill the file");
    b->append_fd = b->open(b->pool, "/log", O_CREAT | O_WRONLY | O_APPEND, 0644);
    if (b->fd < 0 || b->append_fd < 0)
        fail(b->pool_path, "cannot open the files");
    b->random = RANDOM_SEED;
}

static uint64_t next_page(struct build *b)
{
    b->random = xorshift(b->random);
    return scaled(b->random, FILE_BYTES / PAGE) * PAGE;
}

static uint64_t next_line(struct build *b)
{
    b->random = xorshift(b->random);
    return scaled(b->random, FILE_BYTES / LINE) * LINE;
}

static void one(struct build *b, enum ab_workload w, unsigned i)
{
    char name[32];
    bool done = false;
    switch (w) {
    case APPEND:
        done = b->write(b->pool, b->append_fd, source + i % (PIECE / PAGE) * PAGE, PAGE) == PAGE;
        break;
    case OVERWRITE:
        done = b->pwrite(b->pool, b->fd, source + i % (PIECE / PAGE) * PAGE, PAGE, (off_t)next_page(b)) == PAGE;
        break;
    case READ:
        done = b->pread(b->pool, b->fd, sink + i % (PIECE / PAGE) * PAGE, PAGE, (off_t)next_page(b)) == PAGE;
        break;
    case WRITE64:
        done = b->pwrite(b->pool, b->fd, source + i % (PIECE / LINE) * LINE, LINE, (off_t)next_line(b)) == LINE;
        break;
    case CREATE:
        snprintf(name, sizeof(name), "/n%u", i);
        int fd = b->open(b->pool, name, O_CREAT | O_EXCL | O_WRONLY, 0644);
        done = fd >= 0 && b->close(b->pool, fd) == 0;
        break;
    }
    if (!done)
        fail(workload_names[w], "a call failed");
}

/* Nanoseconds per call over a round; what a round leaves (names, a long log) goes untimed. */
static double round_ns(struct build *b, enum ab_workload w, unsigned calls)
{
    double start = seconds_now();
    for (unsigned i = 0; i < calls; i++)
        one(b, w, i);
    double ns = (seconds_now() - start) / calls * 1e9;
    char name[32];
    if (w == CREATE)
        for (unsigned i = 0; i < calls; i++) {
            snprintf(name, sizeof(name), "/n%u", i);
            b->unlink(b->pool, name);
        }
    if (w == APPEND && (b->appended += calls) * PAGE >= FILE_BYTES) {
        b->ftruncate(b->pool, b->append_fd, 0);
        b->appended = 0;
    }
    return ns;
}

/* The workload called name, or -1. */
static int workload_named(const char *name)
{
    for (int w = APPEND; w <= WRITE64; w++)
        if (!strcmp(name, workload_names[w]))
            return w;
    return -1;
}

int main(int argc, char **argv)
{
    int named = argc == 4 ? workload_named(argv[3]) : -1;
    if (named < 0) {
        fprintf(stderr, "usage: ab_builds LIBUDAX_A.so LIBUDAX_B.so append|overwrite|read|create|write64\n"
                        "  environment: ROUNDS (default 200), CALLS per round (default 2048)\n");
        return 2;
    }
    enum ab_workload w = (enum ab_workload)named;
    unsigned rounds = getenv("ROUNDS") ? (unsigned)atoi(getenv("ROUNDS")) : 200;
    unsigned calls = getenv("CALLS") ? (unsigned)atoi(getenv("CALLS")) : 2048;
    if (!rounds || !calls || calls > 1000000)
        fail("ROUNDS, CALLS", "out of range");
    memset(source, 0x5a, sizeof(source));
    atexit(remove_pools);
    load(&build_a, argv[1], 'a');
    load(&build_b, argv[2], 'b');
    double *ratio = calloc(rounds, sizeof(*ratio)), *ns_a = calloc(rounds, sizeof(*ns_a)),
           *ns_b = calloc(rounds, sizeof(*ns_b));
    if (!ratio || !ns_a || !ns_b)
        fail("calloc", "out of memory");
    for (unsigned r = 0; r < WARM_ROUNDS; r++) {
        round_ns(&build_a, w, calls);
        round_ns(&build_b, w, calls);
    }
    /* Each build goes first in every other round, so that neither always finds the caches as the other left them. */
    for (unsigned r = 0; r < rounds; r++) {
        if (r % 2) {
            ns_b[r] = round_ns(&build_b, w, calls);
            ns_a[r] = round_ns(&build_a, w, calls);
        } else {
            ns_a[r] = round_ns(&build_a, w, calls);
            ns_b[r] = round_ns(&build_b, w, calls);
        }
        ratio[r] = ns_b[r] / ns_a[r];
    }
    qsort(ratio, rounds, sizeof(*ratio), compare_doubles);
    qsort(ns_a, rounds, sizeof(*ns_a), compare_doubles);
    qsort(ns_b, rounds, sizeof(*ns_b), compare_doubles);
    printf("%s: A %.0f ns, B %.0f ns (medians); B/A median %.3f, quartiles %.3f and %.3f, over %u rounds\n",
           workload_names[w], ns_a[rounds / 2], ns_b[rounds / 2], ratio[rounds / 2], ratio[rounds / 4],
           ratio[3 * rounds / 4], rounds);
    build_a.pool_close(build_a.pool);
    build_b.pool_close(build_b.pool);
    free(ratio);
    free(ns_a);
    free(ns_b);
    return 0;
}
