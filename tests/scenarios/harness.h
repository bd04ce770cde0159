/*
 * harness.h: deterministic thread choreography for the scenario tests. Test
 * threads meet at the named hook points of the code (util/hooks.h): a thread
 * can be parked at a point and released, and the test can wait until a thread
 * reaches a point. A watchdog turns a hang into a failure with a thread dump.
 */
#ifndef UDAX_HARNESS_H
#define UDAX_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

struct harness_thread;

/* Installs the hook and starts the watchdog, which fails the process after seconds. */
void harness_init(unsigned seconds);

/* Starts fn(arg) in a new thread named name; with park_at, it parks whenever it reaches that point. */
struct harness_thread *harness_start(const char *name, void *(*fn)(void *), void *arg, const char *park_at);
/* Parks t whenever it reaches point, until harness_unpark (which also releases it). */
void harness_park_at(struct harness_thread *t, const char *point);
void harness_unpark(struct harness_thread *t);
void harness_wait_parked(struct harness_thread *t);
/* Waits until t parks or finishes; true when it finished. */
bool harness_wait_parked_or_done(struct harness_thread *t);
/* Lets a parked t go on, to park again at its next arrival at the point. */
void harness_release(struct harness_thread *t);
/* Waits until t has reached point count times in all. */
void harness_wait_hits(struct harness_thread *t, const char *point, unsigned count);
/* Waits until t finishes or reaches point; true when it finished. */
bool harness_wait_done_or_hit(struct harness_thread *t, const char *point);
unsigned harness_hits(struct harness_thread *t, const char *point);
void *harness_join(struct harness_thread *t);

/* A file that a failure removes before the process ends, as the scenario's own cleanup would have; NULL forgets it. */
void harness_remove_on_failure(const char *path);

/* Fails the scenario with a message and a thread dump. */
void harness_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define HARNESS_CHECK(cond, ...)                                                                                   \
    do {                                                                                                           \
        if (!(cond))                                                                                               \
            harness_fail(__VA_ARGS__);                                                                             \
    } while (0)

#endif
