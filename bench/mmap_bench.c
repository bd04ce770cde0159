/* mmap_bench.c: udax_mmap's first touch, steady-state access, fault latency and window reclaim, against tmpfs mmap and a memory copy. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_exit.h"
#include "bench_figures.h"
#include "bench_random.h"
#include "udax.h"

#define ROUNDS 5

#define PAGE 4096ull
#define HUGE_PAGE (2ull << 20)
#define WRITE_PIECE HUGE_PAGE

/* The library's default budget, given so that UDAX_WINDOW_RANGES in the environment leaves the figures alone. */
#define WINDOW_RANGES 16384u

#define RANDOM_OPS (1u << 21)

/* 4 KiB faults per run: 32 MiB, well inside the budget, so that no fault waits for reclaim. */
#define SMALL_FAULTS 8192u

#define CHURN_RANGES 4u
#define CHURN_BYTES (64ull << 20)
#define CHURN_TOUCHES 1024u


static char pool_path[128], churn_pool_path[128], tmpfs_path[128];

/* Registered with atexit, so that a run that dies leaves no pool in /dev/shm either. */
static void remove_files(void)
{
    unlink(pool_path);
    unlink(churn_pool_path);
    unlink(tmpfs_path);
}

/* Where the loops' loads end up, so that the compiler keeps them. */
static volatile uint64_t loaded_sum;

/* Page faults of this thread only: the service threads of udax take none of the application's. */
static long minor_faults(void)
{
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    return usage.ru_minflt;
}

/* A file of a pool, written front to back in 2 MiB pieces so that its blocks are 2 MiB-aligned chunks. */
struct udax_file {
    struct udax_pool *pool;
    int fd;
    uint64_t bytes;
};

static void open_udax_file(struct udax_file *f, const char *path, uint64_t ranges, const char *piece)
{
    /* A fifth more than the file, for the logs, inode table and allocator, rounded to whole 2 MiB. */
    uint64_t pool_bytes = (f->bytes + f->bytes / 5 + (16ull << 20)) & ~(HUGE_PAGE - 1);
    struct udax_mkfs_options mkfs = {.data_mode = UDAX_DATA_FAST};
    if (udax_pool_create(path, pool_bytes, &mkfs))
        die("mkfs");
    struct udax_open_options opts = {.window_ranges = ranges};
    f->pool = udax_pool_open(path, &opts);
    if (!f->pool)
        die("open pool");
    f->fd = udax_open(f->pool, "/bench", O_CREAT | O_RDWR, 0644);
    if (f->fd < 0)
        die("create file");
    for (uint64_t offset = 0; offset < f->bytes; offset += WRITE_PIECE)
        if (udax_pwrite(f->pool, f->fd, piece, WRITE_PIECE, (off_t)offset) != (ssize_t)WRITE_PIECE)
            die("udax_pwrite");
}

static void close_udax_file(struct udax_file *f)
{
    if (udax_close(f->pool, f->fd) || udax_pool_close(f->pool))
        die("close pool");
}

static unsigned char *udax_map(struct udax_file *f, void *addr, uint64_t bytes, int flags)
{
    void *map = udax_mmap(f->pool, addr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | flags, f->fd, 0);
    if (map == MAP_FAILED)
        die("udax_mmap");
    return map;
}

/*
 * Maps the start of the file at an address 4 KiB past a 2 MiB boundary: no
 * 2 MiB span of the file then lines up with one of the address space, so
 * every fault maps 4 KiB although the blocks are 2 MiB chunks.
 */
