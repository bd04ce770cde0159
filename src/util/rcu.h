/* rcu.h: read-side sections for lockless readers, and the deferred frees of what they may still be reading (liburcu-bp). */
#ifndef UDAX_RCU_H
#define UDAX_RCU_H

/*
 * liburcu's inline read side, but in the ASan+UBSan build: it reaches a
 * reader record that liburcu declares 128-byte aligned and places 32 bytes
 * apart, which x86 does not mind and UBSan's alignment check aborts on. The
 * library's own calls do the same, uninstrumented.
 */
#if !defined(UDAX_UBSAN)
#define _LGPL_SOURCE
#endif
#include <urcu-bp.h>

#include "util/tsan.h"

/*
 * The bulletproof flavour registers a thread at its first section and
 * survives fork, which a library whose callers own their threads needs. With
 * the membarrier system call a section costs two plain stores.
 *
 * Inside a section a thread never blocks, takes no lock and touches no
 * memory whose fault udax serves (a udax mapping: window_span_overlaps):
 * rcu_free may then wait for sections while holding any lock.
 */
static inline void rcu_section_begin(void)
{
    urcu_bp_read_lock();
}

static inline void rcu_section_end(void)
{
    urcu_bp_read_unlock();
}

/* Returns once every section that began before this call has ended; never call it inside a section. */
void rcu_wait_for_sections(void);

/* free(ptr) once every section that began before this call has ended; never call it inside a section. */
void rcu_free(void *ptr);

#endif
