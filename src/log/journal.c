/* journal.c: claiming journal slots, the undo-record commit protocol, and rollback at open. */
#include "journal.h"
#include "util/inject_bug.h"

#include <stddef.h>

#include <xxhash.h>

/* The count seeds the hash, so a torn count cannot match. */
static uint32_t records_checksum(const struct udax_journal_record *records, uint32_t count)
{
    return XXH32(records, count * sizeof(records[0]), count);
}

static uint32_t slot_checksum(const struct udax_journal_slot *slot)
{
    return slot->count > UDAX_JOURNAL_MAX_RECORDS ? 0 : records_checksum(slot->records, slot->count);
}

void journal_init(struct journal *journal, struct pool *pool)
{
    journal->pool = pool;
    mutex_init(&journal->lock, LOCK_LEAF);
    pthread_cond_init(&journal->slot_freed, NULL);
    unsigned slots = pool->sb.journal_slots < 64 ? pool->sb.journal_slots : 64;
    journal->free_slots = slots == 64 ? ~0ULL : (1ULL << slots) - 1;
}

void journal_destroy(struct journal *journal)
{
    pthread_cond_destroy(&journal->slot_freed);
    mutex_destroy(&journal->lock);
}

static unsigned claim_slot(struct journal *journal)
{
    mutex_lock(&journal->lock, 0);
    while (!journal->free_slots)
        pthread_cond_wait(&journal->slot_freed, &journal->lock.m);
    unsigned slot = (unsigned)__builtin_ctzll(journal->free_slots);
    journal->free_slots &= ~(1ULL << slot);
    mutex_unlock(&journal->lock);
    return slot;
}

static void release_slot(struct journal *journal, unsigned slot)
{
    mutex_lock(&journal->lock, 0);
    journal->free_slots |= 1ULL << slot;
    pthread_cond_signal(&journal->slot_freed);
    mutex_unlock(&journal->lock);
}

void journal_commit(struct journal *journal, const struct journal_word *words, unsigned count)
{
    struct pool *pool = journal->pool;
    const struct persist *pm = &pool->pm;
    unsigned index = claim_slot(journal);
    struct udax_journal_slot *slot = &pool->journal[index];

    struct udax_journal_record records[JOURNAL_MAX_WORDS];
    for (unsigned i = 0; i < count; i++)
        records[i] = (struct udax_journal_record){pool_offset(pool, words[i].word), *words[i].word};
    uint32_t header[2] = {count, 0};
    persist_copy(pm, slot->records, records, count * sizeof(records[0]));
    persist_copy(pm, &slot->count, header, sizeof(header[0]));
    /* From the records in DRAM: reading back what non-temporal stores have just written waits for memory. */
    uint32_t checksum = records_checksum(records, count);
    persist_copy(pm, &slot->checksum, &checksum, sizeof(checksum));
    persist_fence(pm);
    persist_store_word(pm, &slot->state, UDAX_JOURNAL_ACTIVE);

    for (unsigned i = 0; i < count; i++) {
        __atomic_store_n(words[i].word, words[i].value, __ATOMIC_RELEASE);
        if (!BUG_INJECTED(BUG_CRASH_FLUSH))
            persist_flush(pm, words[i].word, sizeof(uint64_t));
    }
    persist_fence(pm);
    persist_store_word(pm, &slot->state, 0);
    release_slot(journal, index);
}

static struct udax_journal_slot *slot_at(struct pool *pool, unsigned i)
{
    return &pool->journal[i];
}

static int slot_is_live(struct pool *pool, const struct udax_journal_slot *slot)
{
    if (slot->state != UDAX_JOURNAL_ACTIVE)
        return 0;
    if (slot->count > UDAX_JOURNAL_MAX_RECORDS || slot->checksum != slot_checksum(slot))
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
            persist_store_word(&pool->pm, &slot->state, 0);
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
