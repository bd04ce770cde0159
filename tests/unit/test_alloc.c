/* test_alloc.c: unit tests of the block allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "alloc/alloc.h"
#include "pool/format.h"
#include "test_pool.h"

/* 2 MiB aligned, like the data area of a formatted pool. */
#define BASE (2 * UDAX_BLOCKS_PER_HUGE)

struct run {
    uint64_t block;
    uint64_t count;
};

static void init_or_fail(struct allocator *a, uint64_t blocks)
{
    assert_int_equal(alloc_init(a, BASE, BASE + blocks), 0);
}

static void assert_run_in_range(const struct allocator *a, uint64_t block, uint64_t count, uint64_t want)
{
    assert_true(count >= 1 && count <= want);
    assert_true(block >= a->base_block);
    assert_true(block + count <= a->base_block + a->block_count);
}

/* Allocates until ENOSPC, checking that no block is handed out twice; returns how many blocks it got. */
static uint64_t allocate_everything(struct allocator *a, uint64_t want, uint8_t *taken)
{
    uint64_t total = 0, block = 0, count = 0;
    uint64_t free_at_start = alloc_free_blocks(a);
    for (;;) {
        int rc = alloc_extent(a, want, false, &block, &count);
        if (rc) {
            assert_int_equal(rc, ENOSPC);
            return total;
        }
        assert_run_in_range(a, block, count, want);
        for (uint64_t b = block; b < block + count; b++) {
            assert_int_equal(taken[b - a->base_block], 0);
            assert_true(alloc_is_used(a, b));
            taken[b - a->base_block] = 1;
        }
        total += count;
        assert_int_equal(alloc_free_blocks(a), free_at_start - total);
    }
}

static void test_init_starts_with_every_block_free(void **state)
{
    (void)state;
    struct allocator a;
    init_or_fail(&a, 4096);
    assert_int_equal(alloc_free_blocks(&a), 4096);
    for (uint64_t b = BASE; b < BASE + 4096; b++)
        assert_false(alloc_is_used(&a, b));
    assert_false(alloc_is_used(&a, BASE - 1));
    assert_false(alloc_is_used(&a, BASE + 4096));
    alloc_destroy(&a);
}

static void test_extents_are_in_range_and_disjoint(void **state)
{
    (void)state;
    const uint64_t blocks = 4096;
    for (uint64_t want = 1; want <= 700; want = want * 3 + 2) {
        struct allocator a;
        init_or_fail(&a, blocks);
        uint8_t *taken = calloc(blocks, 1);
        assert_non_null(taken);
        assert_int_equal(allocate_everything(&a, want, taken), blocks);
        assert_int_equal(alloc_free_blocks(&a), 0);
        free(taken);
        alloc_destroy(&a);
    }
}

static void test_a_partial_last_chunk_is_allocated_to_its_end_only(void **state)
{
    (void)state;
    const uint64_t blocks = UDAX_BLOCKS_PER_HUGE + 300;
    struct allocator a;
    init_or_fail(&a, blocks);
    assert_int_equal(alloc_free_blocks(&a), blocks);
    uint8_t *taken = calloc(blocks, 1);
    assert_non_null(taken);
    assert_int_equal(allocate_everything(&a, 64, taken), blocks);
    assert_false(alloc_is_used(&a, BASE + blocks));
    free(taken);
    alloc_destroy(&a);
}

static void test_free_returns_blocks(void **state)
{
    (void)state;
    const uint64_t blocks = 2048;
    struct allocator a;
    init_or_fail(&a, blocks);
    uint8_t *taken = calloc(blocks, 1);
    assert_non_null(taken);
    allocate_everything(&a, 16, taken);

    const struct run freed[] = {{BASE + 3, 5}, {BASE + 700, 1}, {BASE + blocks - 10, 10}};
    uint64_t freed_total = 0;
    for (size_t i = 0; i < sizeof(freed) / sizeof(freed[0]); i++) {
        alloc_free(&a, freed[i].block, freed[i].count);
        freed_total += freed[i].count;
        assert_int_equal(alloc_free_blocks(&a), freed_total);
        for (uint64_t b = freed[i].block; b < freed[i].block + freed[i].count; b++) {
            assert_false(alloc_is_used(&a, b));
            taken[b - BASE] = 0;
        }
    }
    assert_true(alloc_is_used(&a, BASE + 2));
    assert_true(alloc_is_used(&a, BASE + 8));

    assert_int_equal(allocate_everything(&a, 4, taken), freed_total);
    for (uint64_t b = 0; b < blocks; b++)
        assert_int_equal(taken[b], 1);
    free(taken);
    alloc_destroy(&a);
}

