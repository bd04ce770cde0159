/* log.c: appending to, committing and walking per-inode logs of 64-byte slots in chained 4 KiB pages. */
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "util/checksum.h"
#include "util/inject_bug.h"

#define PAGE_MASK (UDAX_BLOCK_SIZE - 1)

unsigned log_entry_slots(unsigned len)
{
    return (len + UDAX_SLOT_SIZE - 1) / UDAX_SLOT_SIZE;
}

static uint64_t page_of(uint64_t pos)
{
    return (pos - 1) & ~PAGE_MASK;
}

/* The checksum of an entry whose header is header and whose slots after it are body. */
static uint32_t entry_checksum(const struct udax_entry_header *header, const void *body)
{
    uint32_t head;
    static_assert(offsetof(struct udax_entry_header, checksum) == sizeof(head), "the checksum follows one word");
    memcpy(&head, header, sizeof(head));
    return checksum32_seeded(body, header->slots * UDAX_SLOT_SIZE - sizeof(*header), head);
}

uint32_t log_entry_checksum(const struct udax_entry_header *entry)
{
    return entry_checksum(entry, entry + 1);
}

/* Field by field: a compound literal would also zero last_copy, which nothing reads before an append fills it. */
static void txn_init(struct log_txn *txn, struct log *log, uint64_t head, uint64_t pos, bool fresh)
{
    txn->log = log;
    txn->head = head;
    txn->pos = pos;
    txn->pages_added = 0;
    txn->entries_added = 0;
    txn->first_new_page = 0;
    txn->last_entry = 0;
    txn->last_copied = false;
    txn->fresh = fresh;
}

void log_txn_begin(struct log_txn *txn, struct log *log)
{
    txn_init(txn, log, log->head, log->tail, false);
}

void log_txn_begin_fresh(struct log_txn *txn, struct log *log)
{
    txn_init(txn, log, 0, 0, true);
}

/* The header and first entry slots of a new log page: a new inode's page header and its attributes. */
#define NEW_PAGE_LINES_WRITTEN 3

static int new_page(const struct log_env *env, struct log_txn *txn, uint64_t *page)
{
    uint64_t block;
    int rc = alloc_metadata_block(env->alloc, &block);
    if (rc)
        return rc;
    /*
     * The next create will most likely write the next page, on no line the
     * cache holds: asked for now, the lines are there by then, instead of
     * making its commit's first locked instruction wait for memory (a
     * fifth of a create's time, docs/bench.md).
     */
    uint64_t next = alloc_metadata_likely_next(block);
    if (next < env->pool->sb.block_count)
        for (unsigned line = 0; line < NEW_PAGE_LINES_WRITTEN; line++)
            __builtin_prefetch((char *)pool_block(env->pool, next) + line * UDAX_SLOT_SIZE, 1);
    /* Counted first: the locked add would wait for the header's store, a miss on a page nobody touched lately. */
    __atomic_fetch_add(env->pages_in_use, 1, __ATOMIC_RELAXED);
    *page = block << UDAX_BLOCK_SHIFT;
    struct udax_log_page_header header = {.magic = UDAX_LOG_PAGE_MAGIC, .ino = txn->log->ino};
    persist_copy(&env->pool->pm, pool_addr(env->pool, *page), &header, sizeof(header));
    if (!txn->pages_added)
        txn->first_new_page = *page;
    txn->pages_added++;
    return 0;
}

static void write_slots(const struct log_env *env, uint64_t pos, const void *entry, unsigned len)
{
    persist_copy(&env->pool->pm, pool_addr(env->pool, pos), entry, len);
}

/*
 * The txn's previous entry is no longer its last: not yet committed, so its
 * header may be sealed again. From the txn's copy when it has one: reading
 * back what non-temporal stores have just written waits for memory.
 */
