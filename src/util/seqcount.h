/* seqcount.h: sequence counts, odd while a writer changes what they guard, which lockless readers check instead of locking. */
#ifndef UDAX_SEQCOUNT_H
#define UDAX_SEQCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/fence.h"

/* Makes *seq odd before the writer's first change; only one writer at a time moves a count. */
static inline void seq_write_begin(uint32_t *seq)
{
    __atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
    fence_release();
}

/* Makes *seq even again after the writer's last change. */
static inline void seq_write_end(uint32_t *seq)
{
    __atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
}

/* Whether *seq still reads seen after the reader's loads before this call: no writer began meanwhile. */
static inline bool seq_unchanged(const uint32_t *seq, uint32_t seen)
{
    fence_acquire();
    return __atomic_load_n(seq, __ATOMIC_RELAXED) == seen;
}

#endif
