/* dax_bench.c: microbenchmarks of the DAX entry engine and fault path, against pthread locks, tmpfs and a memory copy. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_figures.h"
#include "dax/dax.h"
#include "file/file.h"
#include "inode/namei.h"
#include "udax.h"
#include "util/hooks.h"

#define ROUNDS 5

#define GRAB_KEYS 65536u
/* Odd, so that successive operations visit every key once per cycle, each far in the index from the one before. */
#define GRAB_KEY_STRIDE 40503u
#define GRAB_OPS 1000000u
#define SMALL_COPY_BYTES 4096u

#define HANDOFF_GRABS 10001u /* the first grab is uncontended; each later one is a hand-off */
#define HANDOFF_KEY 0x1c

#define GIB (1ull << 30)
#define WRITE_PIECE (2ull << 20)


static void die(const char *what, int err)
{
    fprintf(stderr, "dax_bench: %s: %s\n", what, strerror(err));
    exit(1);
}

/* 1. Uncontended grab and unlock of 4 KiB entries. */

struct grab_loop {
    struct dax_mapping *mapping;
    pthread_mutex_t mutex;
    char from[SMALL_COPY_BYTES], to[SMALL_COPY_BYTES];
};

static void grab_or_die(struct dax_mapping *m, uint64_t page, struct entry_ref *e)
{
    int rc = entry_grab(m, page, false, e);
    if (rc)
        die("entry_grab", rc);
}

static double run_grab_unlock(void *arg)
{
    struct grab_loop *g = arg;
    struct entry_ref e;
    double start = seconds_now();
    for (uint64_t i = 0; i < GRAB_OPS; i++) {
        grab_or_die(g->mapping, (i * GRAB_KEY_STRIDE) % GRAB_KEYS, &e);
        entry_unlock(g->mapping, &e);
    }
    return seconds_now() - start;
}

static double run_mutex_pair(void *arg)
{
    struct grab_loop *g = arg;
    double start = seconds_now();
    for (uint32_t i = 0; i < GRAB_OPS; i++) {
        pthread_mutex_lock(&g->mutex);
        pthread_mutex_unlock(&g->mutex);
    }
    return seconds_now() - start;
}

static double run_small_copy(void *arg)
{
    struct grab_loop *g = arg;
    double start = seconds_now();
    for (uint32_t i = 0; i < GRAB_OPS; i++) {
        memcpy(g->to, g->from, SMALL_COPY_BYTES);
        clobber_memory();
    }
    return seconds_now() - start;
}

static void bench_grab_unlock(void)
{
    struct grab_loop *g = calloc(1, sizeof(*g));
    if (!g || !(g->mapping = dax_mapping_new()))
        die("grab set-up", ENOMEM);
    pthread_mutex_init(&g->mutex, NULL);
    memset(g->from, 1, sizeof(g->from));
    /* Every key has its entry before timing starts, so the loop measures lookups, not inserts. */
    struct entry_ref e;
    for (uint32_t key = 0; key < GRAB_KEYS; key++) {
        grab_or_die(g->mapping, key, &e);
        entry_unlock(g->mapping, &e);
    }
    struct workload w[] = {
        {.run = run_grab_unlock, .arg = g}, {.run = run_mutex_pair, .arg = g}, {.run = run_small_copy, .arg = g}};
    measure_in_rounds(w, 3, ROUNDS);
    double grab_ns = w[0].median_s * 1e9 / GRAB_OPS;
    printf("grab+unlock: %u entries of 4 KiB, %u operations per run\n", GRAB_KEYS, GRAB_OPS);
    add_figure("grab_unlock_4KiB", grab_ns, "pthread_mutex_lock_unlock", w[1].median_s * 1e9 / GRAB_OPS);
    add_figure("grab_unlock_4KiB", grab_ns, "memcpy_4KiB", w[2].median_s * 1e9 / GRAB_OPS);
    pthread_mutex_destroy(&g->mutex);
    dax_mapping_free(g->mapping);
    free(g);
}

/*
 * 2. Contended hand-off. Two threads take turns on one lock: grab k waits
 * until grab k-1 has returned, so it always finds the lock held and queues;
 * the holder releases only once the next grab has queued. Every hand-off is
 * thus a release that wakes a queued waiter, for the entry lock and for its
 * baseline alike, which run under the same driver.
 */

struct handoff_lock {
    void (*grab)(void *state);
    void (*release)(void *state);
    void *state;
    uint64_t sleeps; /* times either thread went to sleep, over every run: what a hand-off costs in wake-ups */
};