static void test_huge_on_an_empty_allocator_takes_an_aligned_chunk(void **state)
{
    (void)state;
    struct allocator a;
    init_or_fail(&a, 8 * UDAX_BLOCKS_PER_HUGE);
    uint64_t block = 0, count = 0;

    assert_int_equal(alloc_extent(&a, UDAX_BLOCKS_PER_HUGE, true, &block, &count), 0);
    assert_int_equal(count, UDAX_BLOCKS_PER_HUGE);
    assert_int_equal((block - a.base_block) % UDAX_BLOCKS_PER_HUGE, 0);
    assert_int_equal(block % UDAX_BLOCKS_PER_HUGE, 0);
    uint64_t first = block;

    assert_int_equal(alloc_extent(&a, 5 * UDAX_BLOCKS_PER_HUGE, true, &block, &count), 0);
    assert_int_equal(count, UDAX_BLOCKS_PER_HUGE);
    assert_int_equal(block % UDAX_BLOCKS_PER_HUGE, 0);
    assert_int_not_equal(block, first);
    assert_int_equal(alloc_free_blocks(&a), 6 * UDAX_BLOCKS_PER_HUGE);
    alloc_destroy(&a);
}

static void test_huge_skips_a_partly_used_chunk(void **state)
{
    (void)state;
    struct allocator a;
    init_or_fail(&a, 4 * UDAX_BLOCKS_PER_HUGE);
    uint64_t small = 0, block = 0, count = 0;
    assert_int_equal(alloc_extent(&a, 1, false, &small, &count), 0);

    assert_int_equal(alloc_extent(&a, UDAX_BLOCKS_PER_HUGE, true, &block, &count), 0);

    assert_int_equal(count, UDAX_BLOCKS_PER_HUGE);
    assert_int_equal(block % UDAX_BLOCKS_PER_HUGE, 0);
    assert_true(small < block || small >= block + count);
    alloc_destroy(&a);
}

static void test_huge_without_a_whole_chunk_still_allocates(void **state)
{
    (void)state;
    const uint64_t blocks = UDAX_BLOCKS_PER_HUGE + 100;
    struct allocator a;
    init_or_fail(&a, blocks);
    uint64_t small = 0, block = 0, count = 0;
    assert_int_equal(alloc_extent(&a, 1, false, &small, &count), 0);

    assert_int_equal(alloc_extent(&a, UDAX_BLOCKS_PER_HUGE, true, &block, &count), 0);

    assert_run_in_range(&a, block, count, UDAX_BLOCKS_PER_HUGE);
    assert_true(small < block || small >= block + count);
    alloc_destroy(&a);
}

/* A 2 MiB request takes a whole chunk from any arena before it settles for a partial run in its own. */
static void test_huge_prefers_a_whole_chunk_in_another_arena(void **state)
{
    (void)state;
    /* The whole chunk goes first in the first arena, then last in the last: one of them is not the thread's own. */
    for (int whole_in_last = 0; whole_in_last < 2; whole_in_last++) {
        struct allocator a;
        init_or_fail(&a, 32 * UDAX_BLOCKS_PER_HUGE);
        assert_true(a.arena_count >= 2);
        uint64_t chunks = a.block_count / UDAX_BLOCKS_PER_HUGE;
        uint64_t whole = whole_in_last ? chunks - 1 : 0;
        for (uint64_t c = 0; c < chunks; c++)
            if (c != whole)
                assert_true(alloc_claim(&a, a.base_block + c * UDAX_BLOCKS_PER_HUGE, 1));
        uint64_t block = 0, count = 0;

        assert_int_equal(alloc_extent(&a, UDAX_BLOCKS_PER_HUGE, true, &block, &count), 0);

        assert_int_equal(count, UDAX_BLOCKS_PER_HUGE);
        assert_int_equal(block, a.base_block + whole * UDAX_BLOCKS_PER_HUGE);
        alloc_destroy(&a);
    }
}

