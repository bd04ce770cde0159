/* rcu.h: read-side sections for lockless readers, and the deferred frees of what they may still be reading (liburcu-bp). */
#ifndef UDAX_RCU_H
#define UDAX_RCU_H

/*
 * liburcu's inline read side, but in the ASan+UBSan build: it reaches a
 * reader record that liburcu declares 128-byte aligned and places 32 bytes
 * apart, which x86 does not mind and UBSan's alignment check aborts on. The
 * library's own calls do the same, uninstrumented.
 */
#if !defined(__SANITIZE_ADDRESS__)
#define _LGPL_SOURCE
#endif
#include <urcu-bp.h>

/*
 * The bulletproof flavour registers a thread at its first section and
 * survives fork, which a library whose callers own their threads needs. With
 * the membarrier system call a section costs two plain stores.
 *
 * Inside a section a thread never blocks, takes no lock and touches no
 * memory a page fault of this pool could be needed for: rcu_free may then
 * wait for sections while holding any lock.
 */
static inline void rcu_section_begin(void)
{
    urcu_bp_read_lock();
}

static inline void rcu_section_end(void)
{
    urcu_bp_read_unlock();
}

#if defined(__SANITIZE_THREAD__)
/*
 * A lockless reader's loads race with the stores of lock holders by design;
 * the sequence counts it checks afterwards decide what it keeps. Its reads
 * are left unchecked, as are the frees that follow its sections, whose order
 * ThreadSanitizer cannot see through liburcu.
 */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define LOCKLESS_READS_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define LOCKLESS_READS_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define LOCKLESS_READS_BEGIN() ((void)0)
#define LOCKLESS_READS_END() ((void)0)
#endif

/* free(ptr) once every section that began before this call has ended; never call it inside a section. */
void rcu_free(void *ptr);

#endif