/* Grabs that have returned, and grabs that found the lock held and queued, in the current run. */
static uint64_t handoff_grabs, handoff_queued;

struct handoff_thread {
    struct handoff_lock *lock;
    uint32_t parity; /* this thread makes the grabs of this parity */
};

/* Waits for the other thread to advance a counter; spins briefly, then yields, as the cores are shared. */
static void wait_for_count(const uint64_t *counter, uint64_t target)
{
    for (unsigned spins = 0; __atomic_load_n(counter, __ATOMIC_ACQUIRE) < target; spins++)
        if (spins >= 1000)
            sched_yield();
}

/* Yielding is an involuntary switch: this counts only the sleeps on a futex. */
static long voluntary_switches(void)
{
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    return usage.ru_nvcsw;
}

static void *handoff_thread_main(void *arg)
{
    struct handoff_thread *t = arg;
    long switches_before = voluntary_switches();
    for (uint64_t k = t->parity; k < HANDOFF_GRABS; k += 2) {
        wait_for_count(&handoff_grabs, k);
        t->lock->grab(t->lock->state);
        __atomic_store_n(&handoff_grabs, k + 1, __ATOMIC_RELEASE);
        if (k + 1 < HANDOFF_GRABS)
            wait_for_count(&handoff_queued, k + 1);
        t->lock->release(t->lock->state);
    }
    __atomic_add_fetch(&t->lock->sleeps, (uint64_t)(voluntary_switches() - switches_before), __ATOMIC_RELAXED);
    return NULL;
}

static double run_handoffs(void *arg)
{
    handoff_grabs = handoff_queued = 0;
    struct handoff_thread threads[2] = {{arg, 0}, {arg, 1}};
    pthread_t ids[2];
    /* Thread start-up is timed too; it is a few microseconds against thousands of hand-offs. */
    double start = seconds_now();
    for (int i = 0; i < 2; i++)
        if (pthread_create(&ids[i], NULL, handoff_thread_main, &threads[i]))
            die("pthread_create", errno);
    for (int i = 0; i < 2; i++)
        pthread_join(ids[i], NULL);
    double elapsed = seconds_now() - start;
    if (handoff_queued != HANDOFF_GRABS - 1)
        die("hand-off: a grab did not queue exactly once", EPROTO);
    return elapsed;
}

struct entry_handoff {
    struct dax_mapping *mapping;
    struct entry_ref held; /* touched only by the thread holding the entry */
};

static void entry_handoff_grab(void *state)
{
    struct entry_handoff *h = state;
    grab_or_die(h->mapping, HANDOFF_KEY, &h->held);
}

static void entry_handoff_release(void *state)
{
    struct entry_handoff *h = state;
    entry_unlock(h->mapping, &h->held);
}

/* The engine's "entry_wait" hook point is reached once a waiter is in the wait table, before it sleeps. */
static void count_entry_waits(const char *point, const void *object, uint64_t key)
{
    (void)object;
    (void)key;
    if (!strcmp(point, "entry_wait"))
        __atomic_add_fetch(&handoff_queued, 1, __ATOMIC_RELEASE);
}

/* The baseline: a lock bit under a pthread mutex, whose waiters sleep on a condition variable. */
struct condvar_handoff {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool locked;
};

static void condvar_handoff_grab(void *state)
{
    struct condvar_handoff *h = state;
    pthread_mutex_lock(&h->mutex);
    if (h->locked) {
        __atomic_add_fetch(&handoff_queued, 1, __ATOMIC_RELEASE);
        while (h->locked)
            pthread_cond_wait(&h->cond, &h->mutex);
    }
    h->locked = true;
    pthread_mutex_unlock(&h->mutex);
}

static void condvar_handoff_release(void *state)
{
    struct condvar_handoff *h = state;
    pthread_mutex_lock(&h->mutex);
    h->locked = false;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->mutex);
}

