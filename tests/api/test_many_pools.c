/* test_many_pools.c: a process that has opened a thousand pools still sets thread credentials, and frees them at thread exit. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "test_pool.h"

/* More than the 1,024 thread-specific keys of a process: libpmem2 1.12 takes one per map and never gives it back. */
#define POOL_OPENS 1100

static struct udax_pool *pool;

/* Returns what udax_set_thread_cred did: cmocka's checks may only run on the test's own thread. */
static void *set_cred_and_exit(void *result)
{
    gid_t groups[] = {100, 200, 300};
    struct udax_cred cred = {.uid = 1000, .gid = 1000, .umask = 022, .groups = groups, .group_count = 3};
    *(int *)result = udax_set_thread_cred(pool, &cred);
    return NULL;
}

/*
 * The group list lives as long as its thread: it is freed by a
 * thread-specific destructor. Were that key created after the opens, there
 * would be none left, and LeakSanitizer (the ASan build) reports the lists.
 */
static void test_thread_cred_after_many_opens(void **state)
{
    (void)state;
    char path[128];
    test_pool_create(path, sizeof(path), 64ULL << 20, UDAX_DATA_STRICT);
    for (int i = 0; i < POOL_OPENS; i++) {
        pool = udax_pool_open(path, NULL);
        if (!pool)
            fail_msg("open %d: %s", i, udax_last_error());
        assert_int_equal(udax_pool_close(pool), 0);
    }
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    for (int i = 0; i < 4; i++) {
        pthread_t thread;
        int result = -1;
        assert_int_equal(pthread_create(&thread, NULL, set_cred_and_exit, &result), 0);
        assert_int_equal(pthread_join(thread, NULL), 0);
        assert_int_equal(result, 0);
    }
    test_pool_finish(pool, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_thread_cred_after_many_opens)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