static void test_enospc_when_full_and_allocation_resumes_after_free(void **state)
{
    (void)state;
    const uint64_t blocks = 1024;
    struct allocator a;
    init_or_fail(&a, blocks);
    uint8_t *taken = calloc(blocks, 1);
    assert_non_null(taken);
    allocate_everything(&a, 100, taken);
    uint64_t block = 0, count = 0;
    assert_int_equal(alloc_extent(&a, 1, false, &block, &count), ENOSPC);
    assert_int_equal(alloc_extent(&a, UDAX_BLOCKS_PER_HUGE, true, &block, &count), ENOSPC);

    alloc_free(&a, BASE + 500, 3);

    assert_int_equal(alloc_extent(&a, 8, false, &block, &count), 0);
    assert_int_equal(block, BASE + 500);
    assert_int_equal(count, 3);
    assert_int_equal(alloc_extent(&a, 1, false, &block, &count), ENOSPC);
    free(taken);
    alloc_destroy(&a);
}

/* Log pages taken between appends of one block each would split the file's data into runs of one. */
static void test_metadata_blocks_leave_data_runs_contiguous(void **state)
{
    (void)state;
    const uint64_t blocks = 1024;
    struct allocator a;
    init_or_fail(&a, blocks);
    uint64_t data = 0, previous = 0, count = 0, metadata = 0;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(alloc_extent(&a, 1, false, &data, &count), 0);
        if (i)
            assert_int_equal(data, previous + 1);
        previous = data;
        assert_int_equal(alloc_metadata_block(&a, &metadata), 0);
        assert_int_equal(metadata, BASE + blocks - 1 - (uint64_t)i);
    }
    alloc_destroy(&a);
}

/* Downward next-fit: a freed block above the cursor is taken again only after the blocks below are gone. */
static void test_metadata_blocks_wrap_to_the_top_and_take_the_last_free_one(void **state)
{
    (void)state;
    const uint64_t blocks = 1024;
    struct allocator a;
    init_or_fail(&a, blocks);
    uint64_t block = 0;
    assert_int_equal(alloc_metadata_block(&a, &block), 0);
    assert_int_equal(block, BASE + blocks - 1);
    assert_int_equal(alloc_metadata_block(&a, &block), 0);
    alloc_free(&a, BASE + blocks - 1, 1);
    assert_int_equal(alloc_metadata_block(&a, &block), 0);
    assert_int_equal(block, BASE + blocks - 3);

    uint8_t *taken = calloc(blocks, 1);
    assert_non_null(taken);
    allocate_everything(&a, 7, taken);
    assert_int_equal(alloc_metadata_block(&a, &block), ENOSPC);
    alloc_free(&a, BASE + 10, 1);
    assert_int_equal(alloc_metadata_block(&a, &block), 0);
    assert_int_equal(block, BASE + 10);
    assert_int_equal(alloc_free_blocks(&a), 0);
    free(taken);
    alloc_destroy(&a);
}

