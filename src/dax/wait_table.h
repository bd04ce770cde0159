/* wait_table.h: hashed queues of threads waiting for a DAX entry, keyed by (mapping, entry key). */
#ifndef UDAX_WAIT_TABLE_H
#define UDAX_WAIT_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct entry_waiter {
    const void *mapping;
    uint64_t key;
    bool woken;
    pthread_cond_t cond;
    struct entry_waiter *prev, *next;
};

/*
 * Queues w on (mapping, key). The caller holds the mapping's index lock and
 * has just seen the entry busy; the waker changes the entry under that lock
 * and wakes after, so the wake-up cannot pass between check and queueing (R5).
 */
void wait_table_enqueue(struct entry_waiter *w, const void *mapping, uint64_t key);
/* Sleeps until w is woken; the caller holds no lock that a waker needs (R2). */
void wait_table_sleep(struct entry_waiter *w);

/* Wakes the first waiter of exactly (mapping, key); waiters of other keys sharing the bucket are skipped (R5). */
void wait_table_wake_one(const void *mapping, uint64_t key);
/* Wakes every waiter of (mapping, key): for whoever removes an entry or changes its key (R3). */
void wait_table_wake_all(const void *mapping, uint64_t key);

#endif
