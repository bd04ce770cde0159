/* tsan.h: the accesses that ThreadSanitizer is told to leave unchecked, because they race by design. */
#ifndef UDAX_TSAN_H
#define UDAX_TSAN_H

#if defined(__SANITIZE_THREAD__)
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);

/*
 * Pool bytes are shared memory, which fast-mode overwrites and mappings race
 * on by design (docs/guarantees.md, "What a reader sees"); ThreadSanitizer
 * checks the locking of DRAM state. Stores made by libpmem2, which is not
 * instrumented, are invisible to it, and the persistence layer's own short
 * copies are kept so.
 */
#define POOL_STORES_UNCHECKED_BEGIN() AnnotateIgnoreWritesBegin(__FILE__, __LINE__)
#define POOL_STORES_UNCHECKED_END() AnnotateIgnoreWritesEnd(__FILE__, __LINE__)
/*
 * A lockless reader's loads race with the stores of lock holders by design;
 * the sequence counts it checks afterwards decide what it keeps. Its reads
 * are left unchecked, as are the frees that follow its sections, whose order
 * ThreadSanitizer cannot see through liburcu.
 */
#define LOCKLESS_READS_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define LOCKLESS_READS_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define POOL_STORES_UNCHECKED_BEGIN() ((void)0)
#define POOL_STORES_UNCHECKED_END() ((void)0)
#define LOCKLESS_READS_BEGIN() ((void)0)
#define LOCKLESS_READS_END() ((void)0)
#endif

#endif
