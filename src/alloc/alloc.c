/* alloc.c: the arena allocator: a used-bitmap, free counts per 2 MiB chunk, next-fit within an arena. */
#include "alloc.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "pool/format.h"

#define WORD_BITS 64
#define NO_HOME (~0U)

static bool bit_is_set(const uint64_t *map, uint64_t bit)
{
    return (map[bit / WORD_BITS] >> (bit % WORD_BITS)) & 1;
}

static void set_run(struct allocator *a, uint64_t first, uint64_t count, bool used)
{
    for (uint64_t bit = first; bit < first + count; bit++) {
        uint64_t mask = 1ULL << (bit % WORD_BITS);
        if (used)
            a->used[bit / WORD_BITS] |= mask;
        else
            a->used[bit / WORD_BITS] &= ~mask;
        if (used)
            a->chunk_free[bit / UDAX_BLOCKS_PER_HUGE]--;
        else
            a->chunk_free[bit / UDAX_BLOCKS_PER_HUGE]++;
    }
}

int alloc_init(struct allocator *a, uint64_t base_block, uint64_t end_block)
{
    *a = (struct allocator){.base_block = base_block, .block_count = end_block - base_block};
    uint64_t chunks = (a->block_count + UDAX_BLOCKS_PER_HUGE - 1) / UDAX_BLOCKS_PER_HUGE;
    uint64_t words = chunks * (UDAX_BLOCKS_PER_HUGE / WORD_BITS);
    a->used = calloc(words, sizeof(uint64_t));
    a->chunk_free = calloc(chunks, sizeof(uint16_t));
    a->arena_count = (unsigned)(chunks / 16);
    if (a->arena_count < 1)
        a->arena_count = 1;
    if (a->arena_count > 16)
        a->arena_count = 16;
    a->arenas = calloc_cache_aligned(a->arena_count, sizeof(*a->arenas));
    a->homes = malloc(a->arena_count * sizeof(*a->homes));
    a->chunks_handed_out = calloc((chunks + WORD_BITS - 1) / WORD_BITS, sizeof(uint64_t));
    if (!a->used || !a->chunk_free || !a->arenas || !a->homes || !a->chunks_handed_out) {
        alloc_destroy(a);
        return ENOMEM;
    }
    for (unsigned i = 0; i < a->arena_count; i++)
        a->homes[i] = NO_HOME;
    for (uint64_t c = 0; c < chunks; c++) {
        uint64_t end = (c + 1) * UDAX_BLOCKS_PER_HUGE;
        a->chunk_free[c] = (uint16_t)((end <= a->block_count ? end : a->block_count) - c * UDAX_BLOCKS_PER_HUGE);
    }
    /* Blocks past the end of the pool in its last chunk stay marked used forever. */
    for (uint64_t bit = a->block_count; bit < chunks * UDAX_BLOCKS_PER_HUGE; bit++)
        a->used[bit / WORD_BITS] |= 1ULL << (bit % WORD_BITS);
    uint64_t per_arena = chunks / a->arena_count;
    for (unsigned i = 0; i < a->arena_count; i++) {
        struct alloc_arena *arena = &a->arenas[i];
        mutex_init(&arena->lock, LOCK_LEAF);
        arena->first = i * per_arena * UDAX_BLOCKS_PER_HUGE;
        arena->end = i + 1 == a->arena_count ? a->block_count : (i + 1) * per_arena * UDAX_BLOCKS_PER_HUGE;
        arena->free_blocks = arena->end - arena->first;
        arena->cursor = arena->first;
        arena->metadata_cursor = arena->end;
    }
    return 0;
}

void alloc_destroy(struct allocator *a)
{
    for (unsigned i = 0; a->arenas && i < a->arena_count; i++)
        mutex_destroy(&a->arenas[i].lock);
    free(a->arenas);
    free(a->homes);
    free(a->used);
    free(a->chunk_free);
    free(a->chunks_handed_out);
    a->arenas = NULL;
    a->homes = NULL;
    a->used = NULL;
    a->chunk_free = NULL;
    a->chunks_handed_out = NULL;
}

void alloc_on_first_use(struct allocator *a, void (*first_use)(void *arg, uint64_t block, uint64_t count), void *arg)
{
    a->first_use = first_use;
    a->first_use_arg = arg;
}

/*
 * Marks each chunk of [rel, rel+count) handed out, and tells first_use of
 * those no allocation had touched before; two callers never both tell.
 */