static void unmark_last(const struct log_env *env, struct log_txn *txn)
{
    void *pooled = pool_addr(env->pool, txn->last_entry);
    struct udax_entry_header *entry = txn->last_copied ? (struct udax_entry_header *)txn->last_copy : pooled;
    struct udax_entry_header header = *entry;
    header.flags &= (uint8_t)~UDAX_ENTRY_LAST;
    header.checksum = entry_checksum(&header, entry + 1);
    persist_copy(&env->pool->pm, pooled, &header, sizeof(header));
}

int log_append(const struct log_env *env, struct log_txn *txn, void *entry, uint8_t type, uint8_t name_len,
               unsigned len)
{
    unsigned slots = log_entry_slots(len);
    assert(slots && slots <= UDAX_ENTRY_MAX_SLOTS);
    if (!txn->pos) {
        uint64_t page;
        int rc = new_page(env, txn, &page);
        if (rc)
            return rc;
        txn->head = page;
        txn->pos = page + UDAX_SLOT_SIZE;
    } else {
        uint64_t used = txn->pos & PAGE_MASK ? txn->pos & PAGE_MASK : UDAX_BLOCK_SIZE;
        uint64_t room = UDAX_BLOCK_SIZE - used;
        if (room < (uint64_t)slots * UDAX_SLOT_SIZE) {
            uint64_t current = page_of(txn->pos);
            uint64_t page;
            int rc = new_page(env, txn, &page);
            if (rc)
                return rc;
            if (room) {
                union {
                    struct udax_entry_header h;
                    unsigned char slot[UDAX_SLOT_SIZE];
                } pad = {.h = {.type = UDAX_ENTRY_PAD, .slots = 1}};
                pad.h.checksum = log_entry_checksum(&pad.h);
                write_slots(env, txn->pos, &pad, sizeof(pad));
            }
            struct udax_log_page_header *previous = pool_addr(env->pool, current);
            persist_copy(&env->pool->pm, &previous->next, &page, sizeof(page));
            txn->pos = page + UDAX_SLOT_SIZE;
        }
    }
    /* Before the new entry is sealed in last_copy, where the previous one may still be. */
    if (txn->entries_added)
        unmark_last(env, txn);
    unsigned char long_entry[UDAX_ENTRY_MAX_SLOTS * UDAX_SLOT_SIZE];
    txn->last_copied = slots <= LOG_TXN_COPY_SLOTS;
    unsigned char *sealed = txn->last_copied ? txn->last_copy : long_entry;
    memcpy(sealed, entry, len);
    memset(sealed + len, 0, slots * UDAX_SLOT_SIZE - len);
    struct udax_entry_header *header = (struct udax_entry_header *)sealed;
    *header = (struct udax_entry_header){
        .type = type, .slots = (uint8_t)slots, .name_len = name_len, .flags = UDAX_ENTRY_LAST};
    header->checksum = log_entry_checksum(header);
    write_slots(env, txn->pos, sealed, slots * UDAX_SLOT_SIZE);
    txn->last_entry = txn->pos;
    txn->pos += slots * UDAX_SLOT_SIZE;
    txn->entries_added++;
    return 0;
}

static void free_pages(const struct log_env *env, uint64_t page, uint64_t count)
{
    while (count--) {
        const struct udax_log_page_header *header = pool_addr(env->pool, page);
        uint64_t next = header->next;
        alloc_free(env->alloc, page >> UDAX_BLOCK_SHIFT, 1);
        __atomic_fetch_sub(env->pages_in_use, 1, __ATOMIC_RELAXED);
        page = next;
    }
}

void log_free_chain(const struct log_env *env, uint64_t head, uint64_t tail)
{
    uint64_t last = page_of(tail);
    /* The last page's header is not read: most logs have one page, rarely still in the cache when they are freed. */
    for (uint64_t page = head; page;) {
        uint64_t next = page == last ? 0 : ((const struct udax_log_page_header *)pool_addr(env->pool, page))->next;
        alloc_free(env->alloc, page >> UDAX_BLOCK_SHIFT, 1);
        __atomic_fetch_sub(env->pages_in_use, 1, __ATOMIC_RELAXED);
        page = next;
    }
}

