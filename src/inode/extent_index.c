/*
 * extent_index.c: a B+tree of non-overlapping extents keyed by first page, contiguous neighbours merged.
 * Hand-written, not a JudyL: Judy allocates inside its inserts, so it could not promise extent_reserve.
 */
#include "extent_index.h"
#include "util/seqcount.h"
#include "util/rcu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Nodes are a header and then slots: extents in a leaf, children in a branch.
 * Leaves of 32 extents and branches of 48 children take about 776 bytes
 * each, so that one spare serves as either. Every node but the root is at
 * least half full, which bounds the height by the number of extents.
 */
#define LEAF_SLOTS 32u
#define BRANCH_SLOTS 48u
#define LEAF_MIN (LEAF_SLOTS / 2)
#define BRANCH_MIN (BRANCH_SLOTS / 2)
/* A root leaf starts this small and doubles, so that small files keep small indexes. */
#define SMALL_LEAF_SLOTS 4u
/* Half-full nodes reach this height only past 2^64 extents. */
#define MAX_HEIGHT 16

struct extent_node {
    uint32_t count;
    uint32_t capacity; /* LEAF_SLOTS or BRANCH_SLOTS, less for a small root leaf */
};

/* page is the first page of node's first extent. */
struct child {
    uint64_t page;
    struct extent_node *node;
};

struct extent_spare {
    struct extent_spare *next;
};

#define LEAF_BYTES (sizeof(struct extent_node) + LEAF_SLOTS * sizeof(struct extent))
#define BRANCH_BYTES (sizeof(struct extent_node) + BRANCH_SLOTS * sizeof(struct child))
#define NODE_BYTES (LEAF_BYTES > BRANCH_BYTES ? LEAF_BYTES : BRANCH_BYTES)

/*
 * From the leaf (level 0) up to the root: the node at each level and a slot
 * in it. One array of pairs, since GCC 12.2 at -O2 (ipa-modref) lost
 * step_next's store of the next leaf when nodes and slots were two arrays.
 */
struct path {
    struct {
        struct extent_node *node;
        unsigned slot;
    } at[MAX_HEIGHT];
};

static uint64_t extent_end(const struct extent *e)
{
    return e->page + e->count;
}

/* Whether pages from page on, mapped to blocks from block on, would continue e. */
static bool continues(const struct extent *e, uint64_t page, uint64_t block)
{
    return extent_end(e) == page && e->block + e->count == block;
}

static uint64_t range_end(uint64_t page, uint64_t count)
{
    return count > UINT64_MAX - page ? UINT64_MAX : page + count;
}

static size_t slot_size(unsigned level)
{
    return level ? sizeof(struct child) : sizeof(struct extent);
}

static void *slot_at(const struct extent_node *node, unsigned level, unsigned i)
{
    return (char *)(node + 1) + i * slot_size(level);
}

static struct extent *leaf_extent(const struct extent_node *leaf, unsigned i)
{
    return slot_at(leaf, 0, i);
}

static struct child *branch_child(const struct extent_node *branch, unsigned i)
{
    return slot_at(branch, 1, i);
}

/* Extents and children both start with their first page. */
static uint64_t first_page(const struct extent_node *node, unsigned level)
{
    return *(const uint64_t *)slot_at(node, level, 0);
}

/*
 * The last of count slots, stride bytes apart, whose first page is at most
 * page, or the first one. Branch-free: the compare feeds a conditional move,
 * so random lookups pay no mispredicted branch per step.
 */
static unsigned last_at_most(const struct extent_node *node, unsigned level, unsigned count, uint64_t page)
{
    const char *slots = slot_at(node, level, 0);
    size_t stride = slot_size(level);
    unsigned lo = 0;
    for (unsigned n = count; n > 1; n -= n / 2) {
        unsigned mid = lo + n / 2;
        lo = *(const uint64_t *)(slots + mid * stride) <= page ? mid : lo;
    }
    return lo;
}

/* How many of the leaf's extents start at or before page. */
static unsigned starting_by(const struct extent_node *leaf, uint64_t page)
{
    if (!leaf->count)
        return 0;
    unsigned last = last_at_most(leaf, 0, leaf->count, page);
    return last + (leaf_extent(leaf, last)->page <= page);
}

