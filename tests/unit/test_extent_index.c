/* test_extent_index.c: unit tests of the file-page to pool-block extent index. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "inode/extent_index.h"
#include "test_pool.h"

/* Linked with --wrap=malloc and --wrap=realloc: while allocations_left is not negative, that many succeed. */
static long allocations_left = -1;

void *__real_malloc(size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static bool allocation_allowed(void)
{
    if (allocations_left == 0)
        return false;
    if (allocations_left > 0)
        allocations_left--;
    return true;
}

void *__wrap_malloc(size_t size)
{
    return allocation_allowed() ? __real_malloc(size) : NULL;
}

void *__wrap_realloc(void *ptr, size_t size)
{
    return allocation_allowed() ? __real_realloc(ptr, size) : NULL;
}

/* Teardown of the tests that make allocations fail, so that a failed check does not leave them failing. */
static int allow_allocations(void **state)
{
    (void)state;
    allocations_left = -1;
    return 0;
}

/* Every block a release callback was handed, one entry per block, in call order. */
struct released {
    uint64_t blocks[4096];
    size_t count;
    size_t calls;
};

static void record_release(void *arg, uint64_t block, uint64_t count)
{
    struct released *r = arg;
    assert_true(count > 0);
    assert_true(r->count + count <= sizeof(r->blocks) / sizeof(r->blocks[0]));
    for (uint64_t i = 0; i < count; i++)
        r->blocks[r->count++] = block + i;
    r->calls++;
}

static void assert_released_run(const struct released *r, size_t at, uint64_t block, uint64_t count)
{
    assert_true(at + count <= r->count);
    for (uint64_t i = 0; i < count; i++)
        assert_int_equal(r->blocks[at + i], block + i);
}

struct nth_extent {
    size_t left;
    struct extent found;
};

static int take_nth_extent(void *arg, const struct extent *extent)
{
    struct nth_extent *nth = arg;
    if (nth->left--)
        return 0;
    nth->found = *extent;
    return 1;
}

static void assert_extent(const struct extent_index *index, size_t i, uint64_t page, uint64_t block, uint64_t count)
{
    assert_true(i < index->count);
    struct nth_extent nth = {.left = i};
    assert_int_equal(extent_each(index, take_nth_extent, &nth), 1);
    assert_int_equal(nth.found.page, page);
    assert_int_equal(nth.found.block, block);
    assert_int_equal(nth.found.count, count);
}

static void map_or_fail(struct extent_index *index, uint64_t page, uint64_t block, uint64_t count)
{
    assert_int_equal(extent_map(index, page, block, count, NULL, NULL), 0);
}

static void test_lookup_in_empty_index_is_an_endless_hole(void **state)
{
    (void)state;
    struct extent_index index = {0};
    uint64_t block = 0, run = 0;
    assert_false(extent_lookup(&index, 0, &block, &run));
    assert_int_equal(run, UINT64_MAX);
    assert_false(extent_lookup(&index, UINT64_MAX - 1, &block, &run));
    assert_int_equal(run, UINT64_MAX);
    assert_int_equal(extent_mapped_pages(&index, 0, UINT64_MAX), 0);
    extent_index_clear(&index);
}

static void test_lookup_reports_holes_and_mapped_runs(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 10, 100, 10);
    map_or_fail(&index, 30, 500, 5);
    uint64_t block = 0, run = 0;

    assert_false(extent_lookup(&index, 0, &block, &run));
    assert_int_equal(run, 10);
    assert_false(extent_lookup(&index, 9, &block, &run));
    assert_int_equal(run, 1);

    assert_true(extent_lookup(&index, 10, &block, &run));
    assert_int_equal(block, 100);
    assert_int_equal(run, 10);
    assert_true(extent_lookup(&index, 19, &block, &run));
    assert_int_equal(block, 109);
    assert_int_equal(run, 1);

    assert_false(extent_lookup(&index, 20, &block, &run));
    assert_int_equal(run, 10);
    assert_true(extent_lookup(&index, 32, &block, &run));
    assert_int_equal(block, 502);
    assert_int_equal(run, 3);

    assert_false(extent_lookup(&index, 35, &block, &run));
    assert_int_equal(run, UINT64_MAX);
    extent_index_clear(&index);
}

