/* test_threads.c: several threads calling udax on one pool at once, their results checked after they meet. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test_failure.h"
#include "test_pool.h"
#include "udax.h"

#define THREADS 4
#define POOL_SIZE (256ULL << 20)
#define BLOCK 4096

/* What all threads of one scenario share: the pool, the start line and the first failure. */
struct run {
    struct udax_pool *pool;
    pthread_barrier_t start;
    struct test_failure failure;
    void *scenario;
};

struct worker {
    struct run *run;
    int id;
    pthread_t thread;
};

#define EXPECT(run, condition, ...)                                                                                    \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            test_failure_record(&run->failure, __VA_ARGS__);                                                           \
            return NULL;                                                                                               \
        }                                                                                                              \
    } while (0)

static void run_init(struct run *run, enum udax_data_mode mode, char *path, size_t len, void *scenario)
{
    memset(run, 0, sizeof(*run));
    run->pool = test_pool_new(path, len, POOL_SIZE, mode);
    test_failure_init(&run->failure);
    run->scenario = scenario;
}

/* Starts count workers on body, which begin together at the barrier, and waits for all of them. */
static void run_workers(struct run *run, void *(*body)(void *), int count)
{
    struct worker workers[THREADS + 1];
    assert_true(count <= THREADS + 1);
    assert_int_equal(pthread_barrier_init(&run->start, NULL, (unsigned)count), 0);
    for (int i = 0; i < count; i++) {
        workers[i] = (struct worker){.run = run, .id = i};
        assert_int_equal(pthread_create(&workers[i].thread, NULL, body, &workers[i]), 0);
    }
    for (int i = 0; i < count; i++)
        assert_int_equal(pthread_join(workers[i].thread, NULL), 0);
    pthread_barrier_destroy(&run->start);
    test_failure_check(&run->failure);
}

static void run_finish(struct run *run, const char *path)
{
    test_failure_destroy(&run->failure);
    test_pool_finish(run->pool, path);
}

