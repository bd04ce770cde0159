/* alloc.h: free space of the data area in 4 KiB blocks, split in arenas so that writers do not queue on one lock. */
#ifndef UDAX_ALLOC_H
#define UDAX_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "util/locks.h"

struct alloc_arena {
    struct mutex lock;
    uint64_t first; /* relative block numbers [first, end), 2 MiB aligned */
    uint64_t end;
    uint64_t free_blocks;
    uint64_t cursor;          /* data runs are taken upward from here */
    uint64_t metadata_cursor; /* metadata blocks downward from just below here */
} __attribute__((aligned(CACHE_LINE_SIZE)));

struct allocator {
    uint64_t base_block;   /* pool block number of relative block 0, 2 MiB aligned */
    uint64_t block_count;  /* data blocks */
    uint64_t *used;        /* one bit per data block; each word belongs to one arena */
    uint16_t *chunk_free;  /* free blocks in each 2 MiB chunk */
    struct alloc_arena *arenas;
    unsigned arena_count;
    unsigned *homes;         /* by CPU modulo arena_count: the arena it allocates from first, or NO_HOME; atomic */
    uint64_t fail_countdown; /* fault injection: the allocation that brings it to 0 fails; atomic */
    uint64_t *chunks_handed_out; /* one bit per 2 MiB chunk a block has been allocated from; atomic */
    void (*first_use)(void *arg, uint64_t block, uint64_t count);
    void *first_use_arg;
};

/* Every data block starts free. Returns 0 or an errno. */
int alloc_init(struct allocator *a, uint64_t base_block, uint64_t end_block);
void alloc_destroy(struct allocator *a);

/*
 * first_use is called, outside any lock of the allocator, with the blocks of
 * each 2 MiB chunk the first time a block of it is allocated: the chunk's
 * memory is about to be written.
 */
void alloc_on_first_use(struct allocator *a, void (*first_use)(void *arg, uint64_t block, uint64_t count), void *arg);

/* At load, before any allocation: claims blocks that the logs own. False if a block is out of range or already claimed. */
bool alloc_claim(struct allocator *a, uint64_t block, uint64_t count);
bool alloc_is_used(const struct allocator *a, uint64_t block);

/*
 * Allocates one contiguous run of 1 to want blocks. With huge, and want of a
 * whole 2 MiB chunk or more, it prefers a free 2 MiB-aligned chunk. Returns 0,
 * or ENOSPC when no block is free.
 */
int alloc_extent(struct allocator *a, uint64_t want, bool huge, uint64_t *block, uint64_t *count);
/*
 * Allocates one block for metadata (a log page, a symlink's target), taken
 * from the top of an arena downward, so that it never splits a data run the
 * next write would continue. Returns 0, or ENOSPC when no block is free.
 */
int alloc_metadata_block(struct allocator *a, uint64_t *block);
/* The block that the caller's next alloc_metadata_block most likely returns after it returned block: the one below. */
static inline uint64_t alloc_metadata_likely_next(uint64_t block)
{
    return block - 1;
}
void alloc_free(struct allocator *a, uint64_t block, uint64_t count);
uint64_t alloc_free_blocks(struct allocator *a);
/*
 * Whether more than floor blocks are free. It reads the caller's home arena
 * first and stops once the count is reached: the other arenas' counts are
 * lines that other CPUs write.
 */
bool alloc_free_above(struct allocator *a, uint64_t floor);

/* Fault injection for tests: the nth allocation from now fails with ENOSPC; 0 cancels. */
void alloc_fail_nth(struct allocator *a, uint64_t nth);
/* Whether an injected failure is still waiting for its allocation. */
bool alloc_failure_pending(struct allocator *a);

#endif