static void note_first_use(struct allocator *a, uint64_t rel, uint64_t count)
{
    for (uint64_t c = rel / UDAX_BLOCKS_PER_HUGE; c <= (rel + count - 1) / UDAX_BLOCKS_PER_HUGE; c++) {
        uint64_t *word = &a->chunks_handed_out[c / WORD_BITS], mask = 1ULL << (c % WORD_BITS);
        if (__atomic_load_n(word, __ATOMIC_RELAXED) & mask || __atomic_fetch_or(word, mask, __ATOMIC_RELAXED) & mask)
            continue;
        if (!a->first_use)
            continue;
        uint64_t first = c * UDAX_BLOCKS_PER_HUGE, end = first + UDAX_BLOCKS_PER_HUGE;
        a->first_use(a->first_use_arg, a->base_block + first, (end < a->block_count ? end : a->block_count) - first);
    }
}

static struct alloc_arena *arena_of(struct allocator *a, uint64_t rel)
{
    uint64_t per_arena = a->arenas[0].end - a->arenas[0].first;
    uint64_t i = rel / per_arena;
    return &a->arenas[i < a->arena_count ? i : a->arena_count - 1];
}

bool alloc_claim(struct allocator *a, uint64_t block, uint64_t count)
{
    if (block < a->base_block || count > a->block_count || block - a->base_block > a->block_count - count)
        return false;
    uint64_t rel = block - a->base_block;
    for (uint64_t bit = rel; bit < rel + count; bit++)
        if (bit_is_set(a->used, bit))
            return false;
    set_run(a, rel, count, true);
    for (uint64_t bit = rel; bit < rel + count; bit++)
        arena_of(a, bit)->free_blocks--;
    return true;
}

bool alloc_is_used(const struct allocator *a, uint64_t block)
{
    return block >= a->base_block && block - a->base_block < a->block_count &&
           bit_is_set(a->used, block - a->base_block);
}

/* The first bit of [from, end) in map that is set, or clear without set; end when none. */
static uint64_t first_bit(const uint64_t *map, uint64_t from, uint64_t end, bool set)
{
    for (uint64_t bit = from; bit < end;) {
        /* Atomic: chunks_handed_out changes outside any arena lock. */
        uint64_t word = __atomic_load_n(&map[bit / WORD_BITS], __ATOMIC_RELAXED);
        word = (set ? word : ~word) >> (bit % WORD_BITS);
        if (word)
            return bit + (uint64_t)__builtin_ctzll(word) < end ? bit + (uint64_t)__builtin_ctzll(word) : end;
        bit = (bit / WORD_BITS + 1) * WORD_BITS;
    }
    return end;
}

/* The first chunk of [c, end) that take_whole_chunk looks at: any, or with touched_only one handed out before. */
static uint64_t next_candidate_chunk(const struct allocator *a, uint64_t c, uint64_t end, bool touched_only)
{
    return touched_only ? first_bit(a->chunks_handed_out, c, end, true) : c;
}

/*
 * With touched_only, it walks only the chunks handed out before, found a
 * word of 64 at a time: on a fresh pool, a 2 MiB request would otherwise
 * look at every chunk of every arena before it took a never-used one.
 */
static bool take_whole_chunk(struct allocator *a, struct alloc_arena *arena, bool touched_only, uint64_t *rel)
{
    uint64_t end = (arena->end + UDAX_BLOCKS_PER_HUGE - 1) / UDAX_BLOCKS_PER_HUGE;
    for (uint64_t c = next_candidate_chunk(a, arena->first / UDAX_BLOCKS_PER_HUGE, end, touched_only); c < end;
         c = next_candidate_chunk(a, c + 1, end, touched_only)) {
        if (a->chunk_free[c] == UDAX_BLOCKS_PER_HUGE) {
            *rel = c * UDAX_BLOCKS_PER_HUGE;
            return true;
        }
    }
    return false;
}

/* The last bit of [from, end) in map that is clear; end when none. */
static uint64_t last_clear_bit(const uint64_t *map, uint64_t from, uint64_t end)
{
    for (uint64_t bit = end; bit > from;) {
        uint64_t top = bit - 1;
        uint64_t clear = ~map[top / WORD_BITS] << (WORD_BITS - 1 - top % WORD_BITS);
        if (clear) {
            uint64_t found = top - (uint64_t)__builtin_clzll(clear);
            return found >= from ? found : end;
        }
        bit = top - top % WORD_BITS;
    }
    return end;
}

