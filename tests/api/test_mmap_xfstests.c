/* test_mmap_xfstests.c: xfstests' mmap cases (generic/344, 437, 438, 503, 647, 729) on udax_mmap through the public API. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test_failure.h"
#include "test_pool.h"

#define POOL_SIZE (256ULL << 20)
#define PAGE 4096ul
#define HUGE (2ul << 20)
#define MAX_THREADS 4

/* Without window_ranges, so that the second run of this file (UDAX_WINDOW_RANGES=2) gets a window of two ranges. */
static struct udax_pool *open_pool(char *path, size_t len, enum udax_data_mode mode)
{
    test_pool_create(path, len, POOL_SIZE, mode);
    struct udax_pool *pool = udax_pool_open(path, NULL);
    if (!pool)
        fail_msg("open: %s", udax_last_error());
    return pool;
}

static void *map_file(struct udax_pool *pool, int fd, size_t length)
{
    void *map = udax_mmap(pool, NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        fail_msg("mmap: %s", udax_last_error());
    return map;
}

/*
 * Maps the file at an address 4 KiB past a 2 MiB boundary, so that every
 * fault through it is 4 KiB: inside a reservation of our own, which *reserved
 * (*reserved_len bytes) returns for munmap once the mapping is gone.
 */
static unsigned char *map_file_4k(struct udax_pool *pool, int fd, size_t length, void **reserved, size_t *reserved_len)
{
    *reserved_len = length + 2 * HUGE;
    char *reservation = mmap(NULL, *reserved_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_ptr_not_equal(reservation, MAP_FAILED);
    char *off = (char *)(((uintptr_t)reservation + HUGE - 1) & ~(HUGE - 1)) + PAGE;
    void *map = udax_mmap(pool, off, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    if (map != off)
        fail_msg("mmap at %p: %s", (void *)off, udax_last_error());
    *reserved = reservation;
    return map;
}

static void expect_size(struct udax_pool *pool, int fd, off_t size)
{
    struct stat st;
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_int_equal(st.st_size, size);
}

/* pread of the whole of want. */
static void expect_file(struct udax_pool *pool, int fd, const unsigned char *want, size_t size)
{
    unsigned char *got = malloc(size);
    assert_int_equal(udax_pread(pool, fd, got, size, 0), (ssize_t)size);
    size_t i = test_first_difference(got, want, size);
    if (i < size)
        fail_msg("byte %zu of the file reads %#x, not %#x", i, got[i], want[i]);
    free(got);
}

static void expect_mapped(const unsigned char *map, const unsigned char *want, size_t size)
{
    size_t i = test_first_difference(map, want, size);
    if (i < size)
        fail_msg("byte %zu of the mapping reads %#x, not %#x", i, map[i], want[i]);
}

/* The end of a test of one file: its size, its bytes through pread and through the mapping, then everything goes. */
static void expect_and_finish(struct udax_pool *pool, const char *path, int fd, unsigned char *map,
                              unsigned char *want, size_t size)
{
    expect_size(pool, fd, (off_t)size);
    expect_file(pool, fd, want, size);
    expect_mapped(map, want, size);
    assert_int_equal(udax_munmap(pool, map, size), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    free(want);
    test_pool_finish(pool, path);
}

/* What the threads of one test share: the pool, where they meet, and the first failure. */
struct run {
    struct udax_pool *pool;
    pthread_barrier_t meet;
    struct test_failure failure;
};

struct worker {
    struct run *run;
    int id;
    void *test; /* the test's own state */
    pthread_t thread;
};

/* A failed check is recorded and the worker carries on, so that it still meets the others at the barrier. */
#define EXPECT(run, condition, ...)                                                                                    \
    do {                                                                                                               \
        if (!(condition))                                                                                              \
            test_failure_record(&run->failure, __VA_ARGS__);                                                           \
    } while (0)

static void run_init(struct run *run, struct udax_pool *pool, unsigned meeting)
{
    memset(run, 0, sizeof(*run));
    run->pool = pool;
    test_failure_init(&run->failure);
    assert_int_equal(pthread_barrier_init(&run->meet, NULL, meeting), 0);
}

/* Starts count workers on body and waits for all of them. */
static void run_workers(struct run *run, void *(*body)(void *), int count, void *test)
{
    struct worker workers[MAX_THREADS];
    assert_true(count <= MAX_THREADS);
    for (int i = 0; i < count; i++) {
        workers[i] = (struct worker){.run = run, .id = i, .test = test};
        assert_int_equal(pthread_create(&workers[i].thread, NULL, body, &workers[i]), 0);
    }
    for (int i = 0; i < count; i++)
        assert_int_equal(pthread_join(workers[i].thread, NULL), 0);
}

static void run_finish(struct run *run)
{
    pthread_barrier_destroy(&run->meet);
    test_failure_check(&run->failure);
    test_failure_destroy(&run->failure);
}

/*
 * generic/344 (holetest): threads 0 and 1 store through their own mappings
 * while threads 2 and 3 udax_pwrite, into every page of one file that starts
 * as holes. Each thread owns the 8-byte lane at 8 * id of every page, and all
 * share the lane after those, so the final content is checkable whatever the
 * order: each own lane holds its thread's last value, the shared lane a value
 * some thread stored in that page, everything else zero. In odd iterations
 * both mappings are 4 KiB-off, so that no 2 MiB fault fills the first chunk's
 * holes at once and every page's hole is raced for by a fault and a pwrite.
 */
#define HT_THREADS 4
#define HT_MAPPERS 2
#define HT_PAGES (HUGE / PAGE + 16)
#define HT_SIZE (HT_PAGES * PAGE)
#define HT_ROUNDS 3
#define HT_ITERATIONS 10
#define HT_SHARED_LANE HT_THREADS

struct holetest {
    int fd;
    unsigned iteration;
    unsigned char *maps[HT_MAPPERS];
};

static uint64_t ht_value(unsigned id, unsigned iteration, unsigned round, uint64_t page)
{
    return page << 32 | (uint64_t)iteration << 16 | (uint64_t)round << 8 | (id + 1);
}

static void *holetest_worker(void *arg)
{
    struct worker *w = arg;
    struct run *run = w->run;
    struct holetest *ht = w->test;
    bool mapper = w->id < HT_MAPPERS;
    volatile uint64_t *map = mapper ? (volatile uint64_t *)ht->maps[w->id] : NULL;
    pthread_barrier_wait(&run->meet);
    for (unsigned round = 0; round < HT_ROUNDS && !test_failure_seen(&run->failure); round++) {
        for (uint64_t i = 0; i < HT_PAGES && !test_failure_seen(&run->failure); i++) {
            /* Odd threads walk backwards, so that every page sees both kinds of writer at some point. */
            uint64_t page = w->id % 2 ? HT_PAGES - 1 - i : i;
            uint64_t value = ht_value((unsigned)w->id, ht->iteration, round, page);
            const unsigned lanes[2] = {(unsigned)w->id, HT_SHARED_LANE};
            for (unsigned l = 0; l < 2; l++) {
                uint64_t offset = page * PAGE + lanes[l] * sizeof(uint64_t);
                if (mapper)
                    map[offset / sizeof(uint64_t)] = value;
                else
                    EXPECT(run, udax_pwrite(run->pool, ht->fd, &value, sizeof(value), (off_t)offset) == sizeof(value),
                           "pwrite at %" PRIu64 ": %s", offset, udax_last_error());
            }
        }
    }
    return NULL;
}

static void expect_holetest_page(const uint64_t *lanes, uint64_t page, unsigned iteration)
{
    for (unsigned id = 0; id < HT_THREADS; id++)
        if (lanes[id] != ht_value(id, iteration, HT_ROUNDS - 1, page))
            fail_msg("iteration %u: page %" PRIu64 " lane %u holds %#" PRIx64 ", not thread %u's last store %#" PRIx64
                     " (a store %s lost)",
                     iteration, page, id, lanes[id], id, ht_value(id, iteration, HT_ROUNDS - 1, page),
                     id < HT_MAPPERS ? "through a mapping" : "of udax_pwrite");
    uint64_t shared = lanes[HT_SHARED_LANE];
    unsigned id = (unsigned)(shared & 0xff) - 1, round = (unsigned)(shared >> 8 & 0xff);
    if (id >= HT_THREADS || round >= HT_ROUNDS || shared != ht_value(id, iteration, round, page))
        fail_msg("iteration %u: page %" PRIu64 " shared lane holds %#" PRIx64 ", which no thread stored there",
                 iteration, page, shared);
    for (size_t i = HT_SHARED_LANE + 1; i < PAGE / sizeof(uint64_t); i++)
        if (lanes[i])
            fail_msg("iteration %u: page %" PRIu64 " lane %zu holds %#" PRIx64 ", not zero", iteration, page, i,
                     lanes[i]);
}

static void holetest(enum udax_data_mode mode)
{
    char path[128];
    struct udax_pool *pool = open_pool(path, sizeof(path), mode);
    struct holetest ht = {.fd = udax_open(pool, "/holes", O_CREAT | O_RDWR, 0644)};
    assert_true(ht.fd >= 0);
    assert_int_equal(udax_ftruncate(pool, ht.fd, HT_SIZE), 0);
    uint64_t *content = malloc(HT_SIZE);
    for (ht.iteration = 0; ht.iteration < HT_ITERATIONS; ht.iteration++) {
        void *reserved[HT_MAPPERS] = {NULL};
        size_t reserved_len[HT_MAPPERS];
        for (unsigned i = 0; i < HT_MAPPERS; i++)
            ht.maps[i] = ht.iteration % 2 ? map_file_4k(pool, ht.fd, HT_SIZE, &reserved[i], &reserved_len[i])
                                          : map_file(pool, ht.fd, HT_SIZE);
        struct run run;
        run_init(&run, pool, HT_THREADS);
        run_workers(&run, holetest_worker, HT_THREADS, &ht);
        run_finish(&run);
        for (unsigned i = 0; i < HT_MAPPERS; i++) {
            assert_int_equal(udax_munmap(pool, ht.maps[i], HT_SIZE), 0);
            if (reserved[i])
                assert_int_equal(munmap(reserved[i], reserved_len[i]), 0);
        }
        assert_int_equal(udax_pread(pool, ht.fd, content, HT_SIZE, 0), (ssize_t)HT_SIZE);
        for (uint64_t page = 0; page < HT_PAGES; page++)
            expect_holetest_page(content + page * (PAGE / sizeof(uint64_t)), page, ht.iteration);
        /* Holes again, for the next iteration's writers to race on. */
        assert_int_equal(udax_fallocate(pool, ht.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, HT_SIZE), 0);
    }
    free(content);
    assert_int_equal(udax_close(pool, ht.fd), 0);
    test_pool_finish(pool, path);
}

static void test_344_holetest_strict(void **state)
{
    (void)state;
    holetest(UDAX_DATA_STRICT);
}

static void test_344_holetest_fast(void **state)
{
    (void)state;
    holetest(UDAX_DATA_FAST);
}

/*
 * generic/344's race in the small: a store through a 4 KiB mapping and a
 * udax_pwrite to another lane of the same page, while that page is a hole.
 * The writer follows the storer page by page (an atomic says which page the
 * storer is about to touch), so that the fault filling the hole and the
 * write's own allocation for it meet again and again.
 */
#define HR_PAGES 64
#define HR_ITERATIONS 40

struct hole_race {
    int fd;
    unsigned char *map;
    unsigned iteration;
    uint64_t storing; /* the page the storer touches next, plus one */
};

static void *hole_race_worker(void *arg)
{
    struct worker *w = arg;
    struct run *run = w->run;
    struct hole_race *hr = w->test;
    pthread_barrier_wait(&run->meet);
    for (uint64_t page = 0; page < HR_PAGES && !test_failure_seen(&run->failure); page++) {
        uint64_t value = ht_value((unsigned)w->id, hr->iteration, 0, page);
        if (w->id == 0) {
            __atomic_store_n(&hr->storing, page + 1, __ATOMIC_RELEASE);
            *(volatile uint64_t *)(hr->map + page * PAGE) = value;
        } else {
            while (__atomic_load_n(&hr->storing, __ATOMIC_ACQUIRE) <= page && !test_failure_seen(&run->failure))
                sched_yield();
            EXPECT(run, udax_pwrite(run->pool, hr->fd, &value, sizeof(value), (off_t)(page * PAGE + sizeof(value))) ==
                            sizeof(value),
                   "pwrite to page %" PRIu64 ": %s", page, udax_last_error());
        }
    }
    return NULL;
}

static void hole_race(enum udax_data_mode mode)
{
    char path[128];
    struct udax_pool *pool = open_pool(path, sizeof(path), mode);
    struct hole_race hr = {.fd = udax_open(pool, "/race", O_CREAT | O_RDWR, 0644)};
    assert_true(hr.fd >= 0);
    assert_int_equal(udax_ftruncate(pool, hr.fd, HR_PAGES * PAGE), 0);
    void *reservation;
    size_t reserved;
    hr.map = map_file_4k(pool, hr.fd, HR_PAGES * PAGE, &reservation, &reserved);
    uint64_t lanes[2];
    for (hr.iteration = 0; hr.iteration < HR_ITERATIONS; hr.iteration++) {
        hr.storing = 0;
        struct run run;
        run_init(&run, pool, 2);
        run_workers(&run, hole_race_worker, 2, &hr);
        run_finish(&run);
        for (uint64_t page = 0; page < HR_PAGES; page++) {
            assert_int_equal(udax_pread(pool, hr.fd, lanes, sizeof(lanes), (off_t)(page * PAGE)), sizeof(lanes));
            for (unsigned id = 0; id < 2; id++)
                if (lanes[id] != ht_value(id, hr.iteration, 0, page))
                    fail_msg("iteration %u: page %" PRIu64 " lane %u holds %#" PRIx64 ", not %#" PRIx64
                             " (a store %s lost)",
                             hr.iteration, page, id, lanes[id], ht_value(id, hr.iteration, 0, page),
                             id ? "of udax_pwrite" : "through the mapping");
        }
        assert_int_equal(udax_fallocate(pool, hr.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, HR_PAGES * PAGE),
                         0);
    }
    assert_int_equal(udax_munmap(pool, hr.map, HR_PAGES * PAGE), 0);
    assert_int_equal(munmap(reservation, reserved), 0);
    assert_int_equal(udax_close(pool, hr.fd), 0);
    test_pool_finish(pool, path);
}

static void test_344_hole_race_strict(void **state)
{
    (void)state;
    hole_race(UDAX_DATA_STRICT);
}

static void test_344_hole_race_fast(void **state)
{
    (void)state;
    hole_race(UDAX_DATA_FAST);
}

/*
 * generic/437: the same file mapped twice, once 2 MiB-congruent and once at
 * an address 4 KiB off a 2 MiB boundary, so that faults through the second
 * are always 4 KiB. Threads touch the same pages through both at once; each
 * owns an 8-byte lane of every page, stores through one mapping and reads
 * back through the other. Between rounds the file goes back to holes (even
 * rounds) or to data in 2 MiB blocks (odd rounds), and the main thread faults
 * the first 2 MiB through the congruent mapping first, so that 4 KiB faults
 * meet a 2 MiB entry there and race with 2 MiB faults in the second.
 */
#define CF_THREADS 4
#define CF_SIZE (2 * HUGE)
#define CF_PAGES (CF_SIZE / PAGE)
#define CF_ROUNDS 24
#define CF_TOUCHES 200
/* Lanes live in the first bytes of each page; the rest of a page holds data the threads only read. */
#define CF_LANES_BYTES 64

struct collide {
    int fd;
    unsigned round;
    unsigned char *maps[2]; /* 2 MiB-congruent, then 4 KiB-off */
    unsigned char *initial;  /* what the round started with */
    uint64_t own[CF_THREADS][CF_PAGES]; /* each thread's last store to its lane of each page */
};

static void *collide_worker(void *arg)
{
    struct worker *w = arg;
    struct run *run = w->run;
    struct collide *cf = w->test;
    uint64_t rng = (uint64_t)w->id << 32 | cf->round;
    uint64_t *own = cf->own[w->id];
    size_t lane = (size_t)w->id * sizeof(uint64_t);
    memset(own, 0, sizeof(cf->own[0]));
    pthread_barrier_wait(&run->meet);
    for (unsigned touch = 0; touch < CF_TOUCHES && !test_failure_seen(&run->failure); touch++) {
        uint64_t r = test_random_next(&rng);
        /* Half the touches go to a few pages every thread touches, the rest anywhere. */
        uint64_t page = r & 1 ? (r >> 8) % 8 * (CF_PAGES / 8) + (r >> 16) % 3 : (r >> 8) % CF_PAGES;
        unsigned via = (unsigned)(r >> 1 & 1);
        volatile uint64_t *mine = (volatile uint64_t *)(cf->maps[via] + page * PAGE + lane);
        volatile uint64_t *other = (volatile uint64_t *)(cf->maps[!via] + page * PAGE + lane);
        if (r >> 2 & 1) {
            uint64_t value = (uint64_t)page << 32 | (uint64_t)cf->round << 16 | touch;
            *mine = value;
            own[page] = value;
        }
        uint64_t seen = *other, through_pread = 0;
        EXPECT(run, seen == own[page], "round %u: thread %d reads %#" PRIx64 " in page %" PRIu64 " through mapping %u, "
               "not its own %#" PRIx64, cf->round, w->id, seen, page, !via, own[page]);
        EXPECT(run, udax_pread(run->pool, cf->fd, &through_pread, sizeof(through_pread),
                               (off_t)(page * PAGE + lane)) == sizeof(through_pread) && through_pread == own[page],
               "round %u: thread %d preads %#" PRIx64 " in page %" PRIu64 ", not its own %#" PRIx64, cf->round, w->id,
               through_pread, page, own[page]);
        /* A byte past the lanes, which nobody stores to, through the mapping that did not fault it. */
        size_t spot = CF_LANES_BYTES + (size_t)(r >> 24) % (PAGE - CF_LANES_BYTES);
        unsigned char byte = cf->maps[!via][page * PAGE + spot];
        EXPECT(run, byte == cf->initial[page * PAGE + spot], "round %u: byte %zu of page %" PRIu64 " reads %#x, not %#x",
               cf->round, spot, page, byte, cf->initial[page * PAGE + spot]);
    }
    return NULL;
}

static void collide(enum udax_data_mode mode)
{
    char path[128];
    struct udax_pool *pool = open_pool(path, sizeof(path), mode);
    struct collide *cf = calloc(1, sizeof(*cf));
    cf->fd = udax_open(pool, "/collide", O_CREAT | O_RDWR, 0644);
    assert_true(cf->fd >= 0);
    assert_int_equal(udax_ftruncate(pool, cf->fd, CF_SIZE), 0);
    cf->maps[0] = map_file(pool, cf->fd, CF_SIZE);
    assert_int_equal((uintptr_t)cf->maps[0] % HUGE, 0);
    void *reservation;
    size_t reserved;
    cf->maps[1] = map_file_4k(pool, cf->fd, CF_SIZE, &reservation, &reserved);
    unsigned char *initial = malloc(CF_SIZE), *got = malloc(CF_SIZE);
    cf->initial = initial;
    struct udax_window_stats before, after;
    assert_int_equal(udax_window_stats(pool, &before), 0);
    for (cf->round = 0; cf->round < CF_ROUNDS; cf->round++) {
        /* Truncating to 0 takes every entry and range away. */
        assert_int_equal(udax_ftruncate(pool, cf->fd, 0), 0);
        if (cf->round % 2) {
            test_fill(initial, CF_SIZE, cf->round, 0);
            for (size_t page = 0; page < CF_PAGES; page++)
                memset(initial + page * PAGE, 0, CF_LANES_BYTES);
            assert_int_equal(udax_pwrite(pool, cf->fd, initial, CF_SIZE, 0), (ssize_t)CF_SIZE);
        } else {
            memset(initial, 0, CF_SIZE);
            assert_int_equal(udax_ftruncate(pool, cf->fd, CF_SIZE), 0);
        }
        assert_int_equal(cf->maps[0][CF_LANES_BYTES], initial[CF_LANES_BYTES]);
        struct run run;
        run_init(&run, pool, CF_THREADS);
        run_workers(&run, collide_worker, CF_THREADS, cf);
        run_finish(&run);
        memcpy(got, initial, CF_SIZE);
        for (size_t page = 0; page < CF_PAGES; page++)
            for (unsigned id = 0; id < CF_THREADS; id++)
                memcpy(got + page * PAGE + id * sizeof(uint64_t), &cf->own[id][page], sizeof(uint64_t));
        expect_mapped(cf->maps[0], got, CF_SIZE);
        expect_mapped(cf->maps[1], got, CF_SIZE);
        expect_file(pool, cf->fd, got, CF_SIZE);
    }
    assert_int_equal(udax_window_stats(pool, &after), 0);
    assert_true(after.huge_faults > before.huge_faults);
    assert_int_equal(udax_munmap(pool, cf->maps[1], CF_SIZE), 0);
    assert_int_equal(munmap(reservation, reserved), 0);
    assert_int_equal(udax_munmap(pool, cf->maps[0], CF_SIZE), 0);
    assert_int_equal(udax_close(pool, cf->fd), 0);
    free(initial);
    free(got);
    free(cf);
    test_pool_finish(pool, path);
}

static void test_437_colliding_faults_strict(void **state)
{
    (void)state;
    collide(UDAX_DATA_STRICT);
}

static void test_437_colliding_faults_fast(void **state)
{
    (void)state;
    collide(UDAX_DATA_FAST);
}

/*
 * generic/503: thread A pins part of a mapping of file X and uses it as the
 * buffer of a udax_pread from file Y, so the copy lands in X's pinned pages;
 * thread B truncates X, or punches a hole, over the pinned part meanwhile. B
 * must not return before A unpins, and A's copy must land whole.
 */
#define PIN_FILE_SIZE (2 * HUGE)

struct pin_case {
    off_t offset; /* of the pinned part of X, also where A reads Y from */
    size_t length;
    bool punch;   /* else truncate to the middle of the pinned part */
};

struct pin_race {
    int x, y;
    unsigned char *map;
    const struct pin_case *c;
    int unpinning; /* A is about to unpin */
    int b_done;    /* B's truncate or punch returned */
};

static void *pin_worker(void *arg)
{
    struct worker *w = arg;
    struct run *run = w->run;
    struct pin_race *p = w->test;
    const struct pin_case *c = p->c;
    if (w->id == 0) {
        unsigned char *buf = p->map + c->offset;
        bool pinned = udax_pin(run->pool, buf, c->length, UDAX_PIN_WRITE) == 0;
        EXPECT(run, pinned, "pin: %s", udax_last_error());
        pthread_barrier_wait(&run->meet);
        /* Whether B already waits for the pin or has not started yet, it cannot return before the unpin below. */
        ssize_t got = udax_pread(run->pool, p->y, buf, c->length, c->offset);
        EXPECT(run, got == (ssize_t)c->length, "pread into pinned pages: %zd, %s", got, udax_last_error());
        unsigned char *want = malloc(c->length);
        test_fill(want, c->length, 2, (uint64_t)c->offset);
        EXPECT(run, !memcmp(buf, want, c->length), "pinned pages do not hold what pread copied into them");
        free(want);
        EXPECT(run, !__atomic_load_n(&p->b_done, __ATOMIC_ACQUIRE), "%s returned while pages were pinned",
               c->punch ? "punch hole" : "truncate");
        __atomic_store_n(&p->unpinning, 1, __ATOMIC_RELEASE);
        if (pinned)
            EXPECT(run, udax_unpin(run->pool, buf, c->length) == 0, "unpin: %s", udax_last_error());
    } else {
        pthread_barrier_wait(&run->meet);
        int rc = c->punch ? udax_fallocate(run->pool, p->x, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, c->offset,
                                           (off_t)c->length)
                          : udax_ftruncate(run->pool, p->x, c->offset + (off_t)c->length / 2);
        EXPECT(run, rc == 0, "%s: %s", c->punch ? "punch hole" : "truncate", udax_last_error());
        EXPECT(run, __atomic_load_n(&p->unpinning, __ATOMIC_ACQUIRE), "%s returned before the pages were unpinned",
               c->punch ? "punch hole" : "truncate");
        __atomic_store_n(&p->b_done, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void pin_against_truncate(enum udax_data_mode mode)
{
    static const struct pin_case cases[] = {
        {.offset = 5 * PAGE, .length = 12 * PAGE, .punch = false},
        {.offset = 5 * PAGE, .length = 12 * PAGE, .punch = true},
        {.offset = HUGE - 3 * PAGE, .length = 8 * PAGE, .punch = false},
        {.offset = HUGE - 3 * PAGE, .length = 8 * PAGE, .punch = true},
        {.offset = HUGE, .length = HUGE, .punch = false},
        {.offset = 0, .length = HUGE, .punch = true},
    };
    char path[128];
    struct udax_pool *pool = open_pool(path, sizeof(path), mode);
    unsigned char *x_data = malloc(PIN_FILE_SIZE), *y_data = malloc(PIN_FILE_SIZE);
    test_fill(x_data, PIN_FILE_SIZE, 1, 0);
    test_fill(y_data, PIN_FILE_SIZE, 2, 0);
    struct pin_race p = {.x = udax_open(pool, "/x", O_CREAT | O_RDWR, 0644),
                         .y = udax_open(pool, "/y", O_CREAT | O_RDWR, 0644)};
    assert_true(p.x >= 0 && p.y >= 0);
    assert_int_equal(udax_pwrite(pool, p.y, y_data, PIN_FILE_SIZE, 0), (ssize_t)PIN_FILE_SIZE);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct pin_case *c = &cases[i];
        assert_int_equal(udax_ftruncate(pool, p.x, 0), 0);
        assert_int_equal(udax_pwrite(pool, p.x, x_data, PIN_FILE_SIZE, 0), (ssize_t)PIN_FILE_SIZE);
        p.map = map_file(pool, p.x, PIN_FILE_SIZE);
        p.c = c;
        p.unpinning = p.b_done = 0;
        struct run run;
        run_init(&run, pool, 2);
        run_workers(&run, pin_worker, 2, &p);
        run_finish(&run);

        /* What A copied in stayed where the file still reaches; the rest is gone. */
        unsigned char *want = malloc(PIN_FILE_SIZE);
        memcpy(want, x_data, PIN_FILE_SIZE);
        size_t size = PIN_FILE_SIZE;
        if (c->punch) {
            memset(want + c->offset, 0, c->length);
        } else {
            size = (size_t)c->offset + c->length / 2;
            memcpy(want + c->offset, y_data + c->offset, c->length / 2);
        }
        expect_size(pool, p.x, (off_t)size);
        expect_file(pool, p.x, want, size);
        expect_mapped(p.map, want, size);
        if (size % PAGE)
            assert_int_equal(p.map[size], 0);
        if (!c->punch)
            assert_true(test_read_raises_sigbus((char *)p.map + ((size + PAGE - 1) & ~(PAGE - 1))));
        free(want);
        assert_int_equal(udax_munmap(pool, p.map, PIN_FILE_SIZE), 0);
    }
    free(x_data);
    free(y_data);
    assert_int_equal(udax_close(pool, p.x), 0);
    assert_int_equal(udax_close(pool, p.y), 0);
    test_pool_finish(pool, path);
}

static void test_503_pin_against_truncate_strict(void **state)
{
    (void)state;
    pin_against_truncate(UDAX_DATA_STRICT);
}

static void test_503_pin_against_truncate_fast(void **state)
{
    (void)state;
    pin_against_truncate(UDAX_DATA_FAST);
}

/*
 * generic/647 and 729: udax_pread and udax_pwrite whose buffer is a mapping
 * of the same file, not faulted yet, so that the copy faults inside udax's
 * own read or write; over data and holes, apart, exactly overlapping, and
 * shifted. Each case checks the model, the mapping and pread against each
 * other afterwards.
 */
#define SELF_SIZE (3 * HUGE)
#define SELF_MAP (4 * HUGE)

struct self_io {
    bool write;
    size_t buf;    /* offset in the mapping */
    size_t length;
    size_t offset; /* in the file */
};

static void self_io(enum udax_data_mode mode)
{
    static const struct self_io cases[] = {
        /* apart: data to data, a hole as the source, a hole as the destination, across a 2 MiB boundary */
        {.write = true, .buf = 0, .length = 64 * PAGE, .offset = HUGE + 5 * PAGE},
        {.write = false, .buf = HUGE, .length = 64 * PAGE, .offset = 7 * PAGE},
        {.write = true, .buf = HUGE + 200 * PAGE, .length = 16 * PAGE + 300, .offset = 100 * PAGE + 17},
        {.write = false, .buf = 2 * HUGE + 140 * PAGE + 5, .length = 20 * PAGE, .offset = 200 * PAGE},
        {.write = true, .buf = 5000, .length = 70000, .offset = HUGE - 30000},
        {.write = false, .buf = HUGE - 5000, .length = 12345, .offset = 300 * PAGE + 77},
        /* a whole 2 MiB chunk, which faults 2 MiB at once */
        {.write = true, .buf = 0, .length = HUGE, .offset = 2 * HUGE},
        {.write = false, .buf = HUGE, .length = HUGE, .offset = 0},
        /* exactly overlapping: the file does not change */
        {.write = true, .buf = HUGE, .length = HUGE, .offset = HUGE},
        {.write = false, .buf = 3 * PAGE, .length = 40 * PAGE, .offset = 3 * PAGE},
        {.write = true, .buf = 2 * HUGE + 60 * PAGE + 9, .length = 5 * PAGE, .offset = 2 * HUGE + 60 * PAGE + 9},
        /* shifted overlap */
        {.write = true, .buf = 10 * PAGE, .length = 8 * PAGE, .offset = 13 * PAGE + 100},
        {.write = true, .buf = 30 * PAGE + 100, .length = 8 * PAGE, .offset = 27 * PAGE},
        {.write = false, .buf = 50 * PAGE, .length = 8 * PAGE, .offset = 53 * PAGE + 100},
        {.write = false, .buf = 70 * PAGE + 100, .length = 8 * PAGE, .offset = 67 * PAGE},
        /* extending the file from its own mapping */
        {.write = true, .buf = HUGE + 3 * PAGE, .length = 40 * PAGE, .offset = SELF_SIZE + 10 * PAGE},
    };
    char path[128];
    struct udax_pool *pool = open_pool(path, sizeof(path), mode);
    int fd = udax_open(pool, "/self", O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    size_t size = SELF_SIZE;
    unsigned char *model = calloc(1, SELF_MAP);
    /* The first 2 MiB and the first 100 pages of the last are data; the rest is holes. */
    test_fill(model, HUGE, 3, 0);
    test_fill(model + 2 * HUGE, 100 * PAGE, 4, 0);
    assert_int_equal(udax_pwrite(pool, fd, model, HUGE, 0), (ssize_t)HUGE);
    assert_int_equal(udax_pwrite(pool, fd, model + 2 * HUGE, 100 * PAGE, 2 * HUGE), (ssize_t)(100 * PAGE));
    assert_int_equal(udax_ftruncate(pool, fd, SELF_SIZE), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct self_io *c = &cases[i];
        unsigned char *map = map_file(pool, fd, SELF_MAP);
        /* memmove: what a copy from a snapshot of the source gives, which overlapping copies need not give. */
        bool overlaps = c->buf < c->offset + c->length && c->offset < c->buf + c->length && c->buf != c->offset;
        ssize_t done = c->write ? udax_pwrite(pool, fd, map + c->buf, c->length, (off_t)c->offset)
                                : udax_pread(pool, fd, map + c->buf, c->length, (off_t)c->offset);
        if (done != (ssize_t)c->length)
            fail_msg("case %zu: %s returned %zd: %s", i, c->write ? "pwrite" : "pread", done, udax_last_error());
        if (c->write) {
            memmove(model + c->offset, model + c->buf, c->length);
            if (c->offset + c->length > size)
                size = c->offset + c->length;
        } else {
            memmove(model + c->buf, model + c->offset, c->length);
        }
        expect_size(pool, fd, (off_t)size);
        unsigned char *got = malloc(size);
        assert_int_equal(udax_pread(pool, fd, got, size, 0), (ssize_t)size);
        size_t b = test_first_difference(got, map, size);
        if (b < size)
            fail_msg("case %zu: byte %zu reads %#x through the mapping and %#x through pread", i, b, map[b], got[b]);
        /*
         * A write to a mapped file goes in place in strict mode too (a copy
         * would lose stores made through the mapping), so an overlapping copy
         * is as defined as memcpy's: the model takes what the file holds.
         */
        if (overlaps)
            memcpy(model, got, size);
        b = test_first_difference(got, model, size);
        if (b < size)
            fail_msg("case %zu: byte %zu reads %#x, not %#x", i, b, got[b], model[b]);
        free(got);
        assert_int_equal(udax_munmap(pool, map, SELF_MAP), 0);
    }
    free(model);
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

static void test_647_729_self_io_strict(void **state)
{
    (void)state;
    self_io(UDAX_DATA_STRICT);
}

static void test_647_729_self_io_fast(void **state)
{
    (void)state;
    self_io(UDAX_DATA_FAST);
}

/*
 * generic/438: after a truncate to the middle of a page, the rest of that
 * page reads zero through a mapping of it, and stays zero, whatever was
 * stored there, when the file grows again (by truncate, pwrite or fallocate).
 */
enum regrow { REGROW_TRUNCATE, REGROW_PWRITE, REGROW_FALLOCATE };

static void tail_zeroed(enum udax_data_mode mode, size_t file_size, size_t cut, enum regrow how)
{
    char path[128];
    struct udax_pool *pool = open_pool(path, sizeof(path), mode);
    int fd = udax_open(pool, "/tail", O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    unsigned char *want = malloc(file_size);
    test_fill(want, file_size, 5, 0);
    assert_int_equal(udax_pwrite(pool, fd, want, file_size, 0), (ssize_t)file_size);
    unsigned char *map = map_file(pool, fd, file_size);
    size_t page = cut & ~(PAGE - 1);
    memset(map + page, 0xaa, PAGE);
    memset(want + page, 0xaa, PAGE);
    assert_int_equal(udax_ftruncate(pool, fd, (off_t)cut), 0);
    memset(want + cut, 0, file_size - cut);
    expect_mapped(map, want, page + PAGE);
    assert_true(test_read_raises_sigbus((char *)map + page + PAGE));
    /* A store past the end in the last page is allowed, and lost. */
    map[cut + 1] = 0x55;
    switch (how) {
    case REGROW_TRUNCATE:
        assert_int_equal(udax_ftruncate(pool, fd, (off_t)file_size), 0);
        break;
    case REGROW_PWRITE:
        assert_int_equal(udax_pwrite(pool, fd, "z", 1, (off_t)file_size - 1), 1);
        want[file_size - 1] = 'z';
        break;
    case REGROW_FALLOCATE:
        assert_int_equal(udax_fallocate(pool, fd, 0, 0, (off_t)file_size), 0);
        break;
    }
    expect_and_finish(pool, path, fd, map, want, file_size);
}

static void test_438_tail_zeroed(void **state)
{
    (void)state;
    for (int mode = UDAX_DATA_STRICT; mode <= UDAX_DATA_FAST; mode++) {
        for (int how = REGROW_TRUNCATE; how <= REGROW_FALLOCATE; how++) {
            tail_zeroed((enum udax_data_mode)mode, 4 * PAGE, PAGE + 1000, (enum regrow)how);
            /* The cut inside a 2 MiB chunk that faulted whole. */
            tail_zeroed((enum udax_data_mode)mode, 2 * HUGE, HUGE + 5 * PAGE + 123, (enum regrow)how);
        }
    }
}

/*
 * Blocks that come back from a deleted file keep its bytes, and an append
 * into a 2 MiB chunk leaves the chunk's later pages as they are. Whatever
 * uncovers them must show zeros: the rest of the page that holds the size,
 * through a mapping, and the bytes a gap, a truncate or a fallocate brings
 * inside the size.
 */
static void reused_blocks_stay_unseen(enum udax_data_mode mode)
{
    char path[128];
    struct udax_pool *pool = open_pool(path, sizeof(path), mode);
    int fd = udax_open(pool, "/old", O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    unsigned char *junk = malloc(HUGE);
    memset(junk, 0xee, HUGE);
    for (off_t offset = 0; udax_pwrite(pool, fd, junk, HUGE, offset) == (ssize_t)HUGE; offset += HUGE)
        ;
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_unlink(pool, "/old"), 0);

    size_t size = HUGE + 8 * PAGE;
    unsigned char *want = calloc(1, size);
    test_fill(want, HUGE + 100, 9, 0);
    fd = udax_open(pool, "/new", O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    assert_int_equal(udax_write(pool, fd, want, HUGE), (ssize_t)HUGE);
    assert_int_equal(udax_write(pool, fd, want + HUGE, 100), 100);
    unsigned char *map = map_file(pool, fd, size);
    expect_mapped(map, want, HUGE + PAGE);
    assert_true(test_read_raises_sigbus((char *)map + HUGE + PAGE));

    size_t gap_write = HUGE + 3 * PAGE + 50;
    test_fill(want + gap_write, 10, 10, 0);
    assert_int_equal(udax_pwrite(pool, fd, want + gap_write, 10, (off_t)gap_write), 10);
    expect_mapped(map, want, HUGE + 4 * PAGE);
    assert_int_equal(udax_ftruncate(pool, fd, (off_t)(HUGE + 5 * PAGE + 7)), 0);
    expect_mapped(map, want, HUGE + 6 * PAGE);
    assert_int_equal(udax_fallocate(pool, fd, 0, 0, (off_t)(HUGE + 6 * PAGE + 9)), 0);
    expect_mapped(map, want, HUGE + 7 * PAGE);
    assert_int_equal(udax_ftruncate(pool, fd, (off_t)size), 0);
    free(junk);
    expect_and_finish(pool, path, fd, map, want, size);
}

static void test_reused_blocks_stay_unseen(void **state)
{
    (void)state;
    reused_blocks_stay_unseen(UDAX_DATA_STRICT);
    reused_blocks_stay_unseen(UDAX_DATA_FAST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_344_holetest_strict),
        cmocka_unit_test(test_344_holetest_fast),
        cmocka_unit_test(test_344_hole_race_strict),
        cmocka_unit_test(test_344_hole_race_fast),
        cmocka_unit_test(test_437_colliding_faults_strict),
        cmocka_unit_test(test_437_colliding_faults_fast),
        cmocka_unit_test(test_503_pin_against_truncate_strict),
        cmocka_unit_test(test_503_pin_against_truncate_fast),
        cmocka_unit_test(test_647_729_self_io_strict),
        cmocka_unit_test(test_647_729_self_io_fast),
        cmocka_unit_test(test_438_tail_zeroed),
        cmocka_unit_test(test_reused_blocks_stay_unseen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
