/* harness.c: parking threads at hook points, waiting for them, and the watchdog with its thread dump. */
#include "harness.h"

#include <execinfo.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/hooks.h"

#define MAX_THREADS 32
#define MAX_POINTS 16

struct harness_thread {
    pthread_t tid;
    char name[32];
    void *(*fn)(void *);
    void *arg;
    void *result;
    bool done;
    const char *park_at; /* stays armed until harness_unpark */
    bool parked;
    bool released;
    const char *last_point;
    uint64_t last_key;
    const char *points[MAX_POINTS];
    unsigned hits[MAX_POINTS];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct harness_thread threads[MAX_THREADS];
static unsigned thread_count;
static __thread struct harness_thread *self;

static void count_hit(struct harness_thread *t, const char *point)
{
    for (unsigned i = 0; i < MAX_POINTS; i++) {
        if (!t->points[i])
            t->points[i] = point;
        if (!strcmp(t->points[i], point)) {
            t->hits[i]++;
            return;
        }
    }
}

static unsigned hits_locked(struct harness_thread *t, const char *point)
{
    for (unsigned i = 0; i < MAX_POINTS && t->points[i]; i++)
        if (!strcmp(t->points[i], point))
            return t->hits[i];
    return 0;
}

static void on_hook(const char *point, const void *object, uint64_t key)
{
    (void)object;
    struct harness_thread *t = self;
    if (!t)
        return;
    pthread_mutex_lock(&lock);
    t->last_point = point;
    t->last_key = key;
    count_hit(t, point);
    if (t->park_at && !strcmp(t->park_at, point)) {
        t->parked = true;
        pthread_cond_broadcast(&changed);
        while (!t->released)
            pthread_cond_wait(&changed, &lock);
        t->released = false;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static sem_t stack_printed;

static void dump_stack(int sig)
{
    (void)sig;
    void *frames[64];
    int n = backtrace(frames, 64);
    char header[80];
    int len = snprintf(header, sizeof(header), "--- thread %s ---\n", self ? self->name : "main");
    if (write(STDERR_FILENO, header, (size_t)len) < 0)
        return;
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    sem_post(&stack_printed);
}

/* A pool of tens of MiB in /dev/shm: every failing run, the bug builds' among them, left one behind. */
static const char *remove_on_failure;

void harness_remove_on_failure(const char *path)
{
    __atomic_store_n(&remove_on_failure, path, __ATOMIC_RELEASE);
}

/* Prints where every thread stands and each one's stack, then ends the process with a failure. */
static void __attribute__((noreturn)) dump_and_exit(void)
{
    const char *path = __atomic_load_n(&remove_on_failure, __ATOMIC_ACQUIRE);
    if (path)
        unlink(path);
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < thread_count; i++) {
        struct harness_thread *t = &threads[i];
        fprintf(stderr, "thread %-12s %s, last hook point %s (key %#llx)%s\n", t->name, t->done ? "done" : "running",
                t->last_point ? t->last_point : "none", (unsigned long long)t->last_key, t->parked ? ", parked" : "");
    }
    fflush(stderr);
    for (unsigned i = 0; i < thread_count; i++) {
        if (!threads[i].done) {
            pthread_kill(threads[i].tid, SIGUSR1);
            /* One stack at a time; a thread that cannot take the signal does not stop the dump. */
            struct timespec limit;
            clock_gettime(CLOCK_REALTIME, &limit);
            limit.tv_sec += 2;
            sem_timedwait(&stack_printed, &limit);
        }
    }
    _exit(1);
}

static void *watchdog(void *arg)
{
    unsigned seconds = (unsigned)(uintptr_t)arg;
    sleep(seconds);
    fprintf(stderr, "WATCHDOG: the scenario hung for %u s\n", seconds);
    dump_and_exit();
}

void harness_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    dump_and_exit();
}

void harness_init(unsigned seconds)
{
    const char *env = getenv("UDAX_WATCHDOG_SECONDS");
    if (env && atoi(env) > 0)
        seconds = (unsigned)atoi(env);
    void *frames[1];
    backtrace(frames, 1); /* loads libgcc's unwinder now, not inside the signal handler */
    sem_init(&stack_printed, 0, 0);
    signal(SIGUSR1, dump_stack);
    hooks_install(on_hook);
    pthread_t tid;
    pthread_create(&tid, NULL, watchdog, (void *)(uintptr_t)seconds);
    pthread_detach(tid);
}

static void *trampoline(void *arg)
{
    struct harness_thread *t = arg;
    self = t;
    void *result = t->fn(t->arg);
    pthread_mutex_lock(&lock);
    t->result = result;
    t->done = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return NULL;
}

struct harness_thread *harness_start(const char *name, void *(*fn)(void *), void *arg, const char *park_at)
{
    pthread_mutex_lock(&lock);
    if (thread_count == MAX_THREADS) {
        pthread_mutex_unlock(&lock);
        harness_fail("too many threads");
    }
    struct harness_thread *t = &threads[thread_count++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->fn = fn;
    t->arg = arg;
    t->park_at = park_at;
    pthread_mutex_unlock(&lock);
    pthread_create(&t->tid, NULL, trampoline, t);
    return t;
}

void harness_park_at(struct harness_thread *t, const char *point)
{
    pthread_mutex_lock(&lock);
    t->park_at = point;
    pthread_mutex_unlock(&lock);
}

void harness_unpark(struct harness_thread *t)
{
    pthread_mutex_lock(&lock);
    t->park_at = NULL;
    t->released = t->parked;
    t->parked = false;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

bool harness_wait_parked_or_done(struct harness_thread *t)
{
    pthread_mutex_lock(&lock);
    while (!t->parked && !t->done)
        pthread_cond_wait(&changed, &lock);
    bool done = t->done;
    pthread_mutex_unlock(&lock);
    return done;
}

void harness_wait_parked(struct harness_thread *t)
{
    pthread_mutex_lock(&lock);
    while (!t->parked && !t->done)
        pthread_cond_wait(&changed, &lock);
    bool done = t->done;
    pthread_mutex_unlock(&lock);
    if (done)
        harness_fail("thread %s finished instead of parking", t->name);
}

void harness_release(struct harness_thread *t)
{
    pthread_mutex_lock(&lock);
    /* Not parked from now on, so that a wait for its next parking cannot see this one. */
    t->released = true;
    t->parked = false;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

void harness_wait_hits(struct harness_thread *t, const char *point, unsigned count)
{
    pthread_mutex_lock(&lock);
    while (hits_locked(t, point) < count && !t->done)
        pthread_cond_wait(&changed, &lock);
    bool reached = hits_locked(t, point) >= count;
    pthread_mutex_unlock(&lock);
    if (!reached)
        harness_fail("thread %s finished before reaching %s %u times", t->name, point, count);
}

bool harness_wait_done_or_hit(struct harness_thread *t, const char *point)
{
    pthread_mutex_lock(&lock);
    while (!t->done && !hits_locked(t, point))
        pthread_cond_wait(&changed, &lock);
    bool done = t->done;
    pthread_mutex_unlock(&lock);
    return done;
}

unsigned harness_hits(struct harness_thread *t, const char *point)
{
    pthread_mutex_lock(&lock);
    unsigned hits = hits_locked(t, point);
    pthread_mutex_unlock(&lock);
    return hits;
}

void *harness_join(struct harness_thread *t)
{
    pthread_join(t->tid, NULL);
    return t->result;
}
