/* test_failure.c: the first failure of a test's worker threads, reported on the test's own thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "test_failure.h"

void test_failure_init(struct test_failure *failure)
{
    failure->failed = false;
    failure->message[0] = '\0';
    pthread_mutex_init(&failure->lock, NULL);
}

void test_failure_record(struct test_failure *failure, const char *fmt, ...)
{
    pthread_mutex_lock(&failure->lock);
    if (!failure->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(failure->message, sizeof(failure->message), fmt, ap);
        va_end(ap);
        __atomic_store_n(&failure->failed, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&failure->lock);
}

bool test_failure_seen(struct test_failure *failure)
{
    return __atomic_load_n(&failure->failed, __ATOMIC_ACQUIRE);
}

void test_failure_check(struct test_failure *failure)
{
    if (test_failure_seen(failure))
        fail_msg("%s", failure->message);
}

void test_failure_destroy(struct test_failure *failure)
{
    pthread_mutex_destroy(&failure->lock);
}
