/* rcu.c: frees deferred past the read-side sections that may still see them, a batch per grace period. */
#include "rcu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One grace period, a few microseconds, per this many frees. */
#define RCU_FREE_BATCH 256

/* Process-wide like the grace periods, and held around nothing but the array: a plain mutex, outside the lock classes. */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static void *pending[RCU_FREE_BATCH];
static size_t pending_count;

void rcu_free(void *ptr)
{
    if (!ptr)
        return;
    void *batch[RCU_FREE_BATCH];
    size_t full = 0;
    pthread_mutex_lock(&pending_lock);
    pending[pending_count++] = ptr;
    if (pending_count == RCU_FREE_BATCH) {
        memcpy(batch, pending, sizeof(batch));
        full = pending_count;
        pending_count = 0;
    }
    pthread_mutex_unlock(&pending_lock);
    if (!full)
        return;
    rcu_wait_for_sections();
    for (size_t i = 0; i < full; i++)
        free(batch[i]);
}

void rcu_wait_for_sections(void)
{
    urcu_bp_synchronize_rcu();
}
