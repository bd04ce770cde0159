/* extent_index.c: binary search over sorted, non-overlapping extents; neighbours merge when contiguous. */
#include "extent_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t extent_end(const struct extent *e)
{
    return e->page + e->count;
}

/* The first extent that ends after page. */
static size_t first_ending_after(const struct extent_index *index, uint64_t page)
{
    size_t lo = 0, hi = index->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (extent_end(&index->extents[mid]) <= page)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void extent_index_clear(struct extent_index *index)
{
    free(index->extents);
    *index = (struct extent_index){0};
}

bool extent_lookup(const struct extent_index *index, uint64_t page, uint64_t *block, uint64_t *run)
{
    size_t i = first_ending_after(index, page);
    if (i == index->count) {
        *run = UINT64_MAX;
        return false;
    }
    const struct extent *e = &index->extents[i];
    if (e->page > page) {
        *run = e->page - page;
        return false;
    }
    *block = e->block + (page - e->page);
    *run = extent_end(e) - page;
    return true;
}

static int reserve(struct extent_index *index, size_t extra)
{
    if (index->count + extra <= index->capacity)
        return 0;
    size_t capacity = index->capacity ? index->capacity * 2 : 4;
    while (capacity < index->count + extra)
        capacity *= 2;
    struct extent *grown = realloc(index->extents, capacity * sizeof(*grown));
    if (!grown)
        return ENOMEM;
    index->extents = grown;
    index->capacity = capacity;
    return 0;
}

int extent_reserve(struct extent_index *index, size_t changes)
{
    /* A change adds at most two extents: a map inside an extent splits it around the new one. */
    return reserve(index, 2 * changes);
}

static void insert_at(struct extent_index *index, size_t i, struct extent e)
{
    memmove(&index->extents[i + 1], &index->extents[i], (index->count - i) * sizeof(e));
    index->extents[i] = e;
    index->count++;
}

static void remove_range(struct extent_index *index, size_t first, size_t count)
{
    if (!count)
        return;
    memmove(&index->extents[first], &index->extents[first + count],
            (index->count - first - count) * sizeof(index->extents[0]));
    index->count -= count;
}

int extent_unmap(struct extent_index *index, uint64_t page, uint64_t count, extent_release_fn release, void *arg)
{
    uint64_t end = count > UINT64_MAX - page ? UINT64_MAX : page + count;
    size_t i = first_ending_after(index, page);
    size_t drop_first = i, drop_count = 0;
    while (i < index->count && index->extents[i].page < end) {
        struct extent *e = &index->extents[i];
        uint64_t from = e->page > page ? e->page : page;
        uint64_t to = extent_end(e) < end ? extent_end(e) : end;
        bool splits = from > e->page && to < extent_end(e);
        if (splits && reserve(index, 1))
            return ENOMEM;
        e = &index->extents[i];
        if (release)
            release(arg, e->block + (from - e->page), to - from);
        if (splits) {
            struct extent tail = {to, e->block + (to - e->page), extent_end(e) - to};
            e->count = from - e->page;
            insert_at(index, i + 1, tail);
            return 0;
        }
        if (from > e->page) {
            e->count = from - e->page;
            drop_first = i + 1;
        } else if (to < extent_end(e)) {
            *e = (struct extent){to, e->block + (to - e->page), extent_end(e) - to};
            break;
        } else {
            drop_count++;
        }
        i++;
    }
    remove_range(index, drop_first, drop_count);
    return 0;
}

int extent_map(struct extent_index *index, uint64_t page, uint64_t block, uint64_t count, extent_release_fn release,
               void *arg)
{
    if (extent_unmap(index, page, count, release, arg) || reserve(index, 1))
        return ENOMEM;
    size_t i = first_ending_after(index, page);
    struct extent *before = i ? &index->extents[i - 1] : NULL;
    struct extent *after = i < index->count ? &index->extents[i] : NULL;
    bool joins_before = before && extent_end(before) == page && before->block + before->count == block;
    bool joins_after = after && after->page == page + count && block + count == after->block;
    if (joins_before && joins_after) {
        before->count += count + after->count;
        remove_range(index, i, 1);
    } else if (joins_before) {
        before->count += count;
    } else if (joins_after) {
        after->page = page;
        after->block = block;
        after->count += count;
    } else {
        insert_at(index, i, (struct extent){page, block, count});
    }
    return 0;
}

uint64_t extent_mapped_pages(const struct extent_index *index, uint64_t page, uint64_t count)
{
    uint64_t end = count > UINT64_MAX - page ? UINT64_MAX : page + count;
    uint64_t mapped = 0;
    for (size_t i = first_ending_after(index, page); i < index->count && index->extents[i].page < end; i++) {
        const struct extent *e = &index->extents[i];
        uint64_t from = e->page > page ? e->page : page;
        uint64_t to = extent_end(e) < end ? extent_end(e) : end;
        mapped += to - from;
    }
    return mapped;
}

int extent_each(const struct extent_index *index, int (*fn)(void *arg, const struct extent *extent), void *arg)
{
    for (size_t i = 0; i < index->count; i++) {
        int rc = fn(arg, &index->extents[i]);
        if (rc)
            return rc;
    }
    return 0;
}
