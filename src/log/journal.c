/* journal.c: claiming journal slots, the undo-record commit protocol, and rollback at open. */
#include "journal.h"
#include "util/checksum.h"
#include "util/hooks.h"
#include "util/inject_bug.h"

#include <stddef.h>
#include <string.h>

#define SLOT_HEADER_SIZE offsetof(struct udax_journal_slot, records)

static size_t slot_bytes(uint32_t count)
{
    return SLOT_HEADER_SIZE + count * sizeof(struct udax_journal_record);
}

/* XXH3 of a slot image whose checksum field is zero, up to count records. */
static uint64_t image_checksum(const struct udax_journal_slot *image, uint32_t count)
{
    return checksum64_xxh3(image, slot_bytes(count));
}

/* XXH3 of the slot up to count records, with its checksum field zero; count must be in range. */
static uint64_t slot_checksum(const struct udax_journal_slot *slot, uint32_t count)
{
    struct udax_journal_slot copy;
    memcpy(&copy, slot, slot_bytes(count));
    copy.checksum = 0;
    return image_checksum(&copy, count);
}

void journal_init(struct journal *journal, struct pool *pool)
{
    journal->pool = pool;
    mutex_init(&journal->lock, LOCK_LEAF);
    pthread_cond_init(&journal->slot_freed, NULL);
    unsigned slots = pool->sb.journal_slots < 64 ? pool->sb.journal_slots : 64;
    journal->free_slots = slots == 64 ? ~0ULL : (1ULL << slots) - 1;
    journal->waiters = 0;
    journal->next_sequence = 1;
    for (unsigned i = 0; i < pool->sb.journal_slots; i++) {
        uint64_t sequence = pool->journal[i].state & ~UDAX_JOURNAL_LIVE;
        if (sequence >= journal->next_sequence)
            journal->next_sequence = sequence + 1;
    }
}

void journal_destroy(struct journal *journal)
{
    pthread_cond_destroy(&journal->slot_freed);
    mutex_destroy(&journal->lock);
}

/*
 * Sleeps until a release frees a slot; the free set it then saw. The waiter
 * counts itself before it looks, and a release sets its bit before it looks
 * for waiters, both in one total order: either the waiter sees the bit, or
 * the release sees the waiter and signals under the lock the waiter holds
 * until it sleeps.
 */
static uint64_t wait_for_slot(struct journal *journal)
{
    mutex_lock(&journal->lock, 0);
    __atomic_fetch_add(&journal->waiters, 1, __ATOMIC_SEQ_CST);
    hook_point("journal_slot_wait", journal, 0);
    uint64_t free;
    while (!(free = __atomic_load_n(&journal->free_slots, __ATOMIC_SEQ_CST)))
        pthread_cond_wait(&journal->slot_freed, &journal->lock.m);
    __atomic_fetch_sub(&journal->waiters, 1, __ATOMIC_RELAXED);
    mutex_unlock(&journal->lock);
    return free;
}

/* The lowest free slot, taken with one compare-and-swap unless all are busy. */
static unsigned claim_slot(struct journal *journal, uint64_t *sequence)
{
    uint64_t free = __atomic_load_n(&journal->free_slots, __ATOMIC_RELAXED);
    for (;;) {
        if (!free) {
            free = wait_for_slot(journal);
            continue;
        }
        uint64_t lowest = free & -free;
        if (__atomic_compare_exchange_n(&journal->free_slots, &free, free & ~lowest, true, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            *sequence = __atomic_fetch_add(&journal->next_sequence, 1, __ATOMIC_RELAXED);
            return (unsigned)__builtin_ctzll(lowest);
        }
    }
}

static void release_slot(struct journal *journal, unsigned slot)
{
    __atomic_fetch_or(&journal->free_slots, 1ULL << slot, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&journal->waiters, __ATOMIC_SEQ_CST)) {
        mutex_lock(&journal->lock, 0);
        pthread_cond_signal(&journal->slot_freed);
        mutex_unlock(&journal->lock);
    }
}

void journal_commit(struct journal *journal, const struct journal_word *words, unsigned count)
{
    struct pool *pool = journal->pool;
    const struct persist *pm = &pool->pm;
    uint64_t sequence;
    unsigned index = claim_slot(journal, &sequence);
    hook_point("journal_slot_claimed", journal, index);
    struct udax_journal_slot *slot = &pool->journal[index];

    /*
     * Built in DRAM, of which only the first bytes are written and copied, and
     * sealed there: reading back what non-temporal stores have just written
     * waits for memory.
     */
    struct udax_journal_slot image;
    image.state = sequence | UDAX_JOURNAL_LIVE;
    image.count = count;
    image.reserved = 0;
    image.checksum = 0;
    for (unsigned i = 0; i < count; i++)
        image.records[i] = (struct udax_journal_record){pool_offset(pool, words[i].word), *words[i].word};
    image.checksum = image_checksum(&image, count);
    persist_copy(pm, slot, &image, slot_bytes(count));
    persist_fence(pm);

    for (unsigned i = 0; i < count; i++) {
        __atomic_store_n(words[i].word, words[i].value, __ATOMIC_RELEASE);
        if (!BUG_INJECTED(BUG_CRASH_FLUSH))
            persist_flush(pm, words[i].word, sizeof(uint64_t));
    }
    persist_fence(pm);
    persist_store_word(pm, &slot->state, sequence);
    release_slot(journal, index);
}

static struct udax_journal_slot *slot_at(struct pool *pool, unsigned i)
{
    return &pool->journal[i];
}

/* 1 for a live record, 0 for none, -1 for one that a crash tore (never applied) or that names impossible words. */
static int slot_is_live(struct pool *pool, const struct udax_journal_slot *slot)
{
    if (!(slot->state & UDAX_JOURNAL_LIVE))
        return 0;
    if (slot->count > UDAX_JOURNAL_MAX_RECORDS || slot->checksum != slot_checksum(slot, slot->count))
        return -1;
    for (uint32_t r = 0; r < slot->count; r++) {
        uint64_t offset = slot->records[r].offset;
        if (offset & 7 || offset >= pool->sb.pool_size)
            return -1;
    }
    return 1;
}

unsigned journal_recover(struct pool *pool)
{
    unsigned rolled_back = 0;
    for (unsigned i = 0; i < pool->sb.journal_slots; i++) {
        struct udax_journal_slot *slot = slot_at(pool, i);
        int live = slot_is_live(pool, slot);
        if (live > 0) {
            for (uint32_t r = slot->count; r-- > 0;) {
                uint64_t *word = pool_addr(pool, slot->records[r].offset);
                *word = slot->records[r].old_value;
                persist_flush(&pool->pm, word, sizeof(*word));
            }
            persist_fence(&pool->pm);
            rolled_back++;
        }
        if (live)
            persist_store_word(&pool->pm, &slot->state, slot->state & ~UDAX_JOURNAL_LIVE);
    }
    return rolled_back;
}

void journal_inspect(struct pool *pool, unsigned *live, unsigned *torn)
{
    *live = *torn = 0;
    for (unsigned i = 0; i < pool->sb.journal_slots; i++) {
        int state = slot_is_live(pool, slot_at(pool, i));
        *live += state > 0;
        *torn += state < 0;
    }
}
