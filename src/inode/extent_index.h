/* extent_index.h: a file's DRAM index from file pages to pool blocks, a sorted array of extents. */
#ifndef UDAX_EXTENT_INDEX_H
#define UDAX_EXTENT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct extent {
    uint64_t page;
    uint64_t block;
    uint64_t count;
};

struct extent_index {
    struct extent *extents;
    size_t count;
    size_t capacity;
};

/* Receives the blocks that a change unmaps. */
typedef void (*extent_release_fn)(void *arg, uint64_t block, uint64_t count);

void extent_index_clear(struct extent_index *index);
/*
 * Whether page is mapped. Mapped: *block is its block and *run the pages
 * mapped contiguously from it. Hole: *run is the pages up to the next extent,
 * UINT64_MAX when none follows.
 */
bool extent_lookup(const struct extent_index *index, uint64_t page, uint64_t *block, uint64_t *run);
/* Makes the next changes calls of extent_map and extent_unmap unable to fail, as after a log commit: 0 or ENOMEM. */
int extent_reserve(struct extent_index *index, size_t changes);
/* Maps [page, page+count) to consecutive blocks, replacing what was there. 0 or ENOMEM. */
int extent_map(struct extent_index *index, uint64_t page, uint64_t block, uint64_t count, extent_release_fn release,
               void *arg);
/* Unmaps [page, page+count), count may run past the last extent; ENOMEM, changing nothing, only when an extent must split. */
int extent_unmap(struct extent_index *index, uint64_t page, uint64_t count, extent_release_fn release, void *arg);
/* Pages mapped in [page, page+count). */
uint64_t extent_mapped_pages(const struct extent_index *index, uint64_t page, uint64_t count);
/* Calls fn on each extent in page order, which must not change the index; stops at and returns fn's first non-zero. */
int extent_each(const struct extent_index *index, int (*fn)(void *arg, const struct extent *extent), void *arg);

#endif
