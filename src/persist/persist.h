/* persist.h: the persistence layer, the only code that flushes, fences or copies into the pool. */
#ifndef UDAX_PERSIST_H
#define UDAX_PERSIST_H

#include <libpmem2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct persist {
    void *base;
    size_t size;
    struct pmem2_source *source;
    struct pmem2_map *map;
    pmem2_flush_fn flush;
    pmem2_drain_fn drain;
    pmem2_memcpy_fn memcpy;
    pmem2_memset_fn memset;
    char medium[64];
    bool own_mapping; /* mapped here, not by pmem2_map_new: unmapped here too */
};

/* Maps size bytes of the pool behind fd; returns 0 or an errno. */
int persist_map(struct persist *p, int fd, size_t size);
void persist_unmap(struct persist *p);

static inline void persist_flush(const struct persist *p, const void *addr, size_t len)
{
    p->flush(addr, len);
}

static inline void persist_fence(const struct persist *p)
{
    p->drain();
}

/* Makes [addr, addr+len) durable now. */
static inline void persist_range(const struct persist *p, const void *addr, size_t len)
{
    p->flush(addr, len);
    p->drain();
}

/* Copies into the pool with non-temporal stores; durable after the next fence. */
static inline void persist_copy(const struct persist *p, void *dst, const void *src, size_t len)
{
    p->memcpy(dst, src, len, PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_NODRAIN);
}

/* Zeroes pool memory; durable after the next fence. */
static inline void persist_zero(const struct persist *p, void *dst, size_t len)
{
    p->memset(dst, 0, len, PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_NODRAIN);
}

/* The commit point of the protocol: one aligned 8-byte store made durable. */
static inline void persist_store_word(const struct persist *p, uint64_t *word, uint64_t value)
{
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
    p->flush(word, sizeof(*word));
    p->drain();
}

#endif