/*
 * Fills p down to the leaf where page's extent is or would go; the leaf's
 * slot counts its extents that start at or before page. Keys are exact first
 * pages, so that leaf holds every extent that could cover page.
 */
static void descend(const struct extent_index *index, uint64_t page, struct path *p)
{
    struct extent_node *node = index->root;
    for (unsigned level = index->height - 1; level > 0; level--) {
        unsigned i = last_at_most(node, level, node->count, page);
        p->at[level].node = node;
        p->at[level].slot = i;
        node = branch_child(node, i)->node;
        /* A binary search loads one line after another; asking for them all at once overlaps the misses. */
        for (size_t line = 0; line < NODE_BYTES; line += 64)
            __builtin_prefetch((const char *)node + line);
    }
    p->at[0].node = node;
    p->at[0].slot = starting_by(node, page);
}

/* Moves p from its extent to the next one; false at the last. */
static bool step_next(const struct extent_index *index, struct path *p)
{
    if (++p->at[0].slot < p->at[0].node->count)
        return true;
    unsigned level = 1;
    while (level < index->height && p->at[level].slot + 1 >= p->at[level].node->count)
        level++;
    if (level == index->height)
        return false;
    p->at[level].slot++;
    for (; level > 0; level--) {
        p->at[level - 1].node = branch_child(p->at[level].node, p->at[level].slot)->node;
        p->at[level - 1].slot = 0;
    }
    return true;
}

/* Puts p at the first extent that ends after page; false when none does. */
static bool seek(const struct extent_index *index, uint64_t page, struct path *p)
{
    if (!index->count)
        return false;
    descend(index, page, p);
    unsigned slot = p->at[0].slot;
    if (slot > 0 && extent_end(leaf_extent(p->at[0].node, slot - 1)) > page) {
        p->at[0].slot = slot - 1;
        return true;
    }
    if (slot < p->at[0].node->count)
        return true;
    p->at[0].slot = slot - 1; /* only the root leaf may be empty, and the index is not */
    return step_next(index, p);
}

/* After the first page of p's node at level changed: the keys above that name it. */
static void update_first_page(const struct extent_index *index, const struct path *p, unsigned level)
{
    uint64_t page = first_page(p->at[level].node, level);
    for (unsigned l = level + 1; l < index->height; l++) {
        branch_child(p->at[l].node, p->at[l].slot)->page = page;
        if (p->at[l].slot)
            break;
    }
}

static struct extent_node *take_spare(struct extent_index *index)
{
    struct extent_spare *spare = index->spares;
    index->spares = spare->next;
    index->spare_count--;
    return (struct extent_node *)spare;
}

static void free_spares(struct extent_index *index, size_t keep)
{
    while (index->spare_count > keep)
        free(take_spare(index));
}

static int keep_spares(struct extent_index *index, size_t want)
{
    while (index->spare_count < want) {
        struct extent_spare *spare = malloc(NODE_BYTES);
        if (!spare)
            return ENOMEM;
        spare->next = index->spares;
        index->spares = spare;
        index->spare_count++;
    }
    return 0;
}

/* Makes the root a leaf with room for want extents, or LEAF_SLOTS when want is more; only while height is at most 1. */
static int grow_root_leaf(struct extent_index *index, size_t want)
{
    struct extent_node *root = index->root;
    uint32_t capacity = root ? root->capacity : 0;
    if (want <= capacity || capacity == LEAF_SLOTS)
        return 0;
    uint32_t grown = capacity ? capacity : SMALL_LEAF_SLOTS;
    while (grown < want && grown < LEAF_SLOTS)
        grown *= 2;
    /* Not realloc: a lockless reader may still be reading the old root. */
    struct extent_node *leaf = malloc(sizeof(*leaf) + grown * sizeof(struct extent));
    if (!leaf)
        return ENOMEM;
    leaf->count = root ? root->count : 0;
    leaf->capacity = grown;
    if (root)
        memcpy(leaf + 1, root + 1, root->count * sizeof(struct extent));
    __atomic_store_n(&index->root, leaf, __ATOMIC_RELEASE);
    index->height = 1;
    rcu_free(root);
    return 0;
}