static void test_map_releases_exactly_the_replaced_blocks(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 10);
    map_or_fail(&index, 20, 200, 10);
    struct released released = {0};

    assert_int_equal(extent_map(&index, 5, 500, 20, record_release, &released), 0);

    assert_int_equal(released.calls, 2);
    assert_int_equal(released.count, 10);
    assert_released_run(&released, 0, 105, 5);
    assert_released_run(&released, 5, 200, 5);
    assert_int_equal(index.count, 3);
    assert_extent(&index, 0, 0, 100, 5);
    assert_extent(&index, 1, 5, 500, 20);
    assert_extent(&index, 2, 25, 205, 5);
    extent_index_clear(&index);
}

static void test_map_over_a_hole_releases_nothing(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 4);
    struct released released = {0};
    assert_int_equal(extent_map(&index, 10, 300, 4, record_release, &released), 0);
    assert_int_equal(released.calls, 0);
    assert_int_equal(index.count, 2);
    extent_index_clear(&index);
}

static void test_map_replacing_whole_extents_drops_them(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 2, 100, 2);
    map_or_fail(&index, 6, 200, 2);
    map_or_fail(&index, 10, 300, 2);
    struct released released = {0};

    assert_int_equal(extent_map(&index, 0, 900, 20, record_release, &released), 0);

    assert_int_equal(released.count, 6);
    assert_released_run(&released, 0, 100, 2);
    assert_released_run(&released, 2, 200, 2);
    assert_released_run(&released, 4, 300, 2);
    assert_int_equal(index.count, 1);
    assert_extent(&index, 0, 0, 900, 20);
    extent_index_clear(&index);
}

static void test_map_merges_with_contiguous_neighbours(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 4);
    map_or_fail(&index, 4, 104, 4);
    assert_int_equal(index.count, 1);
    assert_extent(&index, 0, 0, 100, 8);

    map_or_fail(&index, 12, 112, 4);
    assert_int_equal(index.count, 2);
    map_or_fail(&index, 8, 108, 4);
    assert_int_equal(index.count, 1);
    assert_extent(&index, 0, 0, 100, 16);

    map_or_fail(&index, 20, 120, 4);
    map_or_fail(&index, 18, 118, 2);
    assert_int_equal(index.count, 2);
    assert_extent(&index, 1, 18, 118, 6);
    extent_index_clear(&index);
}

static void test_map_does_not_merge_when_blocks_are_not_contiguous(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 4);
    map_or_fail(&index, 8, 108, 4);
    map_or_fail(&index, 4, 300, 4);
    assert_int_equal(index.count, 3);
    assert_extent(&index, 0, 0, 100, 4);
    assert_extent(&index, 1, 4, 300, 4);
    assert_extent(&index, 2, 8, 108, 4);
    extent_index_clear(&index);
}

static void test_remapping_the_same_blocks_rejoins_the_extent(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 10);
    struct released released = {0};
    assert_int_equal(extent_map(&index, 3, 103, 2, record_release, &released), 0);
    assert_int_equal(released.count, 2);
    assert_released_run(&released, 0, 103, 2);
    assert_int_equal(index.count, 1);
    assert_extent(&index, 0, 0, 100, 10);
    extent_index_clear(&index);
}

static void test_unmap_in_the_middle_splits_the_extent(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 10);
    struct released released = {0};

    assert_int_equal(extent_unmap(&index, 3, 3, record_release, &released), 0);

    assert_int_equal(released.calls, 1);
    assert_int_equal(released.count, 3);
    assert_released_run(&released, 0, 103, 3);
    assert_int_equal(index.count, 2);
    assert_extent(&index, 0, 0, 100, 3);
    assert_extent(&index, 1, 6, 106, 4);
    uint64_t block = 0, run = 0;
    assert_false(extent_lookup(&index, 4, &block, &run));
    assert_int_equal(run, 2);
    assert_true(extent_lookup(&index, 6, &block, &run));
    assert_int_equal(block, 106);
    assert_int_equal(run, 4);
    extent_index_clear(&index);
}

