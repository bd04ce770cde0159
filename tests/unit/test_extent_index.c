/* test_extent_index.c: unit tests of the file-page to pool-block extent index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "inode/extent_index.h"
#include "test_pool.h"

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
    extent_index_clear(&index);
    assert_int_equal(index.count, 0);
    assert_null(index.extents);
    map_or_fail(&index, 0, 100, 1);
    assert_int_equal(index.count, 1);
    extent_index_clear(&index);
}

/* The randomized check: a plain array page -> block, 0 for a hole, replayed against the index. */
#define MODEL_PAGES 192
#define MODEL_OPS 4000

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

/* Sorted, non-empty, non-overlapping, and no two neighbours that could have merged. */
static void assert_index_well_formed(const struct extent_index *index)
{
    for (size_t i = 0; i < index->count; i++) {
        const struct extent *e = &index->extents[i];
        assert_true(e->count > 0);
        if (i == 0)
            continue;
        const struct extent *prev = &index->extents[i - 1];
        assert_true(prev->page + prev->count <= e->page);
        assert_false(prev->page + prev->count == e->page && prev->block + prev->count == e->block);
    }
}

static void assert_index_matches_model(const struct extent_index *index, const uint64_t *model)
{
    assert_index_well_formed(index);
    for (uint64_t page = 0; page < MODEL_PAGES + 2; page++) {
        uint64_t block = 0, run = 0;
        bool mapped = extent_lookup(index, page, &block, &run);
        uint64_t want = page < MODEL_PAGES ? model[page] : 0;
        assert_int_equal(mapped, want != 0);
        uint64_t expected_run = 0;
        if (mapped) {
            assert_int_equal(block, want);
            while (page + expected_run < MODEL_PAGES && model[page + expected_run] == want + expected_run)
                expected_run++;
        } else {
            while (page + expected_run < MODEL_PAGES && !model[page + expected_run])
                expected_run++;
            if (page + expected_run >= MODEL_PAGES)
                expected_run = UINT64_MAX;
        }
        assert_int_equal(run, expected_run);
    }
}

static void test_random_operations_match_an_array_model(void **state)
{
    (void)state;
    uint64_t model[MODEL_PAGES] = {0};
    uint64_t expected[MODEL_PAGES];
    struct released *released = malloc(sizeof(*released));
    assert_non_null(released);
    struct extent_index index = {0};
    uint64_t seed = 20240611;
    uint64_t fresh_block = 1000;

    for (int op = 0; op < MODEL_OPS; op++) {
        uint64_t page = test_random_next(&seed) % MODEL_PAGES;
        uint64_t count = 1 + test_random_next(&seed) % 24;
        if (page + count > MODEL_PAGES)
            count = MODEL_PAGES - page;
        uint64_t kind = test_random_next(&seed) % 8;
        bool to_end = kind == 7;
        uint64_t end = to_end ? MODEL_PAGES : page + count;

        size_t expected_count = 0;
        for (uint64_t p = page; p < end; p++)
            if (model[p])
                expected[expected_count++] = model[p];
        *released = (struct released){0};

        if (kind < 5) {
            /* Continuing the left neighbour's blocks is what makes merges happen. */
            uint64_t block = kind < 2 && page > 0 && model[page - 1] ? model[page - 1] + 1 : fresh_block;
            fresh_block += count + 1 + test_random_next(&seed) % 3;
            assert_int_equal(extent_map(&index, page, block, count, record_release, released), 0);
            for (uint64_t p = page; p < end; p++)
                model[p] = block + (p - page);
        } else {
            assert_int_equal(extent_unmap(&index, page, to_end ? UINT64_MAX : count, record_release, released), 0);
            for (uint64_t p = page; p < end; p++)
                model[p] = 0;
        }
        assert_same_block_multiset(released, expected, expected_count);
        assert_index_matches_model(&index, model);

        uint64_t from = test_random_next(&seed) % MODEL_PAGES;
        uint64_t span = test_random_next(&seed) % 4 == 0 ? UINT64_MAX : test_random_next(&seed) % MODEL_PAGES;
        uint64_t mapped = 0;
        for (uint64_t p = from; p < MODEL_PAGES && (span == UINT64_MAX || p < from + span); p++)
            mapped += model[p] != 0;
        assert_int_equal(extent_mapped_pages(&index, from, span), mapped);
    }
    extent_index_clear(&index);
    free(released);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
