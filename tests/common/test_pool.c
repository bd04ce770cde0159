/* test_pool.c: pool set-up and tear-down for tests, with an fsck check at the end of each. */
#include "test_pool.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void report_problem(void *arg, const char *problem)
{
    (void)arg;
    print_error("fsck: %s\n", problem);
}

/*
 * Pools that a test made and has not finished: a failed assertion leaves the
 * test before test_pool_finish, and the pool, tens of MiB, stayed in /dev/shm.
 * cmocka goes on to the next test, and the process's exit removes them.
 */
#define UNFINISHED_SLOTS 64
static char unfinished[UNFINISHED_SLOTS][64];
static pthread_mutex_t unfinished_lock = PTHREAD_MUTEX_INITIALIZER;

static pid_t unfinished_owner;

/* In /dev/shm: the process that made the pool, and its count of pools so far. */
#define TEST_POOL_NAME "udax-test-%d-%d.pool"

/* Only in the process that made them: a forked child that exits must not take its parent's pools. */
static void remove_unfinished(void)
{
    for (int i = 0; i < UNFINISHED_SLOTS && getpid() == unfinished_owner; i++)
        if (unfinished[i][0])
            unlink(unfinished[i]);
}

static void remember_unfinished(const char *path)
{
    static bool registered;
    pthread_mutex_lock(&unfinished_lock);
    if (!registered) {
        unfinished_owner = getpid();
        registered = atexit(remove_unfinished) == 0;
    }
    for (int i = 0; i < UNFINISHED_SLOTS; i++) {
        if (!unfinished[i][0]) {
            snprintf(unfinished[i], sizeof(unfinished[i]), "%s", path);
            break;
        }
    }
    pthread_mutex_unlock(&unfinished_lock);
}

static void forget_unfinished(const char *path)
{
    pthread_mutex_lock(&unfinished_lock);
    for (int i = 0; i < UNFINISHED_SLOTS; i++) {
        if (!strcmp(unfinished[i], path)) {
            unfinished[i][0] = '\0';
            break;
        }
    }
    pthread_mutex_unlock(&unfinished_lock);
}

/*
 * A test process killed by a signal (a timeout, a crash) leaves its pools
 * behind, which no exit handler removes: the first pool a later test
 * process makes removes those whose process no longer exists.
 */
static void remove_pools_of_dead_processes(void)
{
    DIR *shm = opendir("/dev/shm");
    if (!shm)
        return;
    struct dirent *entry;
    while ((entry = readdir(shm))) {
        int pid, sequence;
        if (sscanf(entry->d_name, TEST_POOL_NAME, &pid, &sequence) != 2 || pid <= 0)
            continue;
        if (kill(pid, 0) != 0 && errno == ESRCH) {
            char path[300];
            snprintf(path, sizeof(path), "/dev/shm/%s", entry->d_name);
            unlink(path);
        }
    }
    closedir(shm);
}

void test_pool_create(char *path, size_t len, uint64_t size, enum udax_data_mode mode)
{
    static int sequence;
    static pthread_once_t swept = PTHREAD_ONCE_INIT;
    pthread_once(&swept, remove_pools_of_dead_processes);
    snprintf(path, len, "/dev/shm/" TEST_POOL_NAME, (int)getpid(), __atomic_fetch_add(&sequence, 1, __ATOMIC_RELAXED));
    unlink(path);
    remember_unfinished(path);
    struct udax_mkfs_options opts = {.data_mode = mode};
    if (udax_pool_create(path, size, &opts) != 0)
        fail_msg("mkfs %s: %s", path, udax_last_error());
}

struct udax_pool *test_pool_new(char *path, size_t len, uint64_t size, enum udax_data_mode mode)
{
    test_pool_create(path, len, size, mode);
    struct udax_pool *pool = udax_pool_open(path, NULL);
    if (!pool)
        fail_msg("open %s: %s", path, udax_last_error());
    return pool;
}

void test_pool_finish(struct udax_pool *pool, const char *path)
{
    if (pool)
        assert_int_equal(udax_pool_close(pool), 0);
    struct udax_fsck_options opts = {.report = report_problem};
    struct udax_fsck_result result;
    int status = udax_fsck(path, &opts, &result);
    unlink(path);
    forget_unfinished(path);
    assert_int_equal(status, UDAX_FSCK_CLEAN);
}

size_t test_first_difference(const void *a, const void *b, size_t size)
{
    const unsigned char *x = a, *y = b;
    if (memcmp(x, y, size) == 0)
        return size;
    size_t i = 0;
    while (x[i] == y[i])
        i++;
    return i;
}

void test_fill(void *buf, size_t count, uint64_t seed, uint64_t offset)
{
    unsigned char *bytes = buf;
    for (size_t i = 0; i < count; i++) {
        uint64_t x = (seed + offset + i) * 0x9E3779B97F4A7C15ULL;
        bytes[i] = (unsigned char)(x >> 56);
    }
}

static sigjmp_buf bus_jump;
static void *volatile bus_addr;

static void on_sigbus(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    bus_addr = info->si_addr;
    siglongjmp(bus_jump, 1);
}

void *test_guarded_copy(void *dst, const void *src, size_t len)
{
    struct sigaction action = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO}, old;
    sigaction(SIGBUS, &action, &old);
    bus_addr = NULL;
    if (!sigsetjmp(bus_jump, 1))
        memcpy(dst, src, len);
    sigaction(SIGBUS, &old, NULL);
    return bus_addr;
}

bool test_read_raises_sigbus(const volatile char *addr)
{
    char byte;
    void *at = test_guarded_copy(&byte, (const char *)addr, 1);
    if (at)
        assert_ptr_equal(at, (const void *)addr);
    return at != NULL;
}

#define FIXTURE_POOL_SIZE (64ULL << 20)

static int fixture_setup(void **state, enum udax_data_mode mode)
{
    struct test_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->pool = test_pool_new(f->path, sizeof(f->path), FIXTURE_POOL_SIZE, mode);
    *state = f;
    return 0;
}

int test_fixture_setup_strict(void **state)
{
    return fixture_setup(state, UDAX_DATA_STRICT);
}

int test_fixture_setup_fast(void **state)
{
    return fixture_setup(state, UDAX_DATA_FAST);
}

int test_fixture_teardown(void **state)
{
    struct test_fixture *f = *state;
    test_pool_finish(f->pool, f->path);
    free(f);
    return 0;
}
