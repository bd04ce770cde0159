/* persist.h: the persistence layer, the only code that flushes, fences or copies into the pool. */
#ifndef UDAX_PERSIST_H
#define UDAX_PERSIST_H

#include <libpmem2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/tsan.h"

struct persist {
    void *base;
    size_t size;
    struct pmem2_source *source;
    struct pmem2_map *map;
    pmem2_flush_fn flush;
    pmem2_drain_fn drain;
    pmem2_memcpy_fn memcpy;
    pmem2_memset_fn memset;
    size_t temporal_copy_below; /* copies shorter than this go through the cache; longer ones are non-temporal */
    bool stores_persist;        /* a store is durable once it executes: a tmpfs file (see persist.c) */
    char medium[64];
    bool own_mapping; /* mapped here, not by pmem2_map_new: unmapped here too */
    bool map_ahead;   /* persist_map_ahead asks the kernel to map ranges before their first store */
};

/*
 * Trace mode, for the crash tester: while a tracer is installed, every range
 * the layer writes and flushes, and every fence, is reported to it. Stores
 * that bypass the layer are not reported; the tester finds them by comparing
 * the pool image at each fence.
 */
struct persist_tracer {
    /* [addr, addr+len) was written and flushed by the layer; caller is the code that asked. */
    void (*written)(void *arg, const struct persist *p, const void *addr, size_t len, const void *caller);
    void (*flushed)(void *arg, const struct persist *p, const void *addr, size_t len, const void *caller);
    void (*fenced)(void *arg, const struct persist *p);
    void *arg;
};

extern const struct persist_tracer *persist_tracer;

/* Installs tracer (NULL removes it); not thread-safe against running operations. */
void persist_trace(const struct persist_tracer *tracer);
void persist_trace_written(const struct persist *p, const void *addr, size_t len);
void persist_trace_flushed(const struct persist *p, const void *addr, size_t len);
void persist_trace_fenced(const struct persist *p);

#define PERSIST_TRACING() __builtin_expect(persist_tracer != NULL, 0)

/* Maps size bytes of the pool behind fd; returns 0 or an errno. */
int persist_map(struct persist *p, int fd, size_t size);
void persist_unmap(struct persist *p);

/* A hint: [addr, addr+len) is about to be written; maps it now where that is cheaper than a fault per page. */
void persist_map_ahead(const struct persist *p, void *addr, size_t len);

static inline void persist_flush(const struct persist *p, const void *addr, size_t len)
{
    p->flush(addr, len);
    if (PERSIST_TRACING())
        persist_trace_flushed(p, addr, len);
}

static inline void persist_fence(const struct persist *p)
{
    p->drain();
    if (PERSIST_TRACING())
        persist_trace_fenced(p);
}

/* Makes [addr, addr+len) durable now. */
static inline void persist_range(const struct persist *p, const void *addr, size_t len)
{
    persist_flush(p, addr, len);
    persist_fence(p);
}

#define PERSIST_NONTEMPORAL_COPY (PMEM2_F_MEM_NODRAIN | PMEM2_F_MEM_NONTEMPORAL)

/*
 * Copies into the pool; durable after the next fence. A copy that goes
 * through the cache of a map whose caches persist is a plain memcpy with an
 * empty flush; libpmem2's dispatch to it costs a hundred instructions, more
 * than a 64-byte copy itself.
 */
static inline void persist_copy(const struct persist *p, void *dst, const void *src, size_t len)
{
    if (len < p->temporal_copy_below) {
        POOL_STORES_UNCHECKED_BEGIN();
        memcpy(dst, src, len);
        POOL_STORES_UNCHECKED_END();
    } else
        p->memcpy(dst, src, len, PERSIST_NONTEMPORAL_COPY);
    if (PERSIST_TRACING())
        persist_trace_written(p, dst, len);
}

/*
 * Makes durable the copies of at most len bytes each since the last fence.
 * On a tmpfs pool a short copy is ordinary stores, which reach the page
 * cache once they execute: the fence would only wait for them to leave the
 * store buffer, which a process's death does not stop. The tracer still
 * sees a fence, which is what it models.
 */
static inline void persist_copies_fence(const struct persist *p, size_t len)
{
    if (p->stores_persist && len < p->temporal_copy_below) {
        if (PERSIST_TRACING())
            persist_trace_fenced(p);
    } else
        persist_fence(p);
}

/* Zeroes pool memory; durable after the next fence. */
static inline void persist_zero(const struct persist *p, void *dst, size_t len)
{
    if (len < p->temporal_copy_below) {
        POOL_STORES_UNCHECKED_BEGIN();
        memset(dst, 0, len);
        POOL_STORES_UNCHECKED_END();
    } else
        p->memset(dst, 0, len, PERSIST_NONTEMPORAL_COPY);
    if (PERSIST_TRACING())
        persist_trace_written(p, dst, len);
}

/* The commit point of the protocol: one aligned 8-byte store made durable. */
static inline void persist_store_word(const struct persist *p, uint64_t *word, uint64_t value)
{
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
    p->flush(word, sizeof(*word));
    if (PERSIST_TRACING())
        persist_trace_written(p, word, sizeof(*word));
    persist_fence(p);
}

#endif
