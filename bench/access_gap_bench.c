/* access_gap_bench.c: what a random memory access costs once other work or a fence separates it from the next, beside udax and tmpfs doing the same accesses. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_exit.h"
#include "bench_random.h"
#include "udax.h"

#define ROUNDS 5
#define PAGE 4096u
#define SMALL 64u
#define FILE_BYTES (64ull << 20)
#define RANDOM_OPS 32768u

/*
 * A 4 KiB read from a random page misses every cache level, and a core hides
 * that latency only by starting the next access while the first is in flight.
 * Its reorder buffer holds some 500 instructions: a call that runs a few
 * hundred between two copies leaves little of the next miss to overlap. A
 * 64-byte store to a random line is absorbed by the store buffer, unless a
 * fence or a locked instruction makes the core wait until the line is owned.
 */
enum kind {
    COPY_BACK_TO_BACK,
    COPY_AFTER_100,
    COPY_AFTER_200,
    COPY_AFTER_400,
    COPY_AFTER_800,
    READ_UDAX,
    READ_TMPFS,
    STORE_BACK_TO_BACK,
    STORE_THEN_LOCKED_ADD,
    STORE_THEN_LOCKED_ADD_AND_400,
    STORE_THEN_SFENCE,
    WRITE_UDAX,
    WRITE_TMPFS,
    KINDS
};

static const char *const kind_names[KINDS] = {
    "4KiB random copy: back to back",
    "4KiB random copy: 100 instructions between",
    "4KiB random copy: 200 instructions between",
    "4KiB random copy: 400 instructions between",
    "4KiB random copy: 800 instructions between",
    "4KiB random read: udax (fast pool)",
    "4KiB random read: tmpfs pread",
    "64B random store: back to back",
    "64B random store: then a locked add",
    "64B random store: then a locked add and 400 instructions",
    "64B random store: then sfence",
    "64B random write: udax (fast pool)",
    "64B random write: tmpfs pwrite",
};

/* The baseline of each row: the back-to-back copy for reads, the back-to-back store for writes. */
static enum kind baseline_of(enum kind kind)
{
    return kind < STORE_BACK_TO_BACK ? COPY_BACK_TO_BACK : STORE_BACK_TO_BACK;
}

static unsigned char *memory, *sink;
static struct udax_pool *pool;
static int udax_fd = -1, tmpfs_fd = -1;
static char pool_path[128], tmpfs_path[128];
static uint64_t lock_word;

static void remove_files(void)
{
    if (pool_path[0])
        unlink(pool_path);
    if (tmpfs_path[0])
        unlink(tmpfs_path);
}

/* Four instructions a turn (add, increment, compare, branch), none of which waits for memory. */
static inline uint64_t independent_work(unsigned instructions, uint64_t acc)
{
    for (unsigned i = 0; i < instructions / 4; i++)
        __asm__ volatile("add $1, %0" : "+r"(acc));
    return acc;
}

static double run_kind(void *arg)
{
    enum kind kind = (enum kind)(uintptr_t)arg;
    static const unsigned gaps[KINDS] = {[COPY_AFTER_100] = 100, [COPY_AFTER_200] = 200, [COPY_AFTER_400] = 400,
                                         [COPY_AFTER_800] = 800, [STORE_THEN_LOCKED_ADD_AND_400] = 400};
    /* A new sequence each run, so that no run finds in the cache the lines that its previous run touched. */
    static uint64_t runs[KINDS];
    uint64_t x = RANDOM_SEED + runs[kind]++, acc = 0;
    unsigned char small[SMALL];
    memset(small, 7, sizeof(small));
    double start = seconds_now();
    for (uint32_t i = 0; i < RANDOM_OPS; i++) {
        x = xorshift(x);
        uint64_t page = scaled(x, FILE_BYTES / PAGE) * PAGE, line = scaled(x, FILE_BYTES / SMALL) * SMALL;
        unsigned char *to = sink + (i % 256) * PAGE;
        switch (kind) {
        case COPY_BACK_TO_BACK:
            memcpy(to, memory + page, PAGE);
            break;
        case COPY_AFTER_100:
        case COPY_AFTER_200:
        case COPY_AFTER_400:
        case COPY_AFTER_800:
            acc = independent_work(gaps[kind], acc);
            memcpy(to, memory + page, PAGE);
            break;
        case READ_UDAX:
            if (udax_pread(pool, udax_fd, to, PAGE, (off_t)page) != PAGE)
                die("udax_pread");
            break;
        case READ_TMPFS:
            if (pread(tmpfs_fd, to, PAGE, (off_t)page) != PAGE)
                die("pread");
            break;
        case STORE_BACK_TO_BACK:
            memcpy(memory + line, small, SMALL);
            break;
        case STORE_THEN_LOCKED_ADD:
        case STORE_THEN_LOCKED_ADD_AND_400:
            memcpy(memory + line, small, SMALL);
            __atomic_fetch_add(&lock_word, 1, __ATOMIC_SEQ_CST);
            acc = independent_work(gaps[kind], acc);
            break;
        case STORE_THEN_SFENCE:
            memcpy(memory + line, small, SMALL);
            __builtin_ia32_sfence();
            break;
        case WRITE_UDAX:
            if (udax_pwrite(pool, udax_fd, small, SMALL, (off_t)line) != SMALL)
                die("udax_pwrite");
            break;
        case WRITE_TMPFS:
            if (pwrite(tmpfs_fd, small, SMALL, (off_t)line) != SMALL)
                die("pwrite");
            break;
        default:
            abort();
        }
        clobber_memory();
    }
    __asm__ volatile("" ::"r"(acc));
    return seconds_now() - start;
}