static unsigned char *udax_map_misaligned(struct udax_file *f, uint64_t bytes)
{
    uint64_t over = bytes + 2 * HUGE_PAGE;
    char *base = mmap(NULL, over, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        die("reserve address space");
    char *at = (char *)((((uintptr_t)base + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1)) + PAGE);
    unsigned char *map = udax_map(f, at, bytes, MAP_FIXED);
    /* Only the udax mapping stays, so that udax_munmap alone takes it all down. */
    munmap(base, (size_t)(at - base));
    munmap(at + bytes, (size_t)(base + over - (at + bytes)));
    return map;
}

static void udax_unmap(struct udax_file *f, unsigned char *map, uint64_t bytes)
{
    if (udax_munmap(f->pool, map, bytes))
        die("udax_munmap");
}

static struct udax_window_stats window_stats(struct udax_file *f)
{
    struct udax_window_stats stats;
    if (udax_window_stats(f->pool, &stats))
        die("udax_window_stats");
    return stats;
}

/* What the window did over some runs: the differences of udax_window_stats, summed. */
struct window_counts {
    uint64_t faults, huge_faults, backoffs, reclaimed;
};

static void count_since(struct window_counts *c, struct udax_file *f, const struct udax_window_stats *before)
{
    struct udax_window_stats after = window_stats(f);
    c->faults += after.faults - before->faults;
    c->huge_faults += after.huge_faults - before->huge_faults;
    c->backoffs += after.backoffs - before->backoffs;
    c->reclaimed += after.reclaimed - before->reclaimed;
}

/* The kernel's counterpart: a tmpfs file of the same size, every page written once so that it exists. */
struct tmpfs_file {
    int fd;
    uint64_t bytes;
};

static void fill_tmpfs_file(struct tmpfs_file *t, const char *path, const char *piece)
{
    t->fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (t->fd < 0 || ftruncate(t->fd, (off_t)t->bytes))
        die(path);
    for (uint64_t offset = 0; offset < t->bytes; offset += WRITE_PIECE)
        if (pwrite(t->fd, piece, WRITE_PIECE, (off_t)offset) != (ssize_t)WRITE_PIECE)
            die("tmpfs write");
}

static unsigned char *tmpfs_map(struct tmpfs_file *t, uint64_t bytes)
{
    void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
    if (map == MAP_FAILED)
        die("mmap tmpfs");
    return map;
}

/* One access every step bytes of [0, bytes): a one-byte load or store; returns the seconds it took. */
static double touch_every(unsigned char *map, uint64_t bytes, uint64_t step, bool write)
{
    volatile unsigned char *bytes_of = map;
    uint64_t sum = 0;
    double start = seconds_now();
    if (write)
        for (uint64_t offset = 0; offset < bytes; offset += step)
            bytes_of[offset] = (unsigned char)offset;
    else
        for (uint64_t offset = 0; offset < bytes; offset += step)
            sum += bytes_of[offset];
    double elapsed = seconds_now() - start;
    loaded_sum = sum;
    return elapsed;
}

/* 1. First touch of every 4 KiB page of a fresh mapping of the whole file. */

struct first_touch {
    struct udax_file *udax;   /* the file touched, udax's */
    struct tmpfs_file *tmpfs; /* or the kernel's */
    bool write;
    long minor_faults;        /* over every run */
    struct window_counts window;
};

static double run_udax_first_touch(void *arg)
{
    struct first_touch *t = arg;
    struct udax_window_stats before = window_stats(t->udax);
    unsigned char *map = udax_map(t->udax, NULL, t->udax->bytes, 0);
    long faults_before = minor_faults();
    double elapsed = touch_every(map, t->udax->bytes, PAGE, t->write);
    t->minor_faults += minor_faults() - faults_before;
    /* munmap drops every range, so that the next run faults afresh. */
    udax_unmap(t->udax, map, t->udax->bytes);
    count_since(&t->window, t->udax, &before);
    return elapsed;
}

static double run_tmpfs_first_touch(void *arg)
{
    struct first_touch *t = arg;
    unsigned char *map = tmpfs_map(t->tmpfs, t->tmpfs->bytes);
    long faults_before = minor_faults();
    double elapsed = touch_every(map, t->tmpfs->bytes, PAGE, t->write);
    t->minor_faults += minor_faults() - faults_before;
    munmap(map, t->tmpfs->bytes);
    return elapsed;
}

static void report_first_touch(const char *what, const struct first_touch *t, double seconds, double pages)
{
    printf("  %-11s %6.0f ns/page; %.3f kernel faults per page", what, seconds * 1e9 / pages,
           (double)t->minor_faults / (pages * ROUNDS));
    if (t->udax)
        printf(", %llu window faults per run, %llu of them 2 MiB", (unsigned long long)(t->window.faults / ROUNDS),
               (unsigned long long)(t->window.huge_faults / ROUNDS));
    printf("\n");
}

static void bench_first_touch(struct udax_file *udax, struct tmpfs_file *tmpfs)
{
    uint64_t bytes = udax->bytes;
    struct big_copy copy = {malloc(bytes), malloc(bytes), bytes};
    if (!copy.from || !copy.to)
        die("copy buffers");
    /* Both buffers are faulted in first, so that the copy measures memory bandwidth, not page faults. */
    memset(copy.from, 1, bytes);
    memset(copy.to, 2, bytes);
    struct first_touch udax_read = {.udax = udax}, udax_write = {.udax = udax, .write = true};
    struct first_touch tmpfs_read = {.tmpfs = tmpfs}, tmpfs_write = {.tmpfs = tmpfs, .write = true};
    struct workload w[] = {
        {.run = run_udax_first_touch, .arg = &udax_read},
        {.run = run_tmpfs_first_touch, .arg = &tmpfs_read},
        {.run = run_udax_first_touch, .arg = &udax_write},
        {.run = run_tmpfs_first_touch, .arg = &tmpfs_write},
        {.run = run_big_copy, .arg = &copy},
    };
    measure_in_rounds(w, 5, ROUNDS);
    free(copy.from);
    free(copy.to);

    double pages = (double)(bytes / PAGE);
    printf("first touch: %llu MiB, one access per 4 KiB page of a fresh mapping\n", (unsigned long long)(bytes >> 20));
    report_first_touch("udax read", &udax_read, w[0].median_s, pages);
    report_first_touch("tmpfs read", &tmpfs_read, w[1].median_s, pages);
    report_first_touch("udax write", &udax_write, w[2].median_s, pages);
    report_first_touch("tmpfs write", &tmpfs_write, w[3].median_s, pages);
    printf("  %-11s %6.0f ns/page\n", "memcpy", w[4].median_s * 1e9 / pages);
    double per_page = 1e9 / pages;
    add_figure("first_touch_read_per_page", w[0].median_s * per_page, "tmpfs_first_touch_read",
               w[1].median_s * per_page);
    add_figure("first_touch_read_per_page", w[0].median_s * per_page, "memcpy_per_page", w[4].median_s * per_page);
    add_figure("first_touch_write_per_page", w[2].median_s * per_page, "tmpfs_first_touch_write",
               w[3].median_s * per_page);
    add_figure("first_touch_write_per_page", w[2].median_s * per_page, "memcpy_per_page", w[4].median_s * per_page);
}

/* 2. Random accesses to a mapping whose every page is already in place. */

struct random_access {
    unsigned char *map;
    uint64_t bytes;
    bool store;
};

/* Each run draws the same addresses from the same seed, for udax and tmpfs alike. */
static double run_random_access(void *arg)
{
    struct random_access *r = arg;
    uint64_t x = RANDOM_SEED, sum = 0;
    static const unsigned char line[64] = {1};
    double start = seconds_now();
    if (r->store) {
        for (uint32_t i = 0; i < RANDOM_OPS; i++) {
            x = xorshift(x);
            memcpy(r->map + scaled(x, r->bytes / 64) * 64, line, 64);
        }
        clobber_memory();
    } else {
        for (uint32_t i = 0; i < RANDOM_OPS; i++) {
            x = xorshift(x);
            uint64_t word;
            memcpy(&word, r->map + scaled(x, r->bytes / 8) * 8, 8);
            sum += word;
        }
    }
    double elapsed = seconds_now() - start;
    loaded_sum = sum;
    return elapsed;
}

static void bench_random_access(struct udax_file *udax, struct tmpfs_file *tmpfs)
{
    uint64_t bytes = udax->bytes;
    unsigned char *udax_map_all = udax_map(udax, NULL, bytes, 0), *tmpfs_map_all = tmpfs_map(tmpfs, bytes);
    /* Stores put every page in place writable, so that no access below faults. */
    touch_every(udax_map_all, bytes, PAGE, true);
    touch_every(tmpfs_map_all, bytes, PAGE, true);
    struct udax_window_stats before = window_stats(udax);
    long faults_before = minor_faults();
    struct random_access udax_load = {udax_map_all, bytes, false}, udax_store = {udax_map_all, bytes, true};
    struct random_access tmpfs_load = {tmpfs_map_all, bytes, false}, tmpfs_store = {tmpfs_map_all, bytes, true};
    struct workload w[] = {
        {.run = run_random_access, .arg = &udax_load},
        {.run = run_random_access, .arg = &tmpfs_load},
        {.run = run_random_access, .arg = &udax_store},
        {.run = run_random_access, .arg = &tmpfs_store},
    };
    measure_in_rounds(w, 4, ROUNDS);
    long faults = minor_faults() - faults_before;
    struct window_counts window = {0};
    count_since(&window, udax, &before);
    udax_unmap(udax, udax_map_all, bytes);
    munmap(tmpfs_map_all, bytes);

    printf("random access: %u per run over %llu MiB mapped and faulted in; %llu window faults and %ld kernel faults "
           "meanwhile\n",
           RANDOM_OPS, (unsigned long long)(bytes >> 20), (unsigned long long)window.faults, faults);
    double per_op = 1e9 / RANDOM_OPS;
    add_figure("random_load_8B", w[0].median_s * per_op, "tmpfs_random_load_8B", w[1].median_s * per_op);
    add_figure("random_store_64B", w[2].median_s * per_op, "tmpfs_random_store_64B", w[3].median_s * per_op);
}

/*
 * 3. Fault latency: each access is timed alone and meets a page not yet
 * mapped. Stores, since tmpfs maps 16 pages per read fault (fault-around)
 * but one per write fault: its write fault is the kernel's own 4 KiB fault.
 */

struct fault_walk {
    struct udax_file *udax;   /* the file faulted on, udax's */
    struct tmpfs_file *tmpfs; /* or the kernel's */
    bool misaligned;          /* udax: at an address that allows only 4 KiB faults */
    uint64_t bytes, step;
    double *latencies;        /* of the current run, one per access */
    double medians[ROUNDS];
    int round;
    long minor_faults;
    struct window_counts window;
};

/* Returns the mean seconds per access, and files the run's median. */
static double timed_accesses(struct fault_walk *f, unsigned char *map)
{
    volatile unsigned char *bytes_of = map;
    uint64_t count = f->bytes / f->step;
    double total = 0;
    long faults_before = minor_faults();
    for (uint64_t i = 0; i < count; i++) {
        double start = seconds_now();
        bytes_of[i * f->step] = 1;
        f->latencies[i] = seconds_now() - start;
        total += f->latencies[i];
    }
    f->minor_faults += minor_faults() - faults_before;
    f->medians[f->round++] = median(f->latencies, (int)count);
    return total / (double)count;
}

static double run_udax_faults(void *arg)
{
    struct fault_walk *f = arg;
    struct udax_window_stats before = window_stats(f->udax);
    unsigned char *map = f->misaligned ? udax_map_misaligned(f->udax, f->bytes) : udax_map(f->udax, NULL, f->bytes, 0);
    double mean = timed_accesses(f, map);
    udax_unmap(f->udax, map, f->bytes);
    count_since(&f->window, f->udax, &before);
    return mean;
}

static double run_tmpfs_faults(void *arg)
{
    struct fault_walk *f = arg;
    unsigned char *map = tmpfs_map(f->tmpfs, f->bytes);
    double mean = timed_accesses(f, map);
    munmap(map, f->bytes);
    return mean;
}

static void report_udax_faults(const char *what, const struct fault_walk *f, double mean_s, double median_s)
{
    double accesses = (double)(f->bytes / f->step) * ROUNDS;
    printf("  %-22s mean %7.0f ns, median %7.0f ns; per access: %.3f window faults, %.3f of them 2 MiB, %.3f kernel "
           "faults\n",
           what, mean_s * 1e9, median_s * 1e9, (double)f->window.faults / accesses,
           (double)f->window.huge_faults / accesses, (double)f->minor_faults / accesses);
}

/* Returns the mean of a tmpfs fault in ns, the baseline of the churn. */
static double bench_fault_latency(struct udax_file *udax, struct tmpfs_file *tmpfs)
{
    uint64_t small_bytes = SMALL_FAULTS * PAGE;
    struct fault_walk huge = {.udax = udax, .bytes = udax->bytes, .step = HUGE_PAGE};
    struct fault_walk small = {.udax = udax, .misaligned = true, .bytes = small_bytes, .step = PAGE};
    struct fault_walk kernel = {.tmpfs = tmpfs, .bytes = small_bytes, .step = PAGE};
    huge.latencies = malloc(sizeof(double) * (huge.bytes / HUGE_PAGE));
    small.latencies = malloc(sizeof(double) * SMALL_FAULTS);
    kernel.latencies = malloc(sizeof(double) * SMALL_FAULTS);
    if (!huge.latencies || !small.latencies || !kernel.latencies)
        die("latency buffers");
    struct workload w[] = {{.run = run_udax_faults, .arg = &huge},
                           {.run = run_udax_faults, .arg = &small},
                           {.run = run_tmpfs_faults, .arg = &kernel}};
    measure_in_rounds(w, 3, ROUNDS);
    double huge_median = median(huge.medians, ROUNDS), small_median = median(small.medians, ROUNDS);
    double kernel_median = median(kernel.medians, ROUNDS);

    printf("fault latency (stores; medians over %d rounds of the mean and of the median of each run):\n", ROUNDS);
    report_udax_faults("udax 2 MiB-aligned map", &huge, w[0].median_s, huge_median);
    report_udax_faults("udax misaligned map", &small, w[1].median_s, small_median);
    printf("  %-22s mean %7.0f ns, median %7.0f ns; per access: %.3f kernel faults\n", "tmpfs mmap",
           w[2].median_s * 1e9, kernel_median * 1e9,
           (double)kernel.minor_faults / ((double)SMALL_FAULTS * ROUNDS));
    if (huge.window.huge_faults != huge.window.faults || small.window.huge_faults != 0)
        fprintf(stderr, "mmap_bench: warning: the faults were not all of the size their figures are named after\n");
    add_figure("fault_2MiB_mean", w[0].median_s * 1e9, "tmpfs_fault_4KiB_mean", w[2].median_s * 1e9);
    add_figure("fault_2MiB_median", huge_median * 1e9, "tmpfs_fault_4KiB_median", kernel_median * 1e9);
    add_figure("fault_4KiB_mean", w[1].median_s * 1e9, "tmpfs_fault_4KiB_mean", w[2].median_s * 1e9);
    add_figure("fault_4KiB_median", small_median * 1e9, "tmpfs_fault_4KiB_median", kernel_median * 1e9);
    free(huge.latencies);
    free(small.latencies);
    free(kernel.latencies);
    return w[2].median_s * 1e9;
}

/*
 * 4. Reclaim churn: a window of CHURN_RANGES ranges, and stores that cycle
 * over more distinct DAX entries than that, so that each one faults and
 * waits for the reclaimer to take down the least recently used range.
 */

struct churn {
    struct udax_file *udax;   /* the file stored to, udax's */
    unsigned char *tmpfs_map; /* or a tmpfs mapping whose pages stay in place: the cost of the store alone */
    bool misaligned;
    uint64_t step;            /* 2 MiB and 4 KiB more, in a misaligned map: each 4 KiB fault meets another entry */
    struct window_counts window;
};

/* Stores at offsets step apart, wrapping at CHURN_BYTES; returns seconds per store. */
static double churn_stores(unsigned char *map, uint64_t step, uint32_t first, uint32_t count)
{
    volatile unsigned char *bytes_of = map;
    double start = seconds_now();
    for (uint32_t i = first; i < first + count; i++)
        bytes_of[(uint64_t)i * step % CHURN_BYTES] = (unsigned char)i;
    return (seconds_now() - start) / count;
}

static double run_udax_churn(void *arg)
{
    struct churn *c = arg;
    unsigned char *map = c->misaligned ? udax_map_misaligned(c->udax, CHURN_BYTES)
                                       : udax_map(c->udax, NULL, CHURN_BYTES, 0);
    /* The window fills first, so that every timed store needs a reclaim. */
    churn_stores(map, c->step, 0, CHURN_RANGES);
    struct udax_window_stats before = window_stats(c->udax);
    double per_store = churn_stores(map, c->step, CHURN_RANGES, CHURN_TOUCHES);
    count_since(&c->window, c->udax, &before);
    udax_unmap(c->udax, map, CHURN_BYTES);
    return per_store;
}

static double run_tmpfs_mapped_stores(void *arg)
{
    struct churn *c = arg;
    return churn_stores(c->tmpfs_map, c->step, CHURN_RANGES, CHURN_TOUCHES);
}

static void report_churn(const char *what, const struct churn *c, double per_store_s)
{
    double stores = (double)CHURN_TOUCHES * ROUNDS;
    printf("  %-22s %7.0f ns per store; per store: %.3f window faults (%.3f of 2 MiB), %.3f backoffs, %.3f "
           "reclaimed\n",
           what, per_store_s * 1e9, (double)c->window.faults / stores, (double)c->window.huge_faults / stores,
           (double)c->window.backoffs / stores, (double)c->window.reclaimed / stores);
}

static void bench_churn(struct udax_file *udax, struct tmpfs_file *tmpfs, double tmpfs_fault_ns)
{
    struct churn huge = {.udax = udax, .step = HUGE_PAGE};
    struct churn small = {.udax = udax, .misaligned = true, .step = HUGE_PAGE + PAGE};
    struct churn mapped = {.tmpfs_map = tmpfs_map(tmpfs, CHURN_BYTES), .step = HUGE_PAGE};
    touch_every(mapped.tmpfs_map, CHURN_BYTES, PAGE, true);
    struct workload w[] = {{.run = run_udax_churn, .arg = &huge},
                           {.run = run_udax_churn, .arg = &small},
                           {.run = run_tmpfs_mapped_stores, .arg = &mapped}};
    measure_in_rounds(w, 3, ROUNDS);
    munmap(mapped.tmpfs_map, CHURN_BYTES);

    printf("reclaim churn: window of %u ranges, %u stores per run cycling over a %llu MiB file\n", CHURN_RANGES,
           CHURN_TOUCHES, (unsigned long long)(CHURN_BYTES >> 20));
    report_churn("udax 2 MiB ranges", &huge, w[0].median_s);
    report_churn("udax 4 KiB ranges", &small, w[1].median_s);
    printf("  %-22s %7.1f ns per store to a page already mapped\n", "tmpfs mmap", w[2].median_s * 1e9);
    add_figure("churn_2MiB_per_store", w[0].median_s * 1e9, "tmpfs_fault_4KiB_mean", tmpfs_fault_ns);
    add_figure("churn_4KiB_per_store", w[1].median_s * 1e9, "tmpfs_fault_4KiB_mean", tmpfs_fault_ns);
    add_figure("churn_2MiB_per_store", w[0].median_s * 1e9, "tmpfs_mapped_store", w[2].median_s * 1e9);
}

int main(int argc, char **argv)
{
    unsigned long file_mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    const char *csv_path = argc > 2 ? argv[2] : "bench/results/mmap.csv";
    if (file_mib < CHURN_BYTES >> 20 || file_mib % 2) {
        fprintf(stderr, "usage: %s [FILE_MIB (even, at least %llu, default 1024)] [CSV]\n", argv[0],
                CHURN_BYTES >> 20);
        return 2;
    }
    snprintf(pool_path, sizeof(pool_path), "/dev/shm/udax-mmap-bench-%d.pool", (int)getpid());
    snprintf(churn_pool_path, sizeof(churn_pool_path), "/dev/shm/udax-mmap-bench-%d-churn.pool", (int)getpid());
    snprintf(tmpfs_path, sizeof(tmpfs_path), "/dev/shm/udax-mmap-bench-%d.tmpfs", (int)getpid());
    atexit(remove_files);

    char *piece = malloc(WRITE_PIECE);
    if (!piece)
        die("write buffer");
    memset(piece, 0xab, WRITE_PIECE);
    struct udax_file udax = {.bytes = (uint64_t)file_mib << 20}, churn = {.bytes = CHURN_BYTES};
    struct tmpfs_file tmpfs = {.bytes = udax.bytes};
    open_udax_file(&udax, pool_path, WINDOW_RANGES, piece);
    open_udax_file(&churn, churn_pool_path, CHURN_RANGES, piece);
    fill_tmpfs_file(&tmpfs, tmpfs_path, piece);
    free(piece);

    printf("mmap_bench: medians of %d rounds, each round running udax and its baselines in turn\n", ROUNDS);
    bench_first_touch(&udax, &tmpfs);
    bench_random_access(&udax, &tmpfs);
    double tmpfs_fault_ns = bench_fault_latency(&udax, &tmpfs);
    bench_churn(&churn, &tmpfs, tmpfs_fault_ns);
    print_figures(27, 25);
    write_csv("mmap_bench", csv_path);

    close_udax_file(&udax);
    close_udax_file(&churn);
    close(tmpfs.fd);
    return 0;
}
