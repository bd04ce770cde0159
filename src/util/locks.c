/* locks.c: lock wrappers and, with -Dlockdep=true, the per-thread record of held lock classes. */
#include "locks.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef UDAX_LOCKDEP
struct held_lock {
    const void *lock;
    enum lock_class class;
    uint64_t key;
};

static __thread struct held_lock held[32];
static __thread int held_count;

static const char *class_name(enum lock_class class)
{
    static const char *const names[LOCK_CLASS_COUNT] = {
        "file position", "rename", "IOLOCK", "FAULTLOCK", "entry", "ILOCK", "mapping index", "leaf",
    };
    return names[class];
}

static void lockdep_acquire(const void *lock, enum lock_class class, uint64_t key)
{
    for (int i = 0; i < held_count; i++) {
        const struct held_lock *h = &held[i];
        if (h->class > class || h->class == LOCK_LEAF || (h->class == class && h->key >= key)) {
            fprintf(stderr, "udax lockdep: taking %s (key %llu) while holding %s (key %llu)\n",
                    class_name(class), (unsigned long long)key, class_name(h->class),
                    (unsigned long long)h->key);
            abort();
        }
    }
    if (held_count == (int)(sizeof(held) / sizeof(held[0]))) {
        fprintf(stderr, "udax lockdep: too many locks held\n");
        abort();
    }
    held[held_count++] = (struct held_lock){lock, class, key};
}

static void lockdep_release_key(const void *lock, enum lock_class class, uint64_t key)
{
    for (int i = held_count - 1; i >= 0; i--) {
        if (held[i].lock == lock && held[i].class == class && held[i].key == key) {
            held[i] = held[--held_count];
            return;
        }
    }
    fprintf(stderr, "udax lockdep: releasing a lock that is not held\n");
    abort();
}

static void lockdep_release(const void *lock)
{
    int i = held_count - 1;
    while (i >= 0 && held[i].lock != lock)
        i--;
    if (i < 0)
        lockdep_release_key(lock, LOCK_CLASS_COUNT, 0);
    else
        lockdep_release_key(lock, held[i].class, held[i].key);
}

void lockdep_assert_may_sleep_on_entry(void)
{
    for (int i = 0; i < held_count; i++) {
        if (held[i].class >= LOCK_ENTRY) {
            fprintf(stderr, "udax lockdep: waiting for an entry while holding %s\n", class_name(held[i].class));
            abort();
        }
    }
}

void lockdep_entry_acquired(const void *mapping, uint64_t key)
{
    lockdep_acquire(mapping, LOCK_ENTRY, key);
}

void lockdep_entry_released(const void *mapping, uint64_t key)
{
    lockdep_release_key(mapping, LOCK_ENTRY, key);
}

void lockdep_assert_none_held(void)
{
    if (held_count) {
        fprintf(stderr, "udax lockdep: %d locks still held, first %s\n", held_count, class_name(held[0].class));
        abort();
    }
}
#else
void lockdep_assert_none_held(void)
{
}

void lockdep_assert_may_sleep_on_entry(void)
{
}

void lockdep_entry_acquired(const void *mapping, uint64_t key)
{
    (void)mapping;
    (void)key;
}

void lockdep_entry_released(const void *mapping, uint64_t key)
{
    (void)mapping;
    (void)key;
}
#endif

void lock_failed(int rc, const char *what)
{
    fprintf(stderr, "udax: %s failed with error %d\n", what, rc);
    abort();
}

/*
 * The initializers glibc gives for each kind: a create initializes three
 * locks, and pthread_*_init with its attribute object costs fifty to a
 * hundred instructions a lock where a store of the initializer costs a few.
 */
void rwlock_init(struct rwlock *l, enum lock_class class)
{
    l->rw = (pthread_rwlock_t)PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    l->class = class;
}

void rwlock_destroy(struct rwlock *l)
{
    pthread_rwlock_destroy(&l->rw);
}

/*
 * A leaf lock is held for a few hundred instructions: a thread that finds it
 * taken spins a while before it sleeps, and no longer pays a futex wait and
 * wake-up for a wait shorter than either.
 */
void mutex_init(struct mutex *l, enum lock_class class)
{
    l->m = class == LOCK_LEAF ? (pthread_mutex_t)PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
                              : (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    l->class = class;
}

void mutex_destroy(struct mutex *l)
{
    pthread_mutex_destroy(&l->m);
}

#ifdef UDAX_LOCKDEP
void rwlock_read(struct rwlock *l, uint64_t order_key)
{
    lockdep_acquire(l, l->class, order_key);
    lock_check(pthread_rwlock_rdlock(&l->rw), "pthread_rwlock_rdlock");
}

void rwlock_write(struct rwlock *l, uint64_t order_key)
{
    lockdep_acquire(l, l->class, order_key);
    lock_check(pthread_rwlock_wrlock(&l->rw), "pthread_rwlock_wrlock");
}

void rwlock_unlock(struct rwlock *l)
{
    lock_check(pthread_rwlock_unlock(&l->rw), "pthread_rwlock_unlock");
    lockdep_release(l);
}

void mutex_lock(struct mutex *l, uint64_t order_key)
{
    lockdep_acquire(l, l->class, order_key);
    lock_check(pthread_mutex_lock(&l->m), "pthread_mutex_lock");
}

void mutex_unlock(struct mutex *l)
{
    lock_check(pthread_mutex_unlock(&l->m), "pthread_mutex_unlock");
    lockdep_release(l);
}
#endif
