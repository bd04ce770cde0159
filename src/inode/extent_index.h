/* extent_index.h: a file's DRAM index from file pages to pool blocks, a B+tree of extents keyed by first page. */
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

struct extent_node;
struct extent_spare;

/* All zeros is an empty index. Not thread-safe: the inode's ILOCK guards it, but for extent_lookup_lockless. */
struct extent_index {
    struct extent_node *root;    /* a leaf while height is 1; NULL until something is mapped */
    unsigned height;             /* levels of nodes, the leaves included */
    size_t count;                /* extents */
    uint64_t pages;              /* pages mapped */
    struct extent_spare *spares; /* nodes set aside so that splits need no allocation */
    size_t spare_count;
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
/* A mapped page's block and the pages mapped contiguously from it; no pages: not found. */
struct extent_run {
    uint64_t block;
    uint64_t pages;
};
/*
 * extent_lookup for a reader inside a read-side section (util/rcu.h) that
 * holds no ILOCK: the nodes it reaches stay allocated, but an ILOCK holder
 * may be changing them. Before it follows an address it loaded, it checks
 * that *seq still reads seen. The run is page's, if *seq still reads seen
 * afterwards; none for a hole, or when the index changed, and the caller
 * takes ILOCK and looks again. Returned by value, in two registers: out
 * parameters would be two more stores on the lockless paths, where every
 * store queues behind the one that misses (docs/bench.md).
 */
struct extent_run extent_lookup_lockless(const struct extent_index *index, uint64_t page, const uint32_t *seq,
                                         uint32_t seen);
/*
 * Sets memory aside so that the next changes calls of extent_map and
 * extent_unmap cannot fail, as after a log commit: 0 or ENOMEM. Frees what an
 * earlier, larger reservation left.
 */
int extent_reserve(struct extent_index *index, size_t changes);
/* Maps [page, page+count) to consecutive blocks, replacing what was there; ENOMEM changes nothing. */
int extent_map(struct extent_index *index, uint64_t page, uint64_t block, uint64_t count, extent_release_fn release,
               void *arg);
/* Unmaps [page, page+count), count may run past the last extent; ENOMEM, changing nothing, only when an extent must split. */
int extent_unmap(struct extent_index *index, uint64_t page, uint64_t count, extent_release_fn release, void *arg);
/* Pages mapped in [page, page+count). */
uint64_t extent_mapped_pages(const struct extent_index *index, uint64_t page, uint64_t count);
/* Calls fn on each extent in page order, which must not change the index; stops at and returns fn's first non-zero. */
int extent_each(const struct extent_index *index, int (*fn)(void *arg, const struct extent *extent), void *arg);
/* Whether the tree keeps its invariants (order, keys, fill, counts); for the unit tests. */
bool extent_index_well_formed(const struct extent_index *index);

#endif