/* The most levels a tree of that many extents can have, each node but the root being half full. */
static unsigned max_height(size_t extents)
{
    unsigned height = 1;
    size_t least = 2 * LEAF_MIN; /* extents in the smallest tree one level taller */
    while (extents >= least) {
        height++;
        if (least > SIZE_MAX / BRANCH_MIN)
            break;
        least *= BRANCH_MIN;
    }
    return height;
}

/*
 * Spares that putting n extents (one or two, one at a time) into p's leaf
 * may take: one per full node up the path, and a new root when all are.
 */
static size_t nodes_to_insert(const struct extent_index *index, const struct path *p, unsigned n)
{
    if (p->at[0].node->count + n <= p->at[0].node->capacity)
        return 0;
    size_t nodes = 1;
    for (unsigned level = 1; level < index->height; level++, nodes++)
        if (p->at[level].node->count < BRANCH_SLOTS)
            return nodes;
    return nodes + 1;
}

/* Room to put n extents, one at a time, into p's leaf, before anything changes; p stays valid. */
static int make_room(struct extent_index *index, struct path *p, unsigned n)
{
    if (index->height == 1) {
        int rc = grow_root_leaf(index, index->count + n);
        if (rc)
            return rc;
        p->at[0].node = index->root;
    }
    return keep_spares(index, nodes_to_insert(index, p, n));
}

int extent_reserve(struct extent_index *index, size_t changes)
{
    /* A change puts at most two extents in one place: a map inside an extent splits it around the new one. */
    size_t extents = index->count + 2 * changes;
    int rc = index->height <= 1 ? grow_root_leaf(index, extents) : 0;
    size_t spares = extents <= LEAF_SLOTS && index->height <= 1 ? 0 : changes * (max_height(extents) + 1);
    free_spares(index, spares);
    return rc ? rc : keep_spares(index, spares);
}

/* Puts slot at position at of a node with room. */
static void put_slot(struct extent_node *node, unsigned level, unsigned at, const void *slot)
{
    size_t size = slot_size(level);
    memmove(slot_at(node, level, at + 1), slot_at(node, level, at), (node->count - at) * size);
    memcpy(slot_at(node, level, at), slot, size);
    node->count++;
}

/* Shares the slots of two siblings evenly. */
static void even_out(struct extent_node *left, struct extent_node *right, unsigned level)
{
    size_t size = slot_size(level);
    unsigned total = left->count + right->count, keep = total - total / 2;
    if (left->count < keep) {
        unsigned moved = keep - left->count;
        memcpy(slot_at(left, level, left->count), slot_at(right, level, 0), moved * size);
        memmove(slot_at(right, level, 0), slot_at(right, level, moved), (right->count - moved) * size);
    } else {
        unsigned moved = left->count - keep;
        memmove(slot_at(right, level, moved), slot_at(right, level, 0), right->count * size);
        memcpy(slot_at(right, level, 0), slot_at(left, level, keep), moved * size);
    }
    left->count = keep;
    right->count = total - keep;
}

/*
 * Puts slot into p's full node at level, not the root, by first sharing
 * slots with a sibling that has room for two: nodes stay fuller than
 * splitting leaves them, above all where a file's extents are appended.
 */
static bool put_slot_sharing(struct extent_index *index, struct path *p, unsigned level, const void *slot)
{
    struct extent_node *node = p->at[level].node, *parent = p->at[level + 1].node;
    unsigned i = p->at[level + 1].slot, at = p->at[level].slot;
    struct child *left = i > 0 ? branch_child(parent, i - 1) : NULL;
    struct child *right = i + 1 < parent->count ? branch_child(parent, i + 1) : NULL;
    if (left && left->node->count + 2 <= left->node->capacity) {
        unsigned moved = node->count;
        even_out(left->node, node, level);
        moved -= node->count;
        if (at < moved)
            put_slot(left->node, level, left->node->count - moved + at, slot);
        else
            put_slot(node, level, at - moved, slot);
        left[1].page = first_page(node, level);
        return true;
    }
    if (right && right->node->count + 2 <= right->node->capacity) {
        even_out(node, right->node, level);
        if (at <= node->count) {
            put_slot(node, level, at, slot);
            if (at == 0)
                update_first_page(index, p, level);
        } else {
            put_slot(right->node, level, at - node->count, slot);
        }
        right->page = first_page(right->node, level);
        return true;
    }
    return false;
}

