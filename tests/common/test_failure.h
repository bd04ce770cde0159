/* test_failure.h: the first failure of a test's worker threads, which cannot use cmocka's checks: those jump out of the calling thread's stack. */
#ifndef UDAX_TEST_FAILURE_H
#define UDAX_TEST_FAILURE_H

#include <pthread.h>
#include <stdbool.h>

struct test_failure {
    pthread_mutex_t lock;
    bool failed;
    char message[512];
};

void test_failure_init(struct test_failure *failure);
/* Keeps the first message recorded; later ones are dropped. */
void test_failure_record(struct test_failure *failure, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool test_failure_seen(struct test_failure *failure);
/* On the test's own thread, once the workers are done: fails the test with the message recorded, if any. */
void test_failure_check(struct test_failure *failure);
void test_failure_destroy(struct test_failure *failure);

#endif