static void test_unmap_trims_both_ends_and_drops_the_middle(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 10);
    map_or_fail(&index, 20, 200, 10);
    map_or_fail(&index, 40, 400, 10);
    struct released released = {0};

    assert_int_equal(extent_unmap(&index, 5, 40, record_release, &released), 0);

    assert_int_equal(released.count, 20);
    assert_released_run(&released, 0, 105, 5);
    assert_released_run(&released, 5, 200, 10);
    assert_released_run(&released, 15, 400, 5);
    assert_int_equal(index.count, 2);
    assert_extent(&index, 0, 0, 100, 5);
    assert_extent(&index, 1, 45, 405, 5);
    extent_index_clear(&index);
}

static void test_unmap_of_a_hole_changes_nothing(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 4);
    map_or_fail(&index, 10, 200, 4);
    struct released released = {0};
    assert_int_equal(extent_unmap(&index, 4, 6, record_release, &released), 0);
    assert_int_equal(released.calls, 0);
    assert_int_equal(index.count, 2);
    assert_extent(&index, 0, 0, 100, 4);
    assert_extent(&index, 1, 10, 200, 4);
    extent_index_clear(&index);
}

static void test_unmap_to_uint64_max_truncates(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 10);
    map_or_fail(&index, 12, 200, 8);
    map_or_fail(&index, 30, 300, 10);
    struct released released = {0};

    assert_int_equal(extent_unmap(&index, 15, UINT64_MAX, record_release, &released), 0);

    assert_int_equal(released.count, 15);
    assert_released_run(&released, 0, 203, 5);
    assert_released_run(&released, 5, 300, 10);
    assert_int_equal(index.count, 2);
    assert_extent(&index, 0, 0, 100, 10);
    assert_extent(&index, 1, 12, 200, 3);
    uint64_t block = 0, run = 0;
    assert_false(extent_lookup(&index, 15, &block, &run));
    assert_int_equal(run, UINT64_MAX);

    released = (struct released){0};
    assert_int_equal(extent_unmap(&index, 0, UINT64_MAX, record_release, &released), 0);
    assert_int_equal(released.count, 13);
    assert_int_equal(index.count, 0);
    assert_int_equal(extent_mapped_pages(&index, 0, UINT64_MAX), 0);
    extent_index_clear(&index);
}

static void test_unmap_near_the_top_of_the_page_space(void **state)
{
    (void)state;
    struct extent_index index = {0};
    uint64_t top = UINT64_MAX - 100;
    map_or_fail(&index, top, 700, 50);
    assert_int_equal(extent_unmap(&index, top + 10, UINT64_MAX, NULL, NULL), 0);
    assert_int_equal(index.count, 1);
    assert_extent(&index, 0, top, 700, 10);
    assert_int_equal(extent_mapped_pages(&index, top + 5, UINT64_MAX), 5);
    extent_index_clear(&index);
}

static void test_mapped_pages_counts_only_the_requested_range(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 10, 100, 10);
    map_or_fail(&index, 30, 300, 10);
    assert_int_equal(extent_mapped_pages(&index, 0, UINT64_MAX), 20);
    assert_int_equal(extent_mapped_pages(&index, 0, 10), 0);
    assert_int_equal(extent_mapped_pages(&index, 15, 20), 10);
    assert_int_equal(extent_mapped_pages(&index, 12, 3), 3);
    assert_int_equal(extent_mapped_pages(&index, 19, 12), 2);
    assert_int_equal(extent_mapped_pages(&index, 40, UINT64_MAX), 0);
    assert_int_equal(extent_mapped_pages(&index, 35, 0), 0);
    extent_index_clear(&index);
}