static void bench_handoff(void)
{
    struct entry_handoff entry = {.mapping = dax_mapping_new()};
    if (!entry.mapping)
        die("hand-off set-up", ENOMEM);
    struct condvar_handoff condvar = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    struct handoff_lock entry_lock = {entry_handoff_grab, entry_handoff_release, &entry, 0};
    struct handoff_lock condvar_lock = {condvar_handoff_grab, condvar_handoff_release, &condvar, 0};
    /* The baseline reaches no hook point, so the hook stays installed for both. */
    hooks_install(count_entry_waits);
    struct workload w[] = {{.run = run_handoffs, .arg = &entry_lock}, {.run = run_handoffs, .arg = &condvar_lock}};
    measure_in_rounds(w, 2, ROUNDS);
    hooks_install(NULL);
    dax_mapping_free(entry.mapping);

    double handoffs = HANDOFF_GRABS - 1;
    printf("hand-off: %.0f per run between two threads; udax %.0f per second (%.2f sleeps each), "
           "mutex+condvar %.0f per second (%.2f sleeps each)\n",
           handoffs, handoffs / w[0].median_s, (double)entry_lock.sleeps / (handoffs * ROUNDS),
           handoffs / w[1].median_s, (double)condvar_lock.sleeps / (handoffs * ROUNDS));
    add_figure("handoff_2_threads", w[0].median_s * 1e9 / handoffs, "mutex_condvar_handoff",
               w[1].median_s * 1e9 / handoffs);
}

/* 3. Fault-path walks over a file whose blocks are 2 MiB chunks, against tmpfs and a memory copy. */

struct walk {
    struct fs fs;
    struct inode *file;
    uint64_t bytes;
};

static void invalidate_all(struct walk *w)
{
    dax_mapping_ops.invalidate(w->file, 0, UINT64_MAX);
}

/* Each walk starts with no entry, as the first access to a file does; invalidating is not timed. */
static double run_walk(struct walk *w, uint64_t step, unsigned flags, uint64_t pages_each)
{
    invalidate_all(w);
    struct dax_fault_result r;
    double start = seconds_now();
    for (uint64_t offset = 0; offset < w->bytes; offset += step) {
        int rc = dax_fault(&w->fs, w->file, offset, flags, &r);
        if (rc)
            die("dax_fault", rc);
        if (r.pages != pages_each || !r.addr)
            die("dax_fault mapped the wrong size", EPROTO);
    }
    return seconds_now() - start;
}

static double run_walk_2mib(void *arg)
{
    return run_walk(arg, UDAX_HUGE_SIZE, DAX_FAULT_HUGE, ENTRY_HUGE_PAGES);
}

static double run_walk_4kib(void *arg)
{
    return run_walk(arg, UDAX_BLOCK_SIZE, 0, 1);
}

static void open_walk_pool(struct walk *w, const char *path, const char *piece)
{
    /* A fifth more than the file, for the logs, inode table and allocator, rounded to whole 2 MiB. */
    uint64_t pool_bytes = (w->bytes + w->bytes / 5 + (16ull << 20)) & ~(UDAX_HUGE_SIZE - 1);
    struct udax_mkfs_options opts = {.data_mode = UDAX_DATA_FAST};
    if (udax_pool_create(path, pool_bytes, &opts))
        die(udax_last_error(), errno);
    int rc = fs_open(&w->fs, path, NULL);
    if (rc)
        die("fs_open", rc);
    w->fs.mapping_ops = &dax_mapping_ops;
    rc = namei_open(&w->fs, &(struct cred){0}, NULL, "/walk", O_CREAT | O_RDWR, 0644, &w->file);
    if (rc)
        die("namei_open", rc);
    /* Written front to back in 2 MiB pieces, the file gets one 2 MiB-aligned chunk of blocks per piece. */
    for (uint64_t offset = 0; offset < w->bytes; offset += WRITE_PIECE) {
        struct iovec iov = {(void *)piece, WRITE_PIECE};
        uint64_t end;
        if (file_write(&w->fs, w->file, &iov, 1, offset, false, &end) != (ssize_t)WRITE_PIECE)
            die("file_write", ENOSPC);
    }
}

static void close_walk_pool(struct walk *w, const char *path)
{
    invalidate_all(w);
    inode_put(&w->fs, w->file);
    fs_close(&w->fs);
    unlink(path);
}

struct tmpfs_file {
    int fd;
    uint64_t bytes;
};

/* Where the touch loop's loads end up, so that the compiler keeps them. */
static volatile unsigned char touched_sum;

/* The kernel's counterpart: read one byte of each 4 KiB page of a fresh shared mapping of a full tmpfs file. */
static double run_tmpfs_first_touch(void *arg)
{
    struct tmpfs_file *t = arg;
    const unsigned char *map = mmap(NULL, t->bytes, PROT_READ, MAP_SHARED, t->fd, 0);
    if (map == MAP_FAILED)
        die("mmap", errno);
    unsigned char sum = 0;
    double start = seconds_now();
    for (uint64_t offset = 0; offset < t->bytes; offset += UDAX_BLOCK_SIZE)
        sum += map[offset];
    double elapsed = seconds_now() - start;
    touched_sum = sum;
    munmap((void *)map, t->bytes);
    return elapsed;
}