static void test_claim_refuses_double_claims_and_out_of_range(void **state)
{
    (void)state;
    const uint64_t blocks = 1024;
    struct allocator a;
    init_or_fail(&a, blocks);

    assert_true(alloc_claim(&a, BASE + 10, 5));
    assert_int_equal(alloc_free_blocks(&a), blocks - 5);
    for (uint64_t b = BASE + 10; b < BASE + 15; b++)
        assert_true(alloc_is_used(&a, b));

    assert_false(alloc_claim(&a, BASE + 12, 1));
    assert_false(alloc_claim(&a, BASE + 14, 3));
    /* A refused claim takes nothing, not even the blocks before the conflict. */
    assert_false(alloc_claim(&a, BASE + 6, 6));
    for (uint64_t b = BASE + 6; b < BASE + 10; b++)
        assert_false(alloc_is_used(&a, b));

    assert_false(alloc_claim(&a, BASE - 1, 1));
    assert_false(alloc_claim(&a, BASE - 1, 2));
    assert_false(alloc_claim(&a, BASE + blocks, 1));
    assert_false(alloc_claim(&a, BASE + blocks - 1, 2));
    assert_false(alloc_claim(&a, BASE, blocks + 1));
    assert_false(alloc_claim(&a, BASE + 1, UINT64_MAX));
    assert_false(alloc_claim(&a, UINT64_MAX, 2));
    assert_int_equal(alloc_free_blocks(&a), blocks - 5);

    assert_true(alloc_claim(&a, BASE + blocks - 1, 1));
    assert_true(alloc_claim(&a, BASE, 1));
    assert_int_equal(alloc_free_blocks(&a), blocks - 7);
    alloc_destroy(&a);
}

static void test_allocation_never_returns_claimed_blocks(void **state)
{
    (void)state;
    const uint64_t blocks = 2048;
    struct allocator a;
    init_or_fail(&a, blocks);
    uint8_t *taken = calloc(blocks, 1);
    assert_non_null(taken);
    for (uint64_t b = 0; b < blocks; b += 7) {
        assert_true(alloc_claim(&a, BASE + b, 1));
        taken[b] = 1;
    }
    uint64_t claimed = (blocks + 6) / 7;

    assert_int_equal(allocate_everything(&a, 32, taken), blocks - claimed);

    free(taken);
    alloc_destroy(&a);
}

/* 64 chunks make four arenas; runs that straddle arena borders must be split by arena correctly. */
static void test_claim_and_free_across_arena_borders(void **state)
{
    (void)state;
    const uint64_t blocks = 64 * UDAX_BLOCKS_PER_HUGE;
    struct allocator a;
    init_or_fail(&a, blocks);
    assert_int_equal(a.arena_count, 4);
    const uint64_t border = a.arenas[1].first;

    assert_true(alloc_claim(&a, BASE + border - 2, 4));
    assert_int_equal(alloc_free_blocks(&a), blocks - 4);

    uint8_t *taken = calloc(blocks, 1);
    assert_non_null(taken);
    for (uint64_t b = border - 2; b < border + 2; b++)
        taken[b] = 1;
    assert_int_equal(allocate_everything(&a, 200, taken), blocks - 4);

    const uint64_t second_border = a.arenas[2].first;
    alloc_free(&a, BASE + second_border - 3, 6);
    alloc_free(&a, BASE + border - 2, 4);
    assert_int_equal(alloc_free_blocks(&a), 10);
    const uint64_t free_per_arena[] = {2, 5, 3, 0};
    for (unsigned i = 0; i < a.arena_count; i++)
        assert_int_equal(a.arenas[i].free_blocks, free_per_arena[i]);
    for (uint64_t b = second_border - 3; b < second_border + 3; b++)
        taken[b] = 0;
    for (uint64_t b = border - 2; b < border + 2; b++)
        taken[b] = 0;
    assert_int_equal(allocate_everything(&a, 3, taken), 10);
    free(taken);
    alloc_destroy(&a);
}

static bool run_on_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0 && sched_getcpu() == cpu;
}

static unsigned arena_holding(const struct allocator *a, uint64_t block)
{
    for (unsigned i = 0; i < a->arena_count; i++)
        if (block - a->base_block >= a->arenas[i].first && block - a->base_block < a->arenas[i].end)
            return i;
    fail_msg("block %llu is in no arena", (unsigned long long)block);
    return 0;
}

/*
 * The thread's affinity, to be put back before the test asserts anything, so
 * that a failure does not leave it pinned; skips the test without CPUs 0 and 1.
 */
static cpu_set_t affinity_with_cpus_0_and_1(void)
{
    cpu_set_t before;
    assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof(before), &before), 0);
    if (!CPU_ISSET(0, &before) || !CPU_ISSET(1, &before))
        skip();
    return before;
}