/* Puts slot at p's slot of p's node at level, splitting full nodes on the way up; the room is made. */
static void insert_slot(struct extent_index *index, struct path *p, unsigned level, const void *slot)
{
    if (level == index->height) {
        struct extent_node *root = take_spare(index);
        *root = (struct extent_node){.count = 2, .capacity = BRANCH_SLOTS};
        *branch_child(root, 0) = (struct child){first_page(index->root, level - 1), index->root};
        memcpy(branch_child(root, 1), slot, sizeof(struct child));
        index->root = root;
        index->height++;
        return;
    }
    struct extent_node *node = p->at[level].node;
    unsigned at = p->at[level].slot;
    if (level == 0)
        index->count++;
    if (node->count < node->capacity) {
        put_slot(node, level, at, slot);
        if (at == 0)
            update_first_page(index, p, level);
        return;
    }
    if (level + 1 < index->height && put_slot_sharing(index, p, level, slot))
        return;
    /* The lower half stays, the upper half moves to a new right sibling. */
    unsigned keep = node->count / 2 + 1, from = at < keep ? keep - 1 : keep;
    struct extent_node *right = take_spare(index);
    *right = (struct extent_node){.count = node->count - from, .capacity = node->capacity};
    memcpy(slot_at(right, level, 0), slot_at(node, level, from), right->count * slot_size(level));
    node->count = from;
    if (at < keep)
        put_slot(node, level, at, slot);
    else
        put_slot(right, level, at - keep, slot);
    if (at == 0)
        update_first_page(index, p, level);
    struct child up = {first_page(right, level), right};
    if (level + 1 < index->height)
        p->at[level + 1].slot++;
    insert_slot(index, p, level + 1, &up);
}

static void remove_slots(struct extent_index *index, struct path *p, unsigned level, unsigned n);

/* p's node at level, not the root, fell below half full: takes slots from a sibling, or merges with it. */
static void rebalance(struct extent_index *index, struct path *p, unsigned level)
{
    unsigned slot = p->at[level + 1].slot;
    unsigned left_slot = slot ? slot - 1 : 0;
    struct child *pair = branch_child(p->at[level + 1].node, left_slot);
    struct extent_node *left = pair[0].node, *right = pair[1].node;
    unsigned min = level ? BRANCH_MIN : LEAF_MIN;
    if (left->count + right->count >= 2 * min) {
        even_out(left, right, level);
        pair[1].page = first_page(right, level);
        if (slot == 0)
            update_first_page(index, p, level); /* p's node is left, and may have been empty */
        return;
    }
    memcpy(slot_at(left, level, left->count), slot_at(right, level, 0), right->count * slot_size(level));
    left->count += right->count;
    rcu_free(right);
    if (slot == 0)
        update_first_page(index, p, level);
    p->at[level + 1].slot = left_slot + 1;
    remove_slots(index, p, level + 1, 1);
}

/* Takes n slots from p's slot of p's node at level, then restores the fill of the nodes on the path. */
static void remove_slots(struct extent_index *index, struct path *p, unsigned level, unsigned n)
{
    struct extent_node *node = p->at[level].node;
    unsigned at = p->at[level].slot;
    memmove(slot_at(node, level, at), slot_at(node, level, at + n), (node->count - at - n) * slot_size(level));
    node->count -= n;
    if (level == 0)
        index->count -= n;
    if (level + 1 == index->height) {
        if (level > 0 && node->count == 1) {
            index->root = branch_child(node, 0)->node;
            index->height--;
            rcu_free(node);
        }
        return;
    }
    if (at == 0 && node->count)
        update_first_page(index, p, level);
    if (node->count < (level ? BRANCH_MIN : LEAF_MIN))
        rebalance(index, p, level);
}