static void fill_tmpfs_file(struct tmpfs_file *t, const char *path, const char *piece)
{
    t->fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (t->fd < 0)
        die(path, errno);
    for (uint64_t offset = 0; offset < t->bytes; offset += WRITE_PIECE)
        if (pwrite(t->fd, piece, WRITE_PIECE, (off_t)offset) != (ssize_t)WRITE_PIECE)
            die("tmpfs write", errno);
}

static void bench_fault_walks(uint64_t bytes)
{
    char pool_path[128], tmpfs_path[128];
    snprintf(pool_path, sizeof(pool_path), "/dev/shm/udax-dax-bench-%d.pool", (int)getpid());
    snprintf(tmpfs_path, sizeof(tmpfs_path), "/dev/shm/udax-dax-bench-%d.tmpfs", (int)getpid());
    char *piece = malloc(WRITE_PIECE);
    struct walk *walk = calloc(1, sizeof(*walk));
    struct big_copy copy = {malloc(bytes), malloc(bytes), bytes};
    if (!piece || !walk || !copy.from || !copy.to)
        die("walk set-up", ENOMEM);
    memset(piece, 0xab, WRITE_PIECE);
    /* Both copy buffers are faulted in first, so the copy measures memory bandwidth, not page faults. */
    memset(copy.from, 1, bytes);
    memset(copy.to, 2, bytes);
    walk->bytes = bytes;
    open_walk_pool(walk, pool_path, piece);
    struct tmpfs_file tmpfs = {.bytes = bytes};
    fill_tmpfs_file(&tmpfs, tmpfs_path, piece);

    struct workload w[] = {
        {.run = run_walk_2mib, .arg = walk},
        {.run = run_walk_4kib, .arg = walk},
        {.run = run_tmpfs_first_touch, .arg = &tmpfs},
        {.run = run_big_copy, .arg = &copy},
    };
    measure_in_rounds(w, 4, ROUNDS);

    close_walk_pool(walk, pool_path);
    close(tmpfs.fd);
    unlink(tmpfs_path);
    free(walk);
    free(piece);
    free(copy.from);
    free(copy.to);

    double huge_s = w[0].median_s, small_s = w[1].median_s, touch_s = w[2].median_s, copy_s = w[3].median_s;
    uint64_t huge_faults = bytes / UDAX_HUGE_SIZE, small_faults = bytes / UDAX_BLOCK_SIZE;
    printf("fault walk: %llu MiB file; 2 MiB walk %llu faults, %.0f ns each; 4 KiB walk %llu faults, %.0f ns each;\n"
           "            tmpfs first touch %.0f ns per 4 KiB page (read faults, with the kernel's fault-around)\n",
           (unsigned long long)(bytes >> 20), (unsigned long long)huge_faults, huge_s * 1e9 / huge_faults,
           (unsigned long long)small_faults, small_s * 1e9 / small_faults, touch_s * 1e9 / small_faults);
    double per_gib = (double)GIB / (double)bytes * 1e9;
    add_figure("fault_walk_2MiB_per_GiB", huge_s * per_gib, "tmpfs_mmap_first_touch_per_GiB", touch_s * per_gib);
    add_figure("fault_walk_2MiB_per_GiB", huge_s * per_gib, "memcpy_per_GiB", copy_s * per_gib);
    add_figure("fault_walk_4KiB_per_GiB", small_s * per_gib, "tmpfs_mmap_first_touch_per_GiB", touch_s * per_gib);
    add_figure("fault_walk_4KiB_per_GiB", small_s * per_gib, "memcpy_per_GiB", copy_s * per_gib);
}

int main(int argc, char **argv)
{
    unsigned long file_mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    const char *csv_path = argc > 2 ? argv[2] : "bench/results/dax.csv";
    if (file_mib < 2 || file_mib % 2) {
        fprintf(stderr, "usage: %s [FILE_MIB (even, default 1024)] [CSV]\n", argv[0]);
        return 2;
    }
    printf("dax_bench: medians of %d rounds, each round running udax and its baselines in turn\n", ROUNDS);
    bench_grab_unlock();
    bench_handoff();
    bench_fault_walks((uint64_t)file_mib << 20);
    print_figures(24, 31);
    write_csv("dax_bench", csv_path);
    return 0;
}