static void fill(int fd, bool is_udax)
{
    for (uint64_t offset = 0; offset < FILE_BYTES; offset += PAGE) {
        ssize_t done = is_udax ? udax_pwrite(pool, fd, memory + offset, PAGE, (off_t)offset)
                               : pwrite(fd, memory + offset, PAGE, (off_t)offset);
        if (done != PAGE)
            die("fill");
    }
}

int main(int argc, char **argv)
{
    const char *csv_path = argc > 1 ? argv[1] : "bench/results/access_gap.csv";
    if (argc > 2) {
        fprintf(stderr, "usage: %s [CSV]\n", argv[0]);
        return 2;
    }
    memory = aligned_alloc(PAGE, FILE_BYTES);
    sink = aligned_alloc(PAGE, 256 * PAGE);
    if (!memory || !sink)
        die("memory");
    for (uint64_t i = 0; i < FILE_BYTES; i++)
        memory[i] = (unsigned char)(i * 7 + 1);
    memset(sink, 0, 256 * PAGE);

    snprintf(pool_path, sizeof(pool_path), "/dev/shm/udax-access-gap-bench-%d.pool", (int)getpid());
    snprintf(tmpfs_path, sizeof(tmpfs_path), "/dev/shm/udax-access-gap-bench-%d.file", (int)getpid());
    atexit(remove_files);
    struct udax_mkfs_options opts = {.data_mode = UDAX_DATA_FAST};
    if (udax_pool_create(pool_path, 4 * FILE_BYTES, &opts))
        die("mkfs");
    pool = udax_pool_open(pool_path, NULL);
    if (!pool)
        die("open pool");
    udax_fd = udax_open(pool, "/data", O_RDWR | O_CREAT, 0644);
    tmpfs_fd = open(tmpfs_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (udax_fd < 0 || tmpfs_fd < 0)
        die("open");
    fill(udax_fd, true);
    fill(tmpfs_fd, false);

    struct workload workloads[KINDS];
    for (int k = 0; k < KINDS; k++)
        workloads[k] = (struct workload){.run = run_kind, .arg = (void *)(uintptr_t)k};
    measure_in_rounds(workloads, KINDS, ROUNDS);

    FILE *csv = fopen(csv_path, "w");
    if (!csv)
        die(csv_path);
    fprintf(csv, "access,ns,baseline_ns,ratio\n");
    printf("\nns per access on 64 MiB (medians of %d rounds); ratio is against the back-to-back access of its kind\n",
           ROUNDS);
    printf("%-58s %10s %8s\n", "access", "ns", "ratio");
    for (int k = 0; k < KINDS; k++) {
        double ns = workloads[k].median_s * 1e9 / RANDOM_OPS;
        double base = workloads[baseline_of((enum kind)k)].median_s * 1e9 / RANDOM_OPS;
        printf("%-58s %10.1f %8.2f\n", kind_names[k], ns, ns / base);
        fprintf(csv, "%s,%.1f,%.1f,%.3f\n", kind_names[k], ns, base, ns / base);
    }
    fclose(csv);
    printf("results: %s\n", csv_path);

    close(tmpfs_fd);
    if (udax_close(pool, udax_fd) || udax_pool_close(pool))
        die("close");
    free(memory);
    free(sink);
    return 0;
}