static void test_clear_empties_the_index(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 1);
    map_or_fail(&index, 5, 200, 1);
    assert_int_equal(extent_reserve(&index, 100), 0);
    extent_index_clear(&index);
    assert_int_equal(index.count, 0);
    assert_null(index.root);
    assert_null(index.spares);
    assert_int_equal(index.spare_count, 0);
    map_or_fail(&index, 0, 100, 1);
    assert_int_equal(index.count, 1);
    extent_index_clear(&index);
}

/* The randomized checks: a plain array page -> block, 0 for a hole, replayed against the index. */
struct model {
    uint64_t *blocks;
    uint64_t pages;
    uint64_t seed;
    uint64_t fresh_block; /* above every block mapped so far */
    struct released *released;
    uint64_t *expected; /* the blocks a change must release */
};

static struct model model_new(uint64_t pages, uint64_t seed)
{
    struct model m = {.pages = pages, .seed = seed, .fresh_block = 1000};
    m.blocks = calloc(pages, sizeof(*m.blocks));
    m.expected = calloc(pages, sizeof(*m.expected));
    m.released = malloc(sizeof(*m.released));
    assert_true(m.blocks && m.expected && m.released);
    return m;
}

static void model_free(struct model *m)
{
    free(m->blocks);
    free(m->expected);
    free(m->released);
}