/*
 * Two CPUs whose own arenas are full go on to different arenas: when both
 * went to the first arena with room, they queued on its lock for every block.
 */
static void test_cpus_whose_arenas_are_full_go_on_to_different_arenas(void **state)
{
    (void)state;
    cpu_set_t before = affinity_with_cpus_0_and_1();
    struct allocator a;
    init_or_fail(&a, 64 * UDAX_BLOCKS_PER_HUGE);
    assert_int_equal(a.arena_count, 4);
    assert_true(alloc_claim(&a, a.base_block, a.arenas[2].first));
    uint64_t first = 0, second = 0, count = 0;

    bool allocated = run_on_cpu(0) && alloc_extent(&a, 1, false, &first, &count) == 0 && run_on_cpu(1) &&
                     alloc_extent(&a, 1, false, &second, &count) == 0;

    assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof(before), &before), 0);
    assert_true(allocated);
    assert_int_equal(arena_holding(&a, first), 2);
    assert_int_equal(arena_holding(&a, second), 3);
    alloc_destroy(&a);
}

/*
 * A 2 MiB request takes a free chunk that was handed out before, from another
 * CPU's arena, over a never-used one in its own: on a tmpfs pool a never-used
 * chunk costs a page allocation per 4 KiB written.
 */
static void test_huge_prefers_a_chunk_used_before_in_another_arena(void **state)
{
    (void)state;
    cpu_set_t before = affinity_with_cpus_0_and_1();
    struct allocator a;
    init_or_fail(&a, 64 * UDAX_BLOCKS_PER_HUGE);
    uint64_t used_before = 0, again = 0, count = 0;

    bool allocated = run_on_cpu(0) && alloc_extent(&a, UDAX_BLOCKS_PER_HUGE, true, &used_before, &count) == 0;
    if (allocated)
        alloc_free(&a, used_before, count);
    allocated = allocated && run_on_cpu(1) && alloc_extent(&a, UDAX_BLOCKS_PER_HUGE, true, &again, &count) == 0;

    assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof(before), &before), 0);
    assert_true(allocated);
    assert_int_equal(arena_holding(&a, used_before), 0);
    assert_int_equal(count, UDAX_BLOCKS_PER_HUGE);
    assert_int_equal(again, used_before);
    alloc_destroy(&a);
}

/* The count that data allocations check against their reserve: whatever arena the caller starts from. */
static void test_free_above_counts_every_arena(void **state)
{
    (void)state;
    struct allocator a;
    init_or_fail(&a, 64 * UDAX_BLOCKS_PER_HUGE);
    assert_int_equal(a.arena_count, 4);
    assert_true(alloc_claim(&a, a.base_block, a.arenas[3].first + 10));
    uint64_t left = a.arenas[3].end - a.arenas[3].first - 10;

    assert_true(alloc_free_above(&a, left - 1));
    assert_false(alloc_free_above(&a, left));
    alloc_free(&a, a.base_block + a.arenas[1].first, 1);
    assert_true(alloc_free_above(&a, left));
    alloc_destroy(&a);
}

/* Threads race on a shared allocator; ownership of each block is tracked with atomics. */
#define THREADS 8
#define THREAD_OPS 20000
/* Eight threads holding this much use half of the 64 chunks, so the churn seldom runs out of space. */
#define THREAD_MAX_BLOCKS 2048

struct shared {
    struct allocator a;
    uint8_t *owner; /* per relative block: 0 free, else thread id + 1 */
    unsigned first_uses[64]; /* per chunk: how often the allocator reported its first use */
    pthread_barrier_t start;
    unsigned errors;
};

struct worker {
    struct shared *shared;
    uint8_t id;
    uint64_t seed;
    struct run *held; /* room for one run per block of the allocator */
    size_t held_count;
    uint64_t held_blocks;
};

static void note_error(struct shared *s)
{
    __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
}