/* page's extent, found by one descent that records no path; NULL when page lies in a hole. */
static const struct extent *covering(const struct extent_index *index, uint64_t page)
{
    if (!index->count)
        return NULL;
    const struct extent_node *node = index->root;
    for (unsigned level = index->height - 1; level > 0; level--) {
        node = branch_child(node, last_at_most(node, level, node->count, page))->node;
        for (size_t line = 0; line < NODE_BYTES; line += 64)
            __builtin_prefetch((const char *)node + line);
    }
    const struct extent *e = leaf_extent(node, last_at_most(node, 0, node->count, page));
    return e->page <= page && page < extent_end(e) ? e : NULL;
}

bool extent_lookup(const struct extent_index *index, uint64_t page, uint64_t *block, uint64_t *run)
{
    /* Reads and overwrites look up mapped pages: they need no path, and no run to the next extent. */
    const struct extent *hit = covering(index, page);
    if (hit) {
        *block = hit->block + (page - hit->page);
        *run = extent_end(hit) - page;
        return true;
    }
    struct path p;
    if (!seek(index, page, &p)) {
        *run = UINT64_MAX;
        return false;
    }
    const struct extent *e = leaf_extent(p.at[0].node, p.at[0].slot);
    if (e->page > page) {
        *run = e->page - page;
        return false;
    }
    *block = e->block + (page - e->page);
    *run = extent_end(e) - page;
    return true;
}

/*
 * Each load that decides where the walk goes next is one atomic load: a
 * count or an address read twice could differ. Keys read torn only choose a
 * wrong slot among those the count allows, which the next check of seq
 * rejects.
 */
struct extent_run extent_lookup_lockless(const struct extent_index *index, uint64_t page, const uint32_t *seq,
                                         uint32_t seen)
{
    const struct extent_run none = {0, 0};
    const struct extent_node *node = __atomic_load_n(&index->root, __ATOMIC_RELAXED);
    unsigned height = __atomic_load_n(&index->height, __ATOMIC_RELAXED);
    if (!node || !height || height > MAX_HEIGHT || !seq_unchanged(seq, seen))
        return none;
    for (unsigned level = height - 1; level > 0; level--) {
        unsigned count = __atomic_load_n(&node->count, __ATOMIC_RELAXED);
        if (!count || count > BRANCH_SLOTS)
            return none;
        const struct child *child = branch_child(node, last_at_most(node, level, count, page));
        const struct extent_node *next = __atomic_load_n(&child->node, __ATOMIC_RELAXED);
        if (!seq_unchanged(seq, seen))
            return none;
        node = next;
        for (size_t line = 0; line < NODE_BYTES; line += 64)
            __builtin_prefetch((const char *)node + line);
    }
    unsigned count = __atomic_load_n(&node->count, __ATOMIC_RELAXED);
    if (!count || count > __atomic_load_n(&node->capacity, __ATOMIC_RELAXED))
        return none;
    const struct extent *e = leaf_extent(node, last_at_most(node, 0, count, page));
    uint64_t first = __atomic_load_n(&e->page, __ATOMIC_RELAXED);
    uint64_t start = __atomic_load_n(&e->block, __ATOMIC_RELAXED);
    uint64_t pages = __atomic_load_n(&e->count, __ATOMIC_RELAXED);
    if (first > page || page - first >= pages)
        return none;
    return (struct extent_run){start + (page - first), pages - (page - first)};
}

static void release_pages(struct extent_index *index, uint64_t block, uint64_t count, extent_release_fn release,
                          void *arg)
{
    index->pages -= count;
    if (release)
        release(arg, block, count);
}