void log_txn_applied(const struct log_env *env, struct log_txn *txn)
{
    struct log *log = txn->log;
    if (txn->fresh) {
        if (log->head)
            log_free_chain(env, log->head, log->tail);
        log->pages = 0;
        log->entries = 0;
    }
    log->head = txn->head;
    log->tail = txn->pos;
    log->pages += txn->pages_added;
    log->entries += txn->entries_added;
}

void log_commit(const struct log_env *env, struct log_txn *txn)
{
    if (!BUG_INJECTED(BUG_CRASH_FENCE))
        persist_fence(&env->pool->pm);
    persist_store_word(&env->pool->pm, log_tail_word(env->pool, txn->log->ino), txn->pos);
    log_txn_applied(env, txn);
}

void log_abort(const struct log_env *env, struct log_txn *txn)
{
    if (txn->pages_added)
        free_pages(env, txn->first_new_page, txn->pages_added);
    txn->pages_added = 0;
}

static bool page_valid(struct pool *pool, uint64_t ino, uint64_t page)
{
    if (page & PAGE_MASK || !pool_is_data_block(pool, page >> UDAX_BLOCK_SHIFT))
        return false;
    const struct udax_log_page_header *header = pool_addr(pool, page);
    return header->magic == UDAX_LOG_PAGE_MAGIC && header->ino == ino;
}

/* Without a tail (0), the walk ends after the first entry marked UDAX_ENTRY_LAST. */
static bool walk(struct pool *pool, uint64_t ino, uint64_t head, uint64_t tail, const struct log_walker *walker)
{
    if (!page_valid(pool, ino, head)) {
        walker->problem(walker->arg, "log head is not a log page of this inode", head);
        return false;
    }
    if (!walker->visit_page(walker->arg, head))
        return false;
    uint64_t page = head;
    uint64_t pos = head + UDAX_SLOT_SIZE;
    while (pos != tail) {
        if (!(pos & PAGE_MASK)) {
            const struct udax_log_page_header *header = pool_addr(pool, page);
            uint64_t next = header->next;
            if (!page_valid(pool, ino, next)) {
                walker->problem(walker->arg, "log chain ends before its tail", page);
                return false;
            }
            if (!walker->visit_page(walker->arg, next))
                return false;
            page = next;
            pos = next + UDAX_SLOT_SIZE;
            continue;
        }
        const struct udax_entry_header *entry = pool_addr(pool, pos);
        uint64_t room = (page + UDAX_BLOCK_SIZE - pos) / UDAX_SLOT_SIZE;
        if (entry->slots == 0 || entry->slots > UDAX_ENTRY_MAX_SLOTS || entry->slots > room ||
            entry->checksum != log_entry_checksum(entry)) {
            walker->problem(walker->arg, "log entry fails its checksum", pos);
            return false;
        }
        if (entry->type == UDAX_ENTRY_PAD) {
            pos = page + UDAX_BLOCK_SIZE;
            continue;
        }
        if (tail && page == page_of(tail) && pos + entry->slots * UDAX_SLOT_SIZE > tail) {
            walker->problem(walker->arg, "log entry crosses the tail", pos);
            return false;
        }
        if (!walker->visit_entry(walker->arg, entry, pos))
            return false;
        if (!tail && entry->flags & UDAX_ENTRY_LAST)
            return true;
        pos += entry->slots * UDAX_SLOT_SIZE;
    }
    return true;
}

bool log_walk(struct pool *pool, uint64_t ino, uint64_t head, uint64_t tail, const struct log_walker *walker)
{
    if (!tail || (tail & (UDAX_SLOT_SIZE - 1))) {
        walker->problem(walker->arg, "log tail is not at a slot boundary", tail);
        return false;
    }
    return walk(pool, ino, head, tail, walker);
}

bool log_walk_first_commit(struct pool *pool, uint64_t ino, uint64_t head, const struct log_walker *walker)
{
    return walk(pool, ino, head, 0, walker);
}