static bool take_run(struct worker *w, uint64_t want, bool huge)
{
    struct shared *s = w->shared;
    uint64_t block = 0, count = 0;
    int rc = alloc_extent(&s->a, want, huge, &block, &count);
    if (rc) {
        if (rc != ENOSPC)
            note_error(s);
        return false;
    }
    if (count < 1 || count > want || block < s->a.base_block || block + count > s->a.base_block + s->a.block_count) {
        note_error(s);
        return false;
    }
    for (uint64_t b = block; b < block + count; b++)
        if (__atomic_exchange_n(&s->owner[b - s->a.base_block], w->id + 1, __ATOMIC_RELAXED))
            note_error(s);
    w->held[w->held_count++] = (struct run){block, count};
    w->held_blocks += count;
    return true;
}

static void give_back(struct worker *w, size_t i)
{
    struct shared *s = w->shared;
    struct run r = w->held[i];
    for (uint64_t b = r.block; b < r.block + r.count; b++)
        if (__atomic_exchange_n(&s->owner[b - s->a.base_block], 0, __ATOMIC_RELAXED) != w->id + 1)
            note_error(s);
    alloc_free(&s->a, r.block, r.count);
    w->held[i] = w->held[--w->held_count];
    w->held_blocks -= r.count;
}

static void *churn(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(&w->shared->start);
    for (int op = 0; op < THREAD_OPS; op++) {
        uint64_t r = test_random_next(&w->seed);
        bool room = w->held_blocks + UDAX_BLOCKS_PER_HUGE <= THREAD_MAX_BLOCKS;
        if (room && (r % 3 || !w->held_count))
            take_run(w, r % 16 == 0 ? UDAX_BLOCKS_PER_HUGE : 1 + (r >> 8) % 64, r % 16 == 0);
        else if (w->held_count)
            give_back(w, (r >> 16) % w->held_count);
    }
    return NULL;
}

static void *fill(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(&w->shared->start);
    while (take_run(w, 1 + test_random_next(&w->seed) % 64, false))
        ;
    return NULL;
}

static void run_workers(struct shared *s, struct worker *workers, void *(*body)(void *))
{
    pthread_t threads[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, body, &workers[i]), 0);
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(s->errors, 0);
}

static void assert_bitmap_matches_owners(struct shared *s, struct worker *workers)
{
    uint64_t held = 0;
    for (unsigned i = 0; i < THREADS; i++)
        held += workers[i].held_blocks;
    uint64_t owned = 0;
    for (uint64_t b = 0; b < s->a.block_count; b++) {
        assert_int_equal(alloc_is_used(&s->a, s->a.base_block + b), s->owner[b] != 0);
        owned += s->owner[b] != 0;
    }
    assert_int_equal(owned, held);
    assert_int_equal(alloc_free_blocks(&s->a), s->a.block_count - held);
}

static void count_first_use(void *arg, uint64_t block, uint64_t count)
{
    struct shared *s = arg;
    assert_int_equal(count, UDAX_BLOCKS_PER_HUGE);
    __atomic_fetch_add(&s->first_uses[(block - BASE) / UDAX_BLOCKS_PER_HUGE], 1, __ATOMIC_RELAXED);
}

static void test_concurrent_threads_get_disjoint_blocks(void **state)
{
    (void)state;
    struct shared *s = calloc(1, sizeof(*s));
    struct worker *workers = calloc(THREADS, sizeof(*workers));
    assert_non_null(s);
    assert_non_null(workers);
    const uint64_t blocks = 64 * UDAX_BLOCKS_PER_HUGE;
    assert_int_equal(alloc_init(&s->a, BASE, BASE + blocks), 0);
    alloc_on_first_use(&s->a, count_first_use, s);
    s->owner = calloc(blocks, 1);
    assert_non_null(s->owner);
    assert_int_equal(pthread_barrier_init(&s->start, NULL, THREADS), 0);
    for (unsigned i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){.shared = s, .id = (uint8_t)i, .seed = 1000 + i};
        workers[i].held = calloc(blocks, sizeof(*workers[i].held));
        assert_non_null(workers[i].held);
    }

    run_workers(s, workers, churn);
    assert_bitmap_matches_owners(s, workers);

    run_workers(s, workers, fill);
    assert_bitmap_matches_owners(s, workers);
    assert_int_equal(alloc_free_blocks(&s->a), 0);
    /* Every chunk has been allocated from, by threads racing for it, and its first use was told once. */
    for (unsigned c = 0; c < blocks / UDAX_BLOCKS_PER_HUGE; c++)
        assert_int_equal(s->first_uses[c], 1);

    for (unsigned i = 0; i < THREADS; i++) {
        while (workers[i].held_count)
            give_back(&workers[i], workers[i].held_count - 1);
        free(workers[i].held);
    }
    assert_int_equal(s->errors, 0);
    assert_int_equal(alloc_free_blocks(&s->a), blocks);

    pthread_barrier_destroy(&s->start);
    alloc_destroy(&s->a);
    free(s->owner);
    free(workers);
    free(s);
}