static int compare_blocks(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void assert_same_block_multiset(struct released *got, uint64_t *expected, size_t expected_count)
{
    assert_int_equal(got->count, expected_count);
    qsort(got->blocks, got->count, sizeof(got->blocks[0]), compare_blocks);
    qsort(expected, expected_count, sizeof(expected[0]), compare_blocks);
    assert_memory_equal(got->blocks, expected, expected_count * sizeof(expected[0]));
}

/* Walks the index beside the model. */
struct model_walk {
    const struct model *m;
    uint64_t next; /* the first page not compared yet */
    size_t extents;
};

/* Each extent is a run of the model with holes before it, and as long as the blocks continue: merged. */
static int compare_extent_with_model(void *arg, const struct extent *e)
{
    struct model_walk *w = arg;
    const uint64_t *blocks = w->m->blocks;
    assert_true(e->count > 0);
    assert_true(e->page >= w->next);
    assert_true(e->page + e->count <= w->m->pages);
    for (uint64_t p = w->next; p < e->page; p++)
        assert_int_equal(blocks[p], 0);
    for (uint64_t i = 0; i < e->count; i++)
        assert_int_equal(blocks[e->page + i], e->block + i);
    assert_false(e->page > 0 && blocks[e->page - 1] && blocks[e->page - 1] + 1 == e->block);
    assert_false(e->page + e->count < w->m->pages && blocks[e->page + e->count] == e->block + e->count);
    w->next = e->page + e->count;
    w->extents++;
    return 0;
}

/* The tree's invariants, and extents, count and mapped pages against the model. */
static void assert_extents_match_model(const struct extent_index *index, const struct model *m)
{
    assert_true(extent_index_well_formed(index));
    struct model_walk walk = {.m = m};
    assert_int_equal(extent_each(index, compare_extent_with_model, &walk), 0);
    for (uint64_t p = walk.next; p < m->pages; p++)
        assert_int_equal(m->blocks[p], 0);
    assert_int_equal(walk.extents, index->count);
    uint64_t mapped = 0;
    for (uint64_t p = 0; p < m->pages; p++)
        mapped += m->blocks[p] != 0;
    assert_int_equal(extent_mapped_pages(index, 0, UINT64_MAX), mapped);
}

static void assert_lookup_matches_model(const struct extent_index *index, const struct model *m, uint64_t page)
{
    uint64_t block = 0, run = 0;
    bool mapped = extent_lookup(index, page, &block, &run);
    uint64_t want = page < m->pages ? m->blocks[page] : 0;
    assert_int_equal(mapped, want != 0);
    uint64_t expected_run = 0;
    if (mapped) {
        assert_int_equal(block, want);
        while (page + expected_run < m->pages && m->blocks[page + expected_run] == want + expected_run)
            expected_run++;
    } else {
        while (page + expected_run < m->pages && !m->blocks[page + expected_run])
            expected_run++;
        if (page + expected_run >= m->pages)
            expected_run = UINT64_MAX;
    }
    assert_int_equal(run, expected_run);
}

static void assert_mapped_pages_match_model(const struct extent_index *index, struct model *m)
{
    uint64_t from = test_random_next(&m->seed) % m->pages;
    uint64_t span = test_random_next(&m->seed) % 4 == 0 ? UINT64_MAX : test_random_next(&m->seed) % m->pages;
    uint64_t mapped = 0;
    for (uint64_t p = from; p < m->pages && (span == UINT64_MAX || p < from + span); p++)
        mapped += m->blocks[p] != 0;
    assert_int_equal(extent_mapped_pages(index, from, span), mapped);
}

/* After a change to [first, end): lookups around it and at random pages, every page when all is set. */
static void assert_index_matches_model(const struct extent_index *index, struct model *m, uint64_t first, uint64_t end,
                                       bool all)
{
    assert_extents_match_model(index, m);
    for (uint64_t page = all || first < 2 ? 0 : first - 2; page < (all ? m->pages + 2 : end + 2); page++)
        assert_lookup_matches_model(index, m, page);
    for (int i = 0; i < 8; i++)
        assert_lookup_matches_model(index, m, test_random_next(&m->seed) % m->pages);
    assert_mapped_pages_match_model(index, m);
}

/*
 * One random map or unmap of at most max_count pages, checked against the
 * model: the blocks it released, or on ENOMEM that it released nothing and
 * left the model as it was. Growing leaves out merges and most unmaps, so
 * that extents pile up. Returns its result; *first and *end are its range.
 */
static int random_change(struct model *m, struct extent_index *index, uint64_t max_count, bool growing,
                         uint64_t *first, uint64_t *end)
{
    uint64_t page = test_random_next(&m->seed) % m->pages;
    uint64_t count = 1 + test_random_next(&m->seed) % max_count;
    if (count > m->pages - page)
        count = m->pages - page;
    uint64_t kind = growing ? 2 + test_random_next(&m->seed) % 6 : test_random_next(&m->seed) % 10;
    uint64_t *blocks = m->blocks;
    uint64_t block = 0; /* 0 unmaps */
    if (kind < 2 && page > 0 && blocks[page - 1]) {
        /* Continuing the left neighbour's blocks is what makes merges happen. */
        block = blocks[page - 1] + 1;
    } else if (kind == 2 && blocks[page]) {
        /* A copy-on-write overwrite of exactly one extent. */
        while (page > 0 && blocks[page - 1] && blocks[page - 1] + 1 == blocks[page])
            page--;
        count = 1;
        while (page + count < m->pages && blocks[page + count] == blocks[page] + count)
            count++;
        block = m->fresh_block;
    } else if (kind == 3 && blocks[page]) {
        /* The blocks already there: released, and the extent joins up again. */
        uint64_t run = 1;
        while (page + run < m->pages && blocks[page + run] == blocks[page] + run)
            run++;
        count = count < run ? count : run;
        block = blocks[page];
    } else if (kind < 7) {
        block = m->fresh_block;
    }
    if (block == m->fresh_block)
        m->fresh_block += count + 1 + test_random_next(&m->seed) % 3;
    bool to_end = kind == 9;
    *first = page;
    *end = to_end ? m->pages : page + count;

    size_t expected_count = 0;
    for (uint64_t p = page; p < *end; p++)
        if (blocks[p])
            m->expected[expected_count++] = blocks[p];
    *m->released = (struct released){0};
    int rc = block ? extent_map(index, page, block, count, record_release, m->released)
                   : extent_unmap(index, page, to_end ? UINT64_MAX : count, record_release, m->released);
    if (rc) {
        assert_int_equal(rc, ENOMEM);
        assert_int_equal(m->released->calls, 0);
        return rc;
    }
    assert_same_block_multiset(m->released, m->expected, expected_count);
    for (uint64_t p = page; p < *end; p++)
        blocks[p] = block ? block + (p - page) : 0;
    return 0;
}

static void test_random_operations_match_an_array_model(void **state)
{
    (void)state;
    struct model m = model_new(192, 20240611);
    struct extent_index index = {0};
    for (int op = 0; op < 4000; op++) {
        uint64_t first, end;
        assert_int_equal(random_change(&m, &index, 24, false, &first, &end), 0);
        assert_index_matches_model(&index, &m, first, end, true);
    }
    extent_index_clear(&index);
    model_free(&m);
}

/*
 * Thousands of extents over 4096 pages: phases of small changes fragment the
 * file until the tree is three levels high, phases of large ones bring it
 * back to a single leaf, splitting, evening out and merging nodes on the way.
 */
static void test_random_operations_grow_and_shrink_the_tree(void **state)
{
    (void)state;
    struct model m = model_new(4096, 77);
    struct extent_index index = {0};
    unsigned tallest = 0, grew_to_three = 0, back_to_one = 0;
    for (int phase = 0; phase < 6; phase++) {
        bool fragment = phase % 2 == 0;
        for (int op = 0; op < (fragment ? 8000 : 1500); op++) {
            uint64_t first, end;
            assert_int_equal(random_change(&m, &index, fragment ? 3 : 1024, fragment, &first, &end), 0);
            assert_index_matches_model(&index, &m, first, end, op % 512 == 0);
            tallest = index.height > tallest ? index.height : tallest;
            grew_to_three += index.height == 3 && tallest == 3;
            back_to_one += index.height == 1 && grew_to_three;
        }
    }
    assert_int_equal(tallest, 3);
    assert_true(grew_to_three > 0 && back_to_one > 0);
    extent_index_clear(&index);
    model_free(&m);
}

/* After extent_reserve(n), n changes of any kind succeed with every allocation failing. */
static void test_reserved_changes_need_no_allocation(void **state)
{
    (void)state;
    struct model m = model_new(4096, 99);
    struct extent_index index = {0};
    unsigned tallest = 0;
    for (int round = 0; round < 3000; round++) {
        size_t changes = 1 + test_random_next(&m.seed) % 4;
        assert_int_equal(extent_reserve(&index, changes), 0);
        uint64_t max_count = round % 512 == 511 ? 256 : 3;
        allocations_left = 0;
        for (size_t i = 0; i < changes; i++) {
            uint64_t first, end;
            assert_int_equal(random_change(&m, &index, max_count, max_count == 3, &first, &end), 0);
        }
        allocations_left = -1;
        assert_extents_match_model(&index, &m);
        tallest = index.height > tallest ? index.height : tallest;
    }
    assert_int_equal(tallest, 3);
    extent_index_clear(&index);
    model_free(&m);
}

/* With the spares dropped and allocations failing, a change that needs a node fails with ENOMEM and changes nothing. */
static void test_failed_changes_change_nothing(void **state)
{
    (void)state;
    struct model m = model_new(4096, 5);
    struct extent_index index = {0};
    unsigned failures = 0;
    for (int op = 0; op < 12000; op++) {
        assert_int_equal(extent_reserve(&index, 0), 0);
        assert_int_equal(index.spare_count, 0);
        allocations_left = op % 3 ? 0 : -1;
        uint64_t first, end;
        failures += random_change(&m, &index, op % 1000 < 900 ? 3 : 512, op % 1000 < 900, &first, &end) != 0;
        allocations_left = -1;
        assert_extents_match_model(&index, &m);
    }
    assert_true(failures >= 100);
    extent_index_clear(&index);
    model_free(&m);
}

/* Unmapping inside extents splits them until a full node needs a new one: that unmap fails and changes nothing. */
static void test_unmap_that_cannot_split_changes_nothing(void **state)
{
    (void)state;
    for (uint64_t extents = 4; extents <= 2048; extents *= 512) {
        struct model m = model_new(3 * extents, 1);
        struct extent_index index = {0};
        for (uint64_t i = 0; i < extents; i++) {
            map_or_fail(&index, 3 * i, 10000 + 4 * i, 3);
            for (uint64_t p = 0; p < 3; p++)
                m.blocks[3 * i + p] = 10000 + 4 * i + p;
        }
        assert_int_equal(extent_reserve(&index, 0), 0);
        allocations_left = 0;
        int rc = 0;
        uint64_t i = 0;
        for (; i < extents && !rc; i++) {
            *m.released = (struct released){0};
            rc = extent_unmap(&index, 3 * i + 1, 1, record_release, m.released);
            if (!rc)
                m.blocks[3 * i + 1] = 0;
        }
        allocations_left = -1;
        assert_int_equal(rc, ENOMEM);
        assert_int_equal(m.released->calls, 0);
        assert_index_matches_model(&index, &m, 0, m.pages, true);
        assert_int_equal(extent_unmap(&index, 3 * (i - 1) + 1, 1, NULL, NULL), 0);
        extent_index_clear(&index);
        model_free(&m);
    }
}

/* A small index grows its one leaf rather than keep spare nodes; a smaller reservation frees what a larger one left. */
static void test_reserve_keeps_only_what_the_next_changes_need(void **state)
{
    (void)state;
    struct extent_index index = {0};
    map_or_fail(&index, 0, 100, 1);
    assert_int_equal(extent_reserve(&index, 2), 0);
    assert_int_equal(index.spare_count, 0);
    allocations_left = 0;
    for (uint64_t i = 1; i <= 4; i++)
        map_or_fail(&index, 2 * i, 100 + 2 * i, 1);
    allocations_left = -1;
    assert_int_equal(index.count, 5);

    for (uint64_t i = 5; i < 2000; i++)
        map_or_fail(&index, 2 * i, 100 + 2 * i, 1);
    assert_int_equal(extent_reserve(&index, 1000), 0);
    assert_true(index.spare_count >= 3000);
    assert_int_equal(extent_reserve(&index, 1), 0);
    assert_true(index.spare_count > 0 && index.spare_count < 10);
    extent_index_clear(&index);
    assert_int_equal(index.spare_count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_in_empty_index_is_an_endless_hole),
        cmocka_unit_test(test_lookup_reports_holes_and_mapped_runs),
        cmocka_unit_test(test_map_releases_exactly_the_replaced_blocks),
        cmocka_unit_test(test_map_over_a_hole_releases_nothing),
        cmocka_unit_test(test_map_replacing_whole_extents_drops_them),
        cmocka_unit_test(test_map_merges_with_contiguous_neighbours),
        cmocka_unit_test(test_map_does_not_merge_when_blocks_are_not_contiguous),
        cmocka_unit_test(test_remapping_the_same_blocks_rejoins_the_extent),
        cmocka_unit_test(test_unmap_in_the_middle_splits_the_extent),
        cmocka_unit_test(test_unmap_trims_both_ends_and_drops_the_middle),
        cmocka_unit_test(test_unmap_of_a_hole_changes_nothing),
        cmocka_unit_test(test_unmap_to_uint64_max_truncates),
        cmocka_unit_test(test_unmap_near_the_top_of_the_page_space),
        cmocka_unit_test(test_mapped_pages_counts_only_the_requested_range),
        cmocka_unit_test(test_clear_empties_the_index),
        cmocka_unit_test(test_random_operations_match_an_array_model),
        cmocka_unit_test(test_random_operations_grow_and_shrink_the_tree),
        cmocka_unit_test_teardown(test_reserved_changes_need_no_allocation, allow_allocations),
        cmocka_unit_test_teardown(test_failed_changes_change_nothing, allow_allocations),
        cmocka_unit_test_teardown(test_unmap_that_cannot_split_changes_nothing, allow_allocations),
        cmocka_unit_test_teardown(test_reserve_keeps_only_what_the_next_changes_need, allow_allocations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