/* Unmaps [page, end); the room is made when an extent splits. */
static void unmap_range(struct extent_index *index, uint64_t page, uint64_t end, extent_release_fn release, void *arg)
{
    struct path p;
    while (seek(index, page, &p)) {
        struct extent_node *leaf = p.at[0].node;
        unsigned i = p.at[0].slot;
        struct extent *e = leaf_extent(leaf, i);
        if (e->page >= end)
            return;
        if (e->page < page) {
            uint64_t to = extent_end(e) < end ? extent_end(e) : end;
            release_pages(index, e->block + (page - e->page), to - page, release, arg);
            if (to < extent_end(e)) {
                struct extent tail = {to, e->block + (to - e->page), extent_end(e) - to};
                e->count = page - e->page;
                p.at[0].slot = i + 1;
                insert_slot(index, &p, 0, &tail);
                return;
            }
            e->count = page - e->page;
            i++;
        }
        /* Whole extents go in one run per leaf; one reaching past end loses its head and ends the walk. */
        unsigned first = i;
        for (; i < leaf->count && extent_end(leaf_extent(leaf, i)) <= end; i++)
            release_pages(index, leaf_extent(leaf, i)->block, leaf_extent(leaf, i)->count, release, arg);
        bool done = i < leaf->count;
        struct extent *last = done ? leaf_extent(leaf, i) : NULL;
        if (last && last->page < end) {
            release_pages(index, last->block, end - last->page, release, arg);
            last->block += end - last->page;
            last->count = extent_end(last) - end;
            last->page = end;
            if (i == 0)
                update_first_page(index, &p, 0);
        }
        if (first < i) {
            p.at[0].slot = first;
            remove_slots(index, &p, 0, i - first);
        }
        if (done)
            return;
    }
}

/* Maps the hole [page, page+count), merging with neighbours that continue it; room for one extent is made. */
static void fill_hole(struct extent_index *index, uint64_t page, uint64_t block, uint64_t count)
{
    struct path p, next_leaf, *at_after = &p;
    descend(index, page, &p);
    struct extent_node *leaf = p.at[0].node;
    unsigned slot = p.at[0].slot;
    struct extent *before = slot ? leaf_extent(leaf, slot - 1) : NULL;
    bool joins_before = before && continues(before, page, block);
    struct extent *after = NULL;
    if (slot < leaf->count) {
        after = leaf_extent(leaf, slot);
    } else if (slot > 0) {
        next_leaf = p;
        next_leaf.at[0].slot = slot - 1;
        if (step_next(index, &next_leaf)) {
            after = leaf_extent(next_leaf.at[0].node, 0);
            at_after = &next_leaf;
        }
    }
    bool joins_after = after && continues(&(struct extent){page, block, count}, after->page, after->block);
    index->pages += count;
    if (joins_before && joins_after) {
        before->count += count + after->count;
        remove_slots(index, at_after, 0, 1);
    } else if (joins_before) {
        before->count += count;
    } else if (joins_after) {
        *after = (struct extent){page, block, count + after->count};
        if (at_after->at[0].slot == 0)
            update_first_page(index, at_after, 0);
    } else {
        insert_slot(index, &p, 0, &(struct extent){page, block, count});
    }
}

int extent_unmap(struct extent_index *index, uint64_t page, uint64_t count, extent_release_fn release, void *arg)
{
    uint64_t end = range_end(page, count);
    if (!index->count || page >= end)
        return 0;
    struct path p;
    descend(index, page, &p);
    unsigned slot = p.at[0].slot;
    const struct extent *e = slot ? leaf_extent(p.at[0].node, slot - 1) : NULL;
    if (e && e->page < page && extent_end(e) > end && make_room(index, &p, 1))
        return ENOMEM;
    unmap_range(index, page, end, release, arg);
    return 0;
}