struct first_use_record {
    struct run runs[8];
    unsigned count;
};

static void record_first_use(void *arg, uint64_t block, uint64_t count)
{
    struct first_use_record *r = arg;
    assert_true(r->count < 8);
    r->runs[r->count++] = (struct run){block, count};
}

/* Told once per chunk, before its memory is written, with the whole chunk; the last one ends at the pool's end. */
static void test_first_use_of_each_chunk_is_told_once(void **state)
{
    (void)state;
    struct allocator a;
    const uint64_t blocks = 3 * UDAX_BLOCKS_PER_HUGE + 100;
    init_or_fail(&a, blocks);
    struct first_use_record record = {0};
    alloc_on_first_use(&a, record_first_use, &record);
    uint64_t block, count;
    assert_int_equal(alloc_extent(&a, 1, false, &block, &count), 0);
    assert_int_equal(record.count, 1);
    assert_int_equal(record.runs[0].block, BASE);
    assert_int_equal(record.runs[0].count, UDAX_BLOCKS_PER_HUGE);
    alloc_free(&a, block, count);

    uint8_t *taken = calloc(blocks, 1);
    assert_non_null(taken);
    allocate_everything(&a, 300, taken);
    assert_int_equal(record.count, 4);
    for (unsigned c = 0; c < 4; c++) {
        unsigned found = 0;
        for (unsigned i = 0; i < record.count; i++) {
            if (record.runs[i].block == BASE + c * UDAX_BLOCKS_PER_HUGE) {
                assert_int_equal(record.runs[i].count, c < 3 ? UDAX_BLOCKS_PER_HUGE : 100);
                found++;
            }
        }
        assert_int_equal(found, 1);
    }
    free(taken);
    alloc_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_starts_with_every_block_free),
        cmocka_unit_test(test_extents_are_in_range_and_disjoint),
        cmocka_unit_test(test_a_partial_last_chunk_is_allocated_to_its_end_only),
        cmocka_unit_test(test_free_returns_blocks),
        cmocka_unit_test(test_huge_on_an_empty_allocator_takes_an_aligned_chunk),
        cmocka_unit_test(test_huge_skips_a_partly_used_chunk),
        cmocka_unit_test(test_huge_without_a_whole_chunk_still_allocates),
        cmocka_unit_test(test_huge_prefers_a_whole_chunk_in_another_arena),
        cmocka_unit_test(test_enospc_when_full_and_allocation_resumes_after_free),
        cmocka_unit_test(test_metadata_blocks_leave_data_runs_contiguous),
        cmocka_unit_test(test_metadata_blocks_wrap_to_the_top_and_take_the_last_free_one),
        cmocka_unit_test(test_claim_refuses_double_claims_and_out_of_range),
        cmocka_unit_test(test_allocation_never_returns_claimed_blocks),
        cmocka_unit_test(test_claim_and_free_across_arena_borders),
        cmocka_unit_test(test_cpus_whose_arenas_are_full_go_on_to_different_arenas),
        cmocka_unit_test(test_free_above_counts_every_arena),
        cmocka_unit_test(test_concurrent_threads_get_disjoint_blocks),
        cmocka_unit_test(test_first_use_of_each_chunk_is_told_once),
        cmocka_unit_test(test_huge_prefers_a_chunk_used_before_in_another_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