/* Next-fit downward from the metadata cursor, wrapping to the arena's top once. */
static bool take_top_block(struct allocator *a, struct alloc_arena *arena, uint64_t *rel)
{
    for (int pass = 0; pass < 2; pass++) {
        uint64_t from = pass ? arena->metadata_cursor : arena->first;
        uint64_t end = pass ? arena->end : arena->metadata_cursor;
        uint64_t found = last_clear_bit(a->used, from, end);
        if (found != end) {
            *rel = found;
            return true;
        }
    }
    return false;
}

static uint64_t take_run(struct allocator *a, struct alloc_arena *arena, uint64_t want, uint64_t *rel)
{
    for (int pass = 0; pass < 2; pass++) {
        uint64_t from = pass ? arena->first : arena->cursor;
        uint64_t end = pass ? arena->cursor : arena->end;
        uint64_t start = first_bit(a->used, from, end, false);
        if (start == end)
            continue;
        uint64_t stop = start + 1;
        while (stop < arena->end && stop - start < want && !bit_is_set(a->used, stop))
            stop++;
        *rel = start;
        return stop - start;
    }
    return 0;
}

static __thread unsigned thread_slot = ~0U;
static unsigned next_slot;

/*
 * The CPU the caller runs on, so that threads on two CPUs never queue on one
 * arena, and a thread started for a short job allocates where the threads
 * before it freed: memory the process has touched. An arena per new thread,
 * dealt in turn, sent each one to memory the process had never touched, where
 * every 4 KiB block written cost a page fault (about 2 µs on a tmpfs pool).
 * sched_getcpu reads the rseq area: no system call.
 */
static unsigned cpu_slot(const struct allocator *a)
{
    int cpu = sched_getcpu();
    if (cpu >= 0)
        return (unsigned)cpu % a->arena_count;
    if (thread_slot == ~0U)
        thread_slot = __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED);
    return thread_slot % a->arena_count;
}

static bool home_of_another(const struct allocator *a, unsigned slot, unsigned arena)
{
    for (unsigned other = 0; other < a->arena_count; other++)
        if (other != slot && __atomic_load_n(&a->homes[other], __ATOMIC_RELAXED) == arena)
            return true;
    return false;
}

/* slot's home as it stands, without moving it: its own arena until it first runs dry. */
static unsigned current_home(const struct allocator *a, unsigned slot)
{
    unsigned home = __atomic_load_n(&a->homes[slot], __ATOMIC_RELAXED);
    return home == NO_HOME ? slot : home;
}

/*
 * The arena that slot allocates from first. One that has run dry gives way
 * to the next that has free blocks and is no other CPU's home: when the
 * arenas after two homes were full, both CPUs went on to the same next arena
 * and queued on its lock for every block (a copy-on-write overwrite takes one
 * block and frees one, so a whole file's worth of writes passes through it).
 */
static unsigned home_arena(struct allocator *a, unsigned slot)
{
    unsigned home = current_home(a, slot);
    if (__atomic_load_n(&a->arenas[home].free_blocks, __ATOMIC_RELAXED))
        return home;
    unsigned chosen = NO_HOME;
    for (unsigned tries = 1; tries < a->arena_count; tries++) {
        unsigned next = (home + tries) % a->arena_count;
        if (!__atomic_load_n(&a->arenas[next].free_blocks, __ATOMIC_RELAXED))
            continue;
        if (!home_of_another(a, slot, next)) {
            chosen = next;
            break;
        }
        if (chosen == NO_HOME)
            chosen = next;
    }
    if (chosen != NO_HOME)
        home = chosen;
    __atomic_store_n(&a->homes[slot], home, __ATOMIC_RELAXED);
    return home;
}

void alloc_fail_nth(struct allocator *a, uint64_t nth)
{
    __atomic_store_n(&a->fail_countdown, nth, __ATOMIC_RELAXED);
}

bool alloc_failure_pending(struct allocator *a)
{
    return __atomic_load_n(&a->fail_countdown, __ATOMIC_RELAXED) != 0;
}

static bool injected_failure(struct allocator *a)
{
    uint64_t left = __atomic_load_n(&a->fail_countdown, __ATOMIC_RELAXED);
    while (left && !__atomic_compare_exchange_n(&a->fail_countdown, &left, left - 1, false, __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED))
        ;
    return left == 1;
}

/* The ways to satisfy a request, in the order alloc_extent tries them over every arena. */
enum take {
    TOUCHED_CHUNK, /* a whole 2 MiB chunk that an allocation has handed out before */
    ANY_CHUNK,
    RUN,            /* the next free run of at most the blocks wanted */
    METADATA_BLOCK, /* one block, from the arena's top down */
};

