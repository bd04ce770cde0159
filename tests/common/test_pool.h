/* test_pool.h: helpers every test shares: fresh pools in /dev/shm, removed when the test ends. */
#ifndef UDAX_TEST_POOL_H
#define UDAX_TEST_POOL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udax.h"

/* Formats a new pool of size bytes at a unique path under /dev/shm; the path is written to path[len]. */
void test_pool_create(char *path, size_t len, uint64_t size, enum udax_data_mode mode);
/* Formats and opens a pool; aborts the test on failure. */
struct udax_pool *test_pool_new(char *path, size_t len, uint64_t size, enum udax_data_mode mode);
/* Closes pool (if not NULL), runs fsck on it, expects it clean, and removes the file. */
void test_pool_finish(struct udax_pool *pool, const char *path);
/* splitmix64: the seeded pseudo-random sequence every randomized test draws from, so a seed replays a run. */
static inline uint64_t test_random_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/*
 * The offset of the first byte where a and b differ, or size when they are
 * equal. It compares with memcmp before it looks for the byte, because under
 * ThreadSanitizer a loop over megabytes, byte by byte, takes seconds.
 */
size_t test_first_difference(const void *a, const void *b, size_t size);

/* Writes count bytes of a pattern derived from seed and offset. */
void test_fill(void *buf, size_t count, uint64_t seed, uint64_t offset);

/* A cmocka fixture: a fresh 64 MiB pool for each test, checked clean by fsck and removed at teardown. */
struct test_fixture {
    char path[128];
    struct udax_pool *pool;
};
int test_fixture_setup_strict(void **state);
int test_fixture_setup_fast(void **state);
int test_fixture_teardown(void **state);

static inline struct udax_pool *test_fixture_pool(void **state)
{
    return ((struct test_fixture *)*state)->pool;
}

/* A test run on a fresh strict-mode fixture pool. */
#define TEST_ON_POOL(test) cmocka_unit_test_setup_teardown(test, test_fixture_setup_strict, test_fixture_teardown)

/* call fails with -1 and errno err. */
#define EXPECT_ERRNO(call, err)                                                                                        \
    do {                                                                                                               \
        errno = 0;                                                                                                     \
        assert_int_equal((long)(call), -1);                                                                            \
        assert_int_equal(errno, (err));                                                                                \
    } while (0)

/* Copies len bytes (to or from a udax mapping): the address of the SIGBUS the copy raised, or NULL. */
void *test_guarded_copy(void *dst, const void *src, size_t len);
/* Whether reading addr raises SIGBUS; fails the test when the signal names another address. */
bool test_read_raises_sigbus(const volatile char *addr);

#endif