int extent_map(struct extent_index *index, uint64_t page, uint64_t block, uint64_t count, extent_release_fn release,
               void *arg)
{
    if (!count)
        return 0;
    if (!index->root && grow_root_leaf(index, 1))
        return ENOMEM;
    uint64_t end = page + count;
    struct path p;
    descend(index, page ? page - 1 : 0, &p);
    struct extent_node *leaf = p.at[0].node;
    unsigned slot = p.at[0].slot;
    /* A copy-on-write overwrite of a whole extent, between two that it cannot join, only swaps the blocks. */
    struct extent *same = slot > 0 && slot + 1 < leaf->count ? leaf_extent(leaf, slot) : NULL;
    struct extent mapped = {page, block, count};
    if (same && same->page == page && same->count == count && !continues(same - 1, page, block) &&
        !continues(&mapped, same[1].page, same[1].block)) {
        if (release)
            release(arg, same->block, count);
        same->block = block;
        return 0;
    }
    /*
     * Else the new extent goes after the last one that starts before page,
     * which unmapping keeps: inside that one, the map splits it and puts
     * itself between; else it fills the hole that unmapping leaves.
     * Unmapping first cannot make room dearer: it only empties the nodes on
     * that extent's path, or leaves the nodes it rebalances less than full.
     */
    const struct extent *before = slot ? leaf_extent(leaf, slot - 1) : NULL;
    bool inside = before && before->page < page && extent_end(before) > end;
    if (make_room(index, &p, inside ? 2 : 1))
        return ENOMEM;
    unmap_range(index, page, end, release, arg);
    fill_hole(index, page, block, count);
    return 0;
}

uint64_t extent_mapped_pages(const struct extent_index *index, uint64_t page, uint64_t count)
{
    uint64_t end = range_end(page, count);
    if (page == 0 && end == UINT64_MAX)
        return index->pages;
    uint64_t mapped = 0;
    struct path p;
    for (bool more = seek(index, page, &p); more; more = step_next(index, &p)) {
        const struct extent *e = leaf_extent(p.at[0].node, p.at[0].slot);
        if (e->page >= end)
            break;
        uint64_t from = e->page > page ? e->page : page;
        uint64_t to = extent_end(e) < end ? extent_end(e) : end;
        mapped += to - from;
    }
    return mapped;
}

int extent_each(const struct extent_index *index, int (*fn)(void *arg, const struct extent *extent), void *arg)
{
    struct path p;
    for (bool more = seek(index, 0, &p); more; more = step_next(index, &p)) {
        int rc = fn(arg, leaf_extent(p.at[0].node, p.at[0].slot));
        if (rc)
            return rc;
    }
    return 0;
}

static void free_subtree(struct extent_node *node, unsigned level)
{
    for (unsigned i = 0; level && i < node->count; i++)
        free_subtree(branch_child(node, i)->node, level - 1);
    rcu_free(node);
}

void extent_index_clear(struct extent_index *index)
{
    if (index->root)
        free_subtree(index->root, index->height - 1);
    free_spares(index, 0);
    *index = (struct extent_index){0};
}

/* Checks the subtree's order, keys and fill, and counts its extents and pages; *last is the extent before it. */
static bool subtree_well_formed(const struct extent_node *node, unsigned level, bool is_root,
                                const struct extent **last, size_t *extents, uint64_t *pages)
{
    unsigned min = is_root ? (level ? 2 : 0) : (level ? BRANCH_MIN : LEAF_MIN);
    unsigned full = level ? BRANCH_SLOTS : LEAF_SLOTS;
    if (node->count < min || node->count > node->capacity || node->capacity > full ||
        (node->capacity != full && (level || !is_root)))
        return false;
    for (unsigned i = 0; i < node->count; i++) {
        if (level) {
            const struct child *c = branch_child(node, i);
            if (c->page != first_page(c->node, level - 1) ||
                !subtree_well_formed(c->node, level - 1, false, last, extents, pages))
                return false;
            continue;
        }
        const struct extent *e = leaf_extent(node, i);
        if (!e->count || e->count > UINT64_MAX - e->page)
            return false;
        if (*last && (e->page < extent_end(*last) || continues(*last, e->page, e->block)))
            return false; /* overlapping, or should have merged */
        *last = e;
        (*extents)++;
        *pages += e->count;
    }
    return true;
}

bool extent_index_well_formed(const struct extent_index *index)
{
    if (!index->root)
        return index->height == 0 && index->count == 0 && index->pages == 0;
    if (index->height == 0 || index->height > max_height(index->count))
        return false;
    const struct extent *last = NULL;
    size_t extents = 0;
    uint64_t pages = 0;
    return subtree_well_formed(index->root, index->height - 1, true, &last, &extents, &pages) &&
           extents == index->count && pages == index->pages;
}