/* From one arena, as take says; the blocks taken, 0 when none. */
static uint64_t take_from_arena(struct allocator *a, struct alloc_arena *arena, uint64_t want, enum take take,
                                uint64_t *rel)
{
    mutex_lock(&arena->lock, 0);
    uint64_t got = 0;
    if (arena->free_blocks) {
        if (take == METADATA_BLOCK)
            got = take_top_block(a, arena, rel) ? 1 : 0;
        else if (take == RUN)
            got = take_run(a, arena, want, rel);
        else
            got = take_whole_chunk(a, arena, take == TOUCHED_CHUNK, rel) ? UDAX_BLOCKS_PER_HUGE : 0;
    }
    if (got) {
        set_run(a, *rel, got, true);
        __atomic_fetch_sub(&arena->free_blocks, got, __ATOMIC_RELAXED);
        if (take == METADATA_BLOCK)
            arena->metadata_cursor = *rel;
        else
            arena->cursor = *rel + got < arena->end ? *rel + got : arena->first;
    }
    mutex_unlock(&arena->lock);
    return got;
}

/* Tries each way of [first_take, last_take] over every arena, the caller's home first. */
static int allocate(struct allocator *a, uint64_t want, enum take first_take, enum take last_take, uint64_t *block,
                    uint64_t *count)
{
    if (__builtin_expect(injected_failure(a), 0))
        return ENOSPC;
    unsigned home = home_arena(a, cpu_slot(a));
    for (enum take take = first_take; take <= last_take; take++) {
        for (unsigned tries = 0; tries < a->arena_count; tries++) {
            struct alloc_arena *arena = &a->arenas[(home + tries) % a->arena_count];
            /* An arena seen empty is passed without its lock, which others may be using. */
            uint64_t free_blocks = __atomic_load_n(&arena->free_blocks, __ATOMIC_RELAXED);
            if (!free_blocks || ((take == TOUCHED_CHUNK || take == ANY_CHUNK) && free_blocks < UDAX_BLOCKS_PER_HUGE))
                continue;
            uint64_t rel = 0, got = take_from_arena(a, arena, want, take, &rel);
            if (got) {
                note_first_use(a, rel, got);
                *block = a->base_block + rel;
                *count = got;
                return 0;
            }
        }
    }
    return ENOSPC;
}

int alloc_extent(struct allocator *a, uint64_t want, bool huge, uint64_t *block, uint64_t *count)
{
    /*
     * A 2 MiB request asks every arena for a whole chunk before it settles for
     * a shorter run: the caller's arena runs out of whole chunks long
     * before the pool does, and a run that is not a whole chunk can never be
     * mapped 2 MiB (DESIGN.md section 7). It takes a chunk written before
     * first, from any arena: a chunk never written costs the kernel a page
     * allocation per 4 KiB on a tmpfs pool, which took a file emptied and
     * appended again on another CPU from about 1 to 3 µs per 4 KiB append.
     * A chunk is taken once per 512 blocks, so the other CPU's arena lock is
     * rarely met.
     */
    return allocate(a, want, huge && want >= UDAX_BLOCKS_PER_HUGE ? TOUCHED_CHUNK : RUN, RUN, block, count);
}

int alloc_metadata_block(struct allocator *a, uint64_t *block)
{
    uint64_t count;
    return allocate(a, 1, METADATA_BLOCK, METADATA_BLOCK, block, &count);
}

void alloc_free(struct allocator *a, uint64_t block, uint64_t count)
{
    uint64_t rel = block - a->base_block;
    while (count) {
        struct alloc_arena *arena = arena_of(a, rel);
        uint64_t n = arena->end - rel < count ? arena->end - rel : count;
        mutex_lock(&arena->lock, 0);
        set_run(a, rel, n, false);
        __atomic_fetch_add(&arena->free_blocks, n, __ATOMIC_RELAXED);
        mutex_unlock(&arena->lock);
        rel += n;
        count -= n;
    }
}

bool alloc_free_above(struct allocator *a, uint64_t floor)
{
    unsigned home = current_home(a, cpu_slot(a));
    uint64_t total = 0;
    for (unsigned tries = 0; tries < a->arena_count && total <= floor; tries++)
        total += __atomic_load_n(&a->arenas[(home + tries) % a->arena_count].free_blocks, __ATOMIC_RELAXED);
    return total > floor;
}

uint64_t alloc_free_blocks(struct allocator *a)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < a->arena_count; i++)
        total += __atomic_load_n(&a->arenas[i].free_blocks, __ATOMIC_RELAXED);
    return total;
}