static void expect_listing(struct udax_pool *pool, const char *dir_path, const char *const *names, size_t count)
{
    UDAX_DIR *dir = udax_opendir(pool, dir_path);
    assert_non_null(dir);
    size_t seen = 0;
    for (struct dirent *e; (e = udax_readdir(pool, dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        bool expected = false;
        for (size_t i = 0; i < count && !expected; i++)
            expected = !strcmp(e->d_name, names[i]);
        if (!expected)
            fail_msg("%s holds unexpected name %s", dir_path, e->d_name);
        seen++;
    }
    assert_int_equal(udax_closedir(pool, dir), 0);
    assert_int_equal(seen, count);
}

static uint64_t file_count(struct udax_pool *pool)
{
    struct udax_pool_info info;
    assert_int_equal(udax_pool_info(pool, &info), 0);
    return info.files;
}

/* (a) Each thread creates, writes, reads back, renames and removes its own files, in its own and a shared directory. */

#define FILE_ROUNDS 1500
#define FILE_MAX_LEN 20000

static void *own_files_worker(void *arg)
{
    struct worker *w = arg;
    struct run *run = w->run;
    struct udax_pool *pool = run->pool;
    unsigned char out[FILE_MAX_LEN], in[FILE_MAX_LEN];
    char own_dir[32];
    snprintf(own_dir, sizeof(own_dir), "own-%d", w->id);
    pthread_barrier_wait(&run->start);
    for (int round = 0; round < FILE_ROUNDS && !test_failure_seen(&run->failure); round++) {
        const char *dir = round % 2 ? "shared" : own_dir, *other_dir = round % 2 ? own_dir : "shared";
        char path[64], moved[64], renamed[64], subdir[64];
        snprintf(path, sizeof(path), "%s/f-%d-%d", dir, w->id, round);
        snprintf(moved, sizeof(moved), "%s/m-%d-%d", other_dir, w->id, round);
        snprintf(renamed, sizeof(renamed), "shared/r-%d-%d", w->id, round);
        snprintf(subdir, sizeof(subdir), "shared/d-%d-%d", w->id, round);
        size_t len = 1 + (size_t)round * 7919 % FILE_MAX_LEN;
        test_fill(out, len, (uint64_t)w->id << 32 | (uint64_t)round, 0);

        int fd = udax_open(pool, path, O_CREAT | O_EXCL | O_RDWR, 0644);
        EXPECT(run, fd >= 0, "create %s: %s", path, udax_last_error());
        EXPECT(run, udax_write(pool, fd, out, len) == (ssize_t)len, "write %s: %s", path, udax_last_error());
        EXPECT(run, udax_pread(pool, fd, in, len, 0) == (ssize_t)len && !memcmp(in, out, len), "read back %s", path);
        EXPECT(run, udax_close(pool, fd) == 0, "close %s", path);
        EXPECT(run, udax_mkdir(pool, subdir, 0755) == 0, "mkdir %s: %s", subdir, udax_last_error());

        EXPECT(run, udax_rename(pool, path, moved) == 0, "rename %s %s: %s", path, moved, udax_last_error());
        EXPECT(run, udax_rename(pool, moved, renamed) == 0, "rename %s %s: %s", moved, renamed, udax_last_error());
        struct stat st;
        EXPECT(run, udax_stat(pool, path, &st) == -1 && errno == ENOENT, "%s still there after rename", path);
        EXPECT(run, udax_stat(pool, moved, &st) == -1 && errno == ENOENT, "%s still there after rename", moved);
        EXPECT(run, udax_stat(pool, renamed, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == (off_t)len,
               "stat %s after rename", renamed);
        fd = udax_open(pool, renamed, O_RDONLY);
        EXPECT(run, fd >= 0, "open %s: %s", renamed, udax_last_error());
        EXPECT(run, udax_read(pool, fd, in, sizeof(in)) == (ssize_t)len && !memcmp(in, out, len),
               "read %s after rename", renamed);
        EXPECT(run, udax_close(pool, fd) == 0, "close %s", renamed);

        EXPECT(run, udax_unlink(pool, renamed) == 0, "unlink %s: %s", renamed, udax_last_error());
        EXPECT(run, udax_rmdir(pool, subdir) == 0, "rmdir %s: %s", subdir, udax_last_error());
    }
    return NULL;
}

static void own_files(enum udax_data_mode mode)
{
    char path[128];
    struct run run;
    run_init(&run, mode, path, sizeof(path), NULL);
    assert_int_equal(udax_mkdir(run.pool, "shared", 0755), 0);
    for (int i = 0; i < THREADS; i++) {
        char dir[32];
        snprintf(dir, sizeof(dir), "own-%d", i);
        assert_int_equal(udax_mkdir(run.pool, dir, 0755), 0);
    }
    run_workers(&run, own_files_worker, THREADS);
    /* The workers closed every descriptor they opened, racing one another's opens: the lowest is free again. */
    int fd = udax_open(run.pool, "shared", O_RDONLY | O_DIRECTORY);
    assert_int_equal(fd, 0);
    assert_int_equal(udax_close(run.pool, fd), 0);
    expect_listing(run.pool, "shared", NULL, 0);
    for (int i = 0; i < THREADS; i++) {
        char dir[32];
        snprintf(dir, sizeof(dir), "own-%d", i);
        expect_listing(run.pool, dir, NULL, 0);
    }
    assert_int_equal(file_count(run.pool), 0);
    struct stat st;
    assert_int_equal(udax_stat(run.pool, "shared", &st), 0);
    assert_int_equal(st.st_nlink, 2);
    run_finish(&run, path);
}

static void test_own_files_strict(void **state)
{
    (void)state;
    own_files(UDAX_DATA_STRICT);
}

static void test_own_files_fast(void **state)
{
    (void)state;
    own_files(UDAX_DATA_FAST);
}

/*
 * (b) Threads write and read disjoint stripes of one file. A stripe is not a
 * multiple of the block size, so neighbouring threads share blocks, and the
 * file reaches past 2 MiB while it grows from every thread at once.
 */

#define STRIPE 5000
#define STRIPES 1024
#define STRIPE_ROUNDS 16
#define STRIPES_PER_THREAD (STRIPES / THREADS)
_Static_assert((STRIPES_PER_THREAD & (STRIPES_PER_THREAD - 1)) == 0, "orders below need a power of two");

struct stripes {
    int shared_fd;
};

static uint64_t stripe_seed(unsigned stripe, int round)
{
    return (uint64_t)stripe << 16 | (uint64_t)round;
}

static void *stripes_worker(void *arg)
{
    struct worker *w = arg;
    struct run *run = w->run;
    struct stripes *s = run->scenario;
    unsigned char out[STRIPE], in[STRIPE];
    pthread_barrier_wait(&run->start);
    int fd = w->id % 2 ? s->shared_fd : udax_open(run->pool, "striped", O_RDWR);
    EXPECT(run, fd >= 0, "open striped: %s", udax_last_error());
    for (int round = 0; round < STRIPE_ROUNDS && !test_failure_seen(&run->failure); round++) {
        /* Each round visits the thread's stripes in another order: an odd stride modulo a power of two. */
        unsigned stride = 2 * (unsigned)(round + w->id) + 1;
        for (unsigned k = 0; k < STRIPES_PER_THREAD; k++) {
            unsigned stripe = (unsigned)w->id + THREADS * (k * stride % STRIPES_PER_THREAD);
            off_t offset = (off_t)stripe * STRIPE;
            test_fill(out, STRIPE, stripe_seed(stripe, round), 0);
            EXPECT(run, udax_pwrite(run->pool, fd, out, STRIPE, offset) == STRIPE, "pwrite stripe %u: %s", stripe,
                   udax_last_error());
            EXPECT(run, udax_pread(run->pool, fd, in, STRIPE, offset) == STRIPE && !memcmp(in, out, STRIPE),
                   "stripe %u did not read back in round %d", stripe, round);
        }
    }
    if (fd != s->shared_fd)
        EXPECT(run, udax_close(run->pool, fd) == 0, "close striped");
    return NULL;
}

static void stripes(enum udax_data_mode mode)
{
    char path[128];
    struct run run;
    struct stripes s;
    run_init(&run, mode, path, sizeof(path), &s);
    s.shared_fd = udax_open(run.pool, "striped", O_CREAT | O_RDWR, 0644);
    assert_true(s.shared_fd >= 0);
    run_workers(&run, stripes_worker, THREADS);
    struct stat st;
    assert_int_equal(udax_fstat(run.pool, s.shared_fd, &st), 0);
    assert_int_equal(st.st_size, (off_t)STRIPES * STRIPE);
    unsigned char expected[STRIPE], got[STRIPE];
    for (unsigned stripe = 0; stripe < STRIPES; stripe++) {
        test_fill(expected, STRIPE, stripe_seed(stripe, STRIPE_ROUNDS - 1), 0);
        assert_int_equal(udax_pread(run.pool, s.shared_fd, got, STRIPE, (off_t)stripe * STRIPE), STRIPE);
        if (memcmp(got, expected, STRIPE))
            fail_msg("stripe %u does not hold its last write", stripe);
    }
    assert_int_equal(udax_close(run.pool, s.shared_fd), 0);
    run_finish(&run, path);
}

static void test_stripes_strict(void **state)
{
    (void)state;
    stripes(UDAX_DATA_STRICT);
}

static void test_stripes_fast(void **state)
{
    (void)state;
    stripes(UDAX_DATA_FAST);
}

/*
 * (c) Threads append fixed-size records through O_APPEND, some through one
 * shared descriptor and some through their own; records straddle blocks.
 */

#define RECORD 200
#define RECORDS_PER_THREAD 10000

struct record_header {
    uint32_t thread;
    uint32_t sequence;
};

struct appends {
    int shared_fd;
};

static void fill_record(unsigned char *record, uint32_t thread, uint32_t sequence)
{
    struct record_header header = {thread, sequence};
    memcpy(record, &header, sizeof(header));
    test_fill(record + sizeof(header), RECORD - sizeof(header), (uint64_t)thread << 32 | sequence, 0);
}

static void *appends_worker(void *arg)
{
    struct worker *w = arg;
    struct run *run = w->run;
    struct appends *a = run->scenario;
    pthread_barrier_wait(&run->start);
    int fd = w->id % 2 ? a->shared_fd : udax_open(run->pool, "log", O_WRONLY | O_APPEND);
    EXPECT(run, fd >= 0, "open log: %s", udax_last_error());
    unsigned char record[RECORD];
    for (uint32_t sequence = 0; sequence < RECORDS_PER_THREAD && !test_failure_seen(&run->failure); sequence++) {
        fill_record(record, (uint32_t)w->id, sequence);
        ssize_t written;
        if (sequence % 3 == 0) {
            struct iovec iov[2] = {{record, sizeof(struct record_header)},
                                   {record + sizeof(struct record_header), RECORD - sizeof(struct record_header)}};
            written = udax_writev(run->pool, fd, iov, 2);
        } else {
            written = udax_write(run->pool, fd, record, RECORD);
        }
        EXPECT(run, written == RECORD, "append %u of thread %d: %zd, %s", sequence, w->id, written,
               udax_last_error());
    }
    if (fd != a->shared_fd)
        EXPECT(run, udax_close(run->pool, fd) == 0, "close log");
    return NULL;
}

static void appends(enum udax_data_mode mode)
{
    char path[128];
    struct run run;
    struct appends a;
    run_init(&run, mode, path, sizeof(path), &a);
    a.shared_fd = udax_open(run.pool, "log", O_CREAT | O_WRONLY | O_APPEND, 0644);
    assert_true(a.shared_fd >= 0);
    run_workers(&run, appends_worker, THREADS);
    assert_int_equal(udax_close(run.pool, a.shared_fd), 0);

    size_t size = (size_t)THREADS * RECORDS_PER_THREAD * RECORD;
    unsigned char *contents = malloc(size + 1);
    assert_non_null(contents);
    int fd = udax_open(run.pool, "log", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(udax_pread(run.pool, fd, contents, size + 1, 0), (ssize_t)size);
    assert_int_equal(udax_close(run.pool, fd), 0);
    int64_t last[THREADS];
    for (int t = 0; t < THREADS; t++)
        last[t] = -1;
    unsigned char expected[RECORD];
    for (size_t offset = 0; offset < size; offset += RECORD) {
        struct record_header header;
        memcpy(&header, contents + offset, sizeof(header));
        if (header.thread >= THREADS || header.sequence >= RECORDS_PER_THREAD)
            fail_msg("record at %zu is not one that was written", offset);
        /* One thread's appends are ordered, so its sequence numbers rise; each one once means no loss either. */
        if ((int64_t)header.sequence != last[header.thread] + 1)
            fail_msg("record at %zu is %u of thread %u, after %" PRId64, offset, header.sequence, header.thread,
                     last[header.thread]);
        last[header.thread] = header.sequence;
        fill_record(expected, header.thread, header.sequence);
        if (memcmp(contents + offset, expected, RECORD))
            fail_msg("record at %zu (%u of thread %u) is torn", offset, header.sequence, header.thread);
    }
    free(contents);
    run_finish(&run, path);
}

static void test_appends_strict(void **state)
{
    (void)state;
    appends(UDAX_DATA_STRICT);
}

static void test_appends_fast(void **state)
{
    (void)state;
    appends(UDAX_DATA_FAST);
}

/*
 * (d) One writer replaces whole block-aligned records, one or two per call,
 * while the other threads read spans of records. In strict mode each read
 * must see every record as one whole version, and never an older version of
 * a record than it saw before. Fast mode promises no such thing for in-place
 * overwrites, so there only the final contents are checked.
 */

#define VERSIONED_RECORDS 16
#define VERSIONS 4000

struct versions {
    int fd;
    bool strict;
    bool writer_done;
    uint32_t last_version[VERSIONED_RECORDS];
};

struct version_header {
    uint32_t record;
    uint32_t version;
};

static void fill_version(unsigned char *block, uint32_t record, uint32_t version)
{
    struct version_header header = {record, version};
    memcpy(block, &header, sizeof(header));
    test_fill(block + sizeof(header), BLOCK - sizeof(header), (uint64_t)record << 32 | version, 0);
}

static bool whole_version(const unsigned char *block, uint32_t record, uint32_t *version)
{
    unsigned char expected[BLOCK];
    struct version_header header;
    memcpy(&header, block, sizeof(header));
    if (header.record != record || header.version > VERSIONS)
        return false;
    fill_version(expected, record, header.version);
    *version = header.version;
    return !memcmp(block, expected, BLOCK);
}

static void *versions_writer(struct run *run, struct versions *v)
{
    unsigned char blocks[2 * BLOCK];
    for (uint32_t version = 1; version <= VERSIONS && !test_failure_seen(&run->failure); version++) {
        uint32_t record = version * 7 % VERSIONED_RECORDS;
        uint32_t count = version % 4 == 0 && record + 1 < VERSIONED_RECORDS ? 2 : 1;
        for (uint32_t i = 0; i < count; i++) {
            fill_version(blocks + i * BLOCK, record + i, version);
            v->last_version[record + i] = version;
        }
        ssize_t written = udax_pwrite(run->pool, v->fd, blocks, count * BLOCK, (off_t)record * BLOCK);
        EXPECT(run, written == (ssize_t)(count * BLOCK), "overwrite record %u: %s", record, udax_last_error());
    }
    return NULL;
}

static void *versions_reader(struct run *run, struct versions *v, int id)
{
    unsigned char blocks[4 * BLOCK];
    uint32_t seen[VERSIONED_RECORDS] = {0};
    unsigned reads = 0;
    do {
        uint32_t first = (uint32_t)(reads * 5 + (unsigned)id) % VERSIONED_RECORDS;
        uint32_t count = 1 + (reads + (unsigned)id) % 4;
        if (first + count > VERSIONED_RECORDS)
            count = VERSIONED_RECORDS - first;
        ssize_t got = udax_pread(run->pool, v->fd, blocks, count * BLOCK, (off_t)first * BLOCK);
        EXPECT(run, got == (ssize_t)(count * BLOCK), "read records %u+%u: %zd", first, count, got);
        for (uint32_t i = 0; v->strict && i < count; i++) {
            uint32_t version;
            EXPECT(run, whole_version(blocks + i * BLOCK, first + i, &version), "record %u read torn", first + i);
            EXPECT(run, version >= seen[first + i], "record %u went back from version %u to %u", first + i,
                   seen[first + i], version);
            seen[first + i] = version;
        }
        reads++;
    } while (!__atomic_load_n(&v->writer_done, __ATOMIC_ACQUIRE) && !test_failure_seen(&run->failure));
    return NULL;
}

static void *versions_worker(void *arg)
{
    struct worker *w = arg;
    struct versions *v = w->run->scenario;
    pthread_barrier_wait(&w->run->start);
    if (w->id)
        return versions_reader(w->run, v, w->id);
    void *result = versions_writer(w->run, v);
    __atomic_store_n(&v->writer_done, true, __ATOMIC_RELEASE);
    return result;
}

static void versions(enum udax_data_mode mode)
{
    char path[128];
    struct run run;
    struct versions v = {.strict = mode == UDAX_DATA_STRICT};
    run_init(&run, mode, path, sizeof(path), &v);
    int fd = v.fd = udax_open(run.pool, "records", O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    unsigned char block[BLOCK];
    for (uint32_t record = 0; record < VERSIONED_RECORDS; record++) {
        fill_version(block, record, 0);
        assert_int_equal(udax_pwrite(run.pool, fd, block, BLOCK, (off_t)record * BLOCK), BLOCK);
    }
    run_workers(&run, versions_worker, THREADS);
    for (uint32_t record = 0; record < VERSIONED_RECORDS; record++) {
        uint32_t version;
        assert_int_equal(udax_pread(run.pool, fd, block, BLOCK, (off_t)record * BLOCK), BLOCK);
        assert_true(whole_version(block, record, &version));
        assert_int_equal(version, v.last_version[record]);
    }
    assert_int_equal(udax_close(run.pool, fd), 0);
    run_finish(&run, path);
}

static void test_versions_strict(void **state)
{
    (void)state;
    versions(UDAX_DATA_STRICT);
}

static void test_versions_fast(void **state)
{
    (void)state;
    versions(UDAX_DATA_FAST);
}

/*
 * (e) Threads create, rename and unlink names in one directory while another
 * thread lists it and stats what it lists. Every listing must hold "." and
 * ".." and the names that never change, each once, and nothing that was
 * never created.
 */

#define CHURN_ROUNDS 4000
#define CHURN_KEPT 8
#define CHURN_LIVE 4
#define CHURN_SURVIVORS 3
#define CHURN_CREATORS (THREADS - 1)
#define MAX_LISTED 128

struct churn {
    int creators_left;
};

static void churn_name(char *out, size_t len, int thread, int round, bool renamed)
{
    snprintf(out, len, "churn/%c-%d-%d", renamed ? 'm' : 'c', thread, round);
}

/* A round's name after the round: odd rounds renamed their file. */
static void churn_final_name(char *out, size_t len, int thread, int round)
{
    churn_name(out, len, thread, round, round % 2);
}

static void *churn_creator(struct run *run, int id)
{
    for (int round = 0; round < CHURN_ROUNDS && !test_failure_seen(&run->failure); round++) {
        char path[64], moved[64];
        churn_name(path, sizeof(path), id, round, false);
        int fd = udax_open(run->pool, path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        EXPECT(run, fd >= 0, "create %s: %s", path, udax_last_error());
        EXPECT(run, udax_write(run->pool, fd, path, strlen(path)) == (ssize_t)strlen(path), "write %s", path);
        EXPECT(run, udax_close(run->pool, fd) == 0, "close %s", path);
        if (round % 2) {
            churn_name(moved, sizeof(moved), id, round, true);
            EXPECT(run, udax_rename(run->pool, path, moved) == 0, "rename %s: %s", path, udax_last_error());
        }
        if (round >= CHURN_LIVE) {
            churn_final_name(path, sizeof(path), id, round - CHURN_LIVE);
            EXPECT(run, udax_unlink(run->pool, path) == 0, "unlink %s: %s", path, udax_last_error());
        }
    }
    for (int round = CHURN_ROUNDS - CHURN_LIVE;
         round < CHURN_ROUNDS - CHURN_SURVIVORS && !test_failure_seen(&run->failure); round++) {
        char path[64];
        churn_final_name(path, sizeof(path), id, round);
        EXPECT(run, udax_unlink(run->pool, path) == 0, "unlink %s: %s", path, udax_last_error());
    }
    return NULL;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool churn_name_valid(const char *name)
{
    char kind;
    int thread, round, used = 0;
    if (sscanf(name, "%c-%d-%d%n", &kind, &thread, &round, &used) != 3 || name[used])
        return false;
    return (kind == 'c' || kind == 'm') && thread >= 0 && thread < CHURN_CREATORS && round >= 0 &&
           round < CHURN_ROUNDS;
}

static void *churn_lister(struct run *run, struct churn *c)
{
    char names[MAX_LISTED][256];
    char *sorted[MAX_LISTED];
    unsigned listings = 0;
    do {
        UDAX_DIR *dir = udax_opendir(run->pool, "churn");
        EXPECT(run, dir, "opendir churn: %s", udax_last_error());
        size_t count = 0;
        for (struct dirent *e; count < MAX_LISTED && (e = udax_readdir(run->pool, dir));) {
            snprintf(names[count], sizeof(names[count]), "%s", e->d_name);
            sorted[count] = names[count];
            count++;
        }
        EXPECT(run, udax_closedir(run->pool, dir) == 0, "closedir churn");
        EXPECT(run, count < MAX_LISTED, "churn lists too many names");
        qsort(sorted, count, sizeof(sorted[0]), compare_names);
        size_t kept = 0, dots = 0;
        for (size_t i = 0; i < count; i++) {
            EXPECT(run, i == 0 || strcmp(sorted[i - 1], sorted[i]), "churn lists %s twice", sorted[i]);
            if (!strcmp(sorted[i], ".") || !strcmp(sorted[i], "..")) {
                dots++;
                continue;
            }
            if (!strncmp(sorted[i], "keep-", 5)) {
                kept++;
                continue;
            }
            EXPECT(run, churn_name_valid(sorted[i]), "churn lists %s, which was never created", sorted[i]);
            char path[300];
            struct stat st;
            snprintf(path, sizeof(path), "churn/%s", sorted[i]);
            EXPECT(run, udax_stat(run->pool, path, &st) == 0 || errno == ENOENT, "stat %s: %s", path,
                   udax_last_error());
        }
        EXPECT(run, dots == 2 && kept == CHURN_KEPT, "listing %u of churn: %zu dots, %zu of %d kept names", listings,
               dots, kept, CHURN_KEPT);
        listings++;
    } while (__atomic_load_n(&c->creators_left, __ATOMIC_ACQUIRE) && !test_failure_seen(&run->failure));
    return NULL;
}

static void *churn_worker(void *arg)
{
    struct worker *w = arg;
    struct churn *c = w->run->scenario;
    pthread_barrier_wait(&w->run->start);
    if (w->id == CHURN_CREATORS)
        return churn_lister(w->run, c);
    void *result = churn_creator(w->run, w->id);
    __atomic_sub_fetch(&c->creators_left, 1, __ATOMIC_RELEASE);
    return result;
}

static void churn(enum udax_data_mode mode)
{
    char path[128];
    struct run run;
    struct churn c = {.creators_left = CHURN_CREATORS};
    run_init(&run, mode, path, sizeof(path), &c);
    assert_int_equal(udax_mkdir(run.pool, "churn", 0755), 0);
    char kept[CHURN_KEPT][32];
    for (int i = 0; i < CHURN_KEPT; i++) {
        snprintf(kept[i], sizeof(kept[i]), "churn/keep-%d", i);
        int fd = udax_open(run.pool, kept[i], O_CREAT | O_EXCL | O_WRONLY, 0644);
        assert_true(fd >= 0);
        assert_int_equal(udax_close(run.pool, fd), 0);
    }
    run_workers(&run, churn_worker, CHURN_CREATORS + 1);

    char survivors[CHURN_KEPT + CHURN_CREATORS * CHURN_SURVIVORS][64];
    const char *expected[CHURN_KEPT + CHURN_CREATORS * CHURN_SURVIVORS];
    size_t count = 0;
    for (int i = 0; i < CHURN_KEPT; i++)
        snprintf(survivors[count++], sizeof(survivors[0]), "keep-%d", i);
    for (int t = 0; t < CHURN_CREATORS; t++)
        for (int round = CHURN_ROUNDS - CHURN_SURVIVORS; round < CHURN_ROUNDS; round++) {
            char full[64];
            churn_final_name(full, sizeof(full), t, round);
            snprintf(survivors[count++], sizeof(survivors[0]), "%s", full + strlen("churn/"));
        }
    for (size_t i = 0; i < count; i++)
        expected[i] = survivors[i];
    expect_listing(run.pool, "churn", expected, count);
    assert_int_equal(file_count(run.pool), count);
    run_finish(&run, path);
}

static void test_churn_strict(void **state)
{
    (void)state;
    churn(UDAX_DATA_STRICT);
}

static void test_churn_fast(void **state)
{
    (void)state;
    churn(UDAX_DATA_FAST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_files_strict), cmocka_unit_test(test_own_files_fast),
        cmocka_unit_test(test_stripes_strict),   cmocka_unit_test(test_stripes_fast),
        cmocka_unit_test(test_appends_strict),   cmocka_unit_test(test_appends_fast),
        cmocka_unit_test(test_versions_strict),  cmocka_unit_test(test_versions_fast),
        cmocka_unit_test(test_churn_strict),     cmocka_unit_test(test_churn_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
