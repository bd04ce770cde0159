/* journal.h: the multi-inode journal, an undo record of the 8-byte words one operation changes. */
#ifndef UDAX_JOURNAL_H
#define UDAX_JOURNAL_H

#include <pthread.h>
#include <stdint.h>

#include "pool/pool.h"
#include "util/locks.h"

struct journal {
    struct pool *pool;
    struct mutex lock;      /* only for sleeping on slot_freed when every slot is busy */
    pthread_cond_t slot_freed;
    uint64_t free_slots;    /* bit i set: slot i is idle; atomic */
    unsigned waiters;       /* threads waiting for a slot; atomic */
    uint64_t next_sequence; /* above every sequence the slots have held; atomic */
};

struct journal_word {
    uint64_t *word;
    uint64_t value;
};

#define JOURNAL_MAX_WORDS 16

void journal_init(struct journal *journal, struct pool *pool);
void journal_destroy(struct journal *journal);
/*
 * Makes the stores of words[] atomic: writes a live record of their old
 * values, fences, stores the new ones, fences, then retires the record. The
 * caller has written everything the new values point to; the first fence
 * makes it durable.
 */
void journal_commit(struct journal *journal, const struct journal_word *words, unsigned count);
/* At open: rolls back every operation that was in flight; returns how many. */
unsigned journal_recover(struct pool *pool);
/* For fsck: how many slots hold a live record, and how many look live but fail their checksum. */
void journal_inspect(struct pool *pool, unsigned *live, unsigned *torn);

#endif
