/*
 * presence.h: which object each thread is writing into without a lock,
 * announced with plain stores, and the wait until no thread writes into one.
 */
#ifndef UDAX_PRESENCE_H
#define UDAX_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/fence.h"

/*
 * A thread's announcement. The announcer pays no fence: the waiter, which
 * is rare, makes every thread of the process execute one with membarrier(2)
 * before it looks, as liburcu's membarrier flavours do for their readers.
 * Where the kernel has no membarrier, the announcer fences.
 */
struct presence_record {
    const void *object; /* atomic; NULL while the thread writes into nothing */
    struct presence_record *next;
    bool in_use; /* atomic: a live thread owns the record */
} __attribute__((aligned(64)));

extern __thread struct presence_record *presence_mine;
extern bool presence_announcer_fences;

struct presence_record *presence_register(void);

/*
 * Announces that this thread may write into object from now on; false if
 * this thread has no record and none could be made. Whatever decides that
 * the write may go on must be loaded after this call.
 */
static inline bool presence_announce(const void *object)
{
    struct presence_record *record = presence_mine;
    if (__builtin_expect(!record, 0) && !(record = presence_register()))
        return false;
    __atomic_store_n(&record->object, object, __ATOMIC_RELAXED);
    if (__builtin_expect(presence_announcer_fences, 0))
        fence_full();
    else
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return true;
}

static inline void presence_withdraw(void)
{
    __atomic_store_n(&presence_mine->object, NULL, __ATOMIC_RELEASE);
}

/*
 * Waits until no thread that announced object before this call still writes
 * into it. The caller has already stored what makes later announcers back
 * off; never called by a thread that has object announced.
 */
void presence_wait(const void *object);

#endif
