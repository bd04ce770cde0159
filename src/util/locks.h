/* locks.h: the lock classes of DESIGN.md section 3, with a lock-order checker in debug builds. */
#ifndef UDAX_LOCKS_H
#define UDAX_LOCKS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Outermost first; a thread may only take a class ranked after every class it holds. */
enum lock_class {
    LOCK_FILE_POSITION = 0, /* one open file's offset, like Linux's f_pos_lock */
    LOCK_RENAME = 1,
    LOCK_IOLOCK = 2,
    LOCK_FAULTLOCK = 3,
    LOCK_ENTRY = 4,
    LOCK_ILOCK = 5,
    LOCK_MAPPING_INDEX = 6, /* a file's DAX entry index, like the kernel's xa_lock; only a bucket nests inside */
    LOCK_LEAF = 7,
    LOCK_CLASS_COUNT
};

struct rwlock {
    pthread_rwlock_t rw;
    enum lock_class class;
};

/* Lock-holding structures that threads use side by side are aligned to it, so that no two share a cache line. */
#define CACHE_LINE_SIZE 64

/* calloc for arrays of such structures, which calloc aligns only to 16 bytes; count * size must not overflow. */
static inline void *calloc_cache_aligned(size_t count, size_t size)
{
    size_t bytes = (count * size + CACHE_LINE_SIZE - 1) / CACHE_LINE_SIZE * CACHE_LINE_SIZE;
    void *p = aligned_alloc(CACHE_LINE_SIZE, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

struct mutex {
    pthread_mutex_t m;
    enum lock_class class;
};

/* Writer-preferring, as DESIGN.md asks of IOLOCK and FAULTLOCK. */
void rwlock_init(struct rwlock *l, enum lock_class class);
void rwlock_destroy(struct rwlock *l);
void mutex_init(struct mutex *l, enum lock_class class);
void mutex_destroy(struct mutex *l);

/* Aborts the process: a pthread lock call failed, which only a bug makes happen. */
void lock_failed(int rc, const char *what) __attribute__((noreturn, cold));

/* rc from the pthread call what: aborts unless it is 0. */
static inline void lock_check(int rc, const char *what)
{
    if (__builtin_expect(rc, 0))
        lock_failed(rc, what);
}

#ifdef UDAX_LOCKDEP
/* order_key: locks of one class nest only in increasing key (inode number) order. */
void rwlock_read(struct rwlock *l, uint64_t order_key);
void rwlock_write(struct rwlock *l, uint64_t order_key);
void rwlock_unlock(struct rwlock *l);
void mutex_lock(struct mutex *l, uint64_t order_key);
void mutex_unlock(struct mutex *l);
#else
/* Without the checker the wrappers are the pthread calls, inline: a read or write takes four to six locks. */
static inline void rwlock_read(struct rwlock *l, uint64_t order_key)
{
    (void)order_key;
    lock_check(pthread_rwlock_rdlock(&l->rw), "pthread_rwlock_rdlock");
}

static inline void rwlock_write(struct rwlock *l, uint64_t order_key)
{
    (void)order_key;
    lock_check(pthread_rwlock_wrlock(&l->rw), "pthread_rwlock_wrlock");
}

static inline void rwlock_unlock(struct rwlock *l)
{
    lock_check(pthread_rwlock_unlock(&l->rw), "pthread_rwlock_unlock");
}

static inline void mutex_lock(struct mutex *l, uint64_t order_key)
{
    (void)order_key;
    lock_check(pthread_mutex_lock(&l->m), "pthread_mutex_lock");
}

static inline void mutex_unlock(struct mutex *l)
{
    lock_check(pthread_mutex_unlock(&l->m), "pthread_mutex_unlock");
}
#endif

/* Aborts unless the calling thread holds no lock (tests call it between operations). */
void lockdep_assert_none_held(void);
/* R2: aborts when the caller holds ILOCK or anything after it, and so may not sleep on an entry. */
void lockdep_assert_may_sleep_on_entry(void);
/* The entry lock is a bit, not a pthread lock: the DAX layer reports taking and dropping it. */
void lockdep_entry_acquired(const void *mapping, uint64_t key);
void lockdep_entry_released(const void *mapping, uint64_t key);

#endif
