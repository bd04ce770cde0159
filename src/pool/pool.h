/* pool.h: the pool layer: superblocks, geometry, open/close and the exclusive open lock. */
#ifndef UDAX_POOL_H
#define UDAX_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "persist/persist.h"

struct pool {
    int fd;
    struct persist pm;
    char *base;
    struct udax_super sb;              /* the valid copy, as read at open */
    bool primary_super_damaged;        /* open used the backup copy; fsck repairs it */
    struct udax_inode_rec *inode_table;
    struct udax_journal_slot *journal;
};

struct pool_geometry {
    uint64_t pool_size;
    uint64_t inode_count;
    uint32_t data_mode;
};

/* Formats path (created when absent); size 0 keeps the size of an existing file or device. */
int pool_format(const char *path, const struct pool_geometry *geometry);
int pool_open(struct pool *pool, const char *path);
void pool_close(struct pool *pool);

/* Rewrites both superblock copies from pool->sb. */
void pool_write_superblocks(struct pool *pool);

static inline void *pool_addr(const struct pool *pool, uint64_t offset)
{
    return pool->base + offset;
}

static inline uint64_t pool_offset(const struct pool *pool, const void *addr)
{
    return (uint64_t)((const char *)addr - pool->base);
}

static inline void *pool_block(const struct pool *pool, uint64_t block)
{
    return pool->base + (block << UDAX_BLOCK_SHIFT);
}

static inline bool pool_is_data_block(const struct pool *pool, uint64_t block)
{
    return block >= pool->sb.data_block && block < pool->sb.block_count;
}

#endif
