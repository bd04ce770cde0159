/* wait_table.c: the process-wide table of hashed wait queues for DAX entries. */
#include "wait_table.h"

#include <xxhash.h>

#include "util/locks.h"

/* Enough buckets that unrelated keys rarely share one; sharing is correct, only slower. */
#define WAIT_BUCKETS 512

struct wait_bucket {
    struct mutex lock;
    struct entry_waiter *head, *tail;
};

static struct wait_bucket buckets[WAIT_BUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;

static void buckets_init(void)
{
    for (unsigned i = 0; i < WAIT_BUCKETS; i++)
        mutex_init(&buckets[i].lock, LOCK_LEAF);
}

static struct wait_bucket *bucket_of(const void *mapping, uint64_t key)
{
    pthread_once(&buckets_once, buckets_init);
    uint64_t words[2] = {(uint64_t)(uintptr_t)mapping, key};
    return &buckets[XXH3_64bits(words, sizeof(words)) % WAIT_BUCKETS];
}

void wait_table_enqueue(struct entry_waiter *w, const void *mapping, uint64_t key)
{
    struct wait_bucket *b = bucket_of(mapping, key);
    *w = (struct entry_waiter){.mapping = mapping, .key = key};
    pthread_cond_init(&w->cond, NULL);
    mutex_lock(&b->lock, 0);
    w->prev = b->tail;
    if (b->tail)
        b->tail->next = w;
    else
        b->head = w;
    b->tail = w;
    mutex_unlock(&b->lock);
}

void wait_table_sleep(struct entry_waiter *w)
{
    struct wait_bucket *b = bucket_of(w->mapping, w->key);
    mutex_lock(&b->lock, 0);
    while (!w->woken)
        pthread_cond_wait(&w->cond, &b->lock.m);
    mutex_unlock(&b->lock);
    pthread_cond_destroy(&w->cond);
}

static void unlink_waiter(struct wait_bucket *b, struct entry_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        b->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        b->tail = w->prev;
}

static void wake(const void *mapping, uint64_t key, bool all)
{
    struct wait_bucket *b = bucket_of(mapping, key);
    mutex_lock(&b->lock, 0);
    for (struct entry_waiter *w = b->head, *next; w; w = next) {
        next = w->next;
        if (w->mapping != mapping || w->key != key)
            continue;
        unlink_waiter(b, w);
        w->woken = true;
        /* Signalled under the bucket lock: the waiter cannot return and free w before this call is done with it. */
        pthread_cond_signal(&w->cond);
        if (!all)
            break;
    }
    mutex_unlock(&b->lock);
}

void wait_table_wake_one(const void *mapping, uint64_t key)
{
    wake(mapping, key, false);
}

void wait_table_wake_all(const void *mapping, uint64_t key)
{
    wake(mapping, key, true);
}
