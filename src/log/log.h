/* log.h: per-inode logs: log pages, appending entries, committing by the 8-byte tail, walking. */
#ifndef UDAX_LOG_H
#define UDAX_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "alloc/alloc.h"
#include "pool/pool.h"

/* The DRAM view of one inode's log. Mutated only under the inode's ILOCK. */
struct log {
    uint64_t ino;
    uint64_t head;    /* committed, pool offset of the first page, 0 when none */
    uint64_t tail;    /* committed */
    uint64_t pages;
    uint64_t entries;
};

/* Entries up to this size are kept in the txn too, the largest dentry among them. */
#define LOG_TXN_COPY_SLOTS UDAX_DENTRY_MAX_SLOTS

/* Entries appended but not yet committed. */
struct log_txn {
    struct log *log;
    uint64_t head;
    uint64_t pos;
    uint64_t pages_added;
    uint64_t entries_added;
    uint64_t first_new_page;   /* pages this txn chained, to free on abort */
    uint64_t last_entry;       /* pool offset of the entry that carries UDAX_ENTRY_LAST for now */
    bool last_copied;          /* last_copy holds that entry as written */
    _Alignas(uint64_t) unsigned char last_copy[LOG_TXN_COPY_SLOTS * UDAX_SLOT_SIZE];
    bool fresh;                /* a new chain, not an extension of log->head */
};

struct log_env {
    struct pool *pool;
    struct allocator *alloc;
    uint64_t *pages_in_use; /* every inode's log pages, for udax info; atomic */
};

/*
 * An entry's checksum: the low half of XXH3 of its slots after the header,
 * seeded with the header's first word (type, slots, name length, flags).
 */
uint32_t log_entry_checksum(const struct udax_entry_header *entry);

/* Starts appending after the committed tail. */
void log_txn_begin(struct log_txn *txn, struct log *log);
/* Starts a new chain that will replace the log (creation, compaction). */
void log_txn_begin_fresh(struct log_txn *txn, struct log *log);
/* Appends an entry of len bytes (a whole number of slots), sealed and marked the txn's last; 0 or ENOSPC. */
int log_append(const struct log_env *env, struct log_txn *txn, void *entry, uint8_t type, uint8_t name_len,
               unsigned len);
/* Single-inode commit: one durable store of the tail. Frees the old chain of a fresh txn. */
void log_commit(const struct log_env *env, struct log_txn *txn);
/* Frees what the txn allocated; nothing reached the committed log. */
void log_abort(const struct log_env *env, struct log_txn *txn);
/* After a journaled commit of txn's words: updates the DRAM view and frees a replaced chain. */
void log_txn_applied(const struct log_env *env, struct log_txn *txn);
/* Frees every page of a log (when its inode is freed). */
void log_free_chain(const struct log_env *env, uint64_t head, uint64_t tail);

/* The inode record words a txn changes, for a journaled commit. */
static inline uint64_t *log_head_word(struct pool *pool, uint64_t ino)
{
    return &pool->inode_table[ino].log_head;
}
static inline uint64_t *log_tail_word(struct pool *pool, uint64_t ino)
{
    return &pool->inode_table[ino].log_tail;
}
/*
 * A hint: a journaled commit will soon read and store the inode's record
 * words. A record of a new or doomed inode is rarely in the cache, and the
 * journal's next locked instruction would wait for the miss; asked for early,
 * it arrives while the log entries are written.
 */
static inline void log_record_prefetch(struct pool *pool, uint64_t ino)
{
    __builtin_prefetch(&pool->inode_table[ino], 1);
}

/* Walking a committed log. visit_page may refuse a page (a cycle, a block owned twice). */
struct log_walker {
    void *arg;
    bool (*visit_page)(void *arg, uint64_t page_offset);
    /* Returns false to stop the walk with an error already reported. */
    bool (*visit_entry)(void *arg, const struct udax_entry_header *entry, uint64_t offset);
    void (*problem)(void *arg, const char *what, uint64_t offset);
};

/* Validates every page and entry on the way; false on the first problem. */
bool log_walk(struct pool *pool, uint64_t ino, uint64_t head, uint64_t tail, const struct log_walker *walker);
/*
 * For a log whose tail cannot be trusted: walks from head up to the first
 * entry marked UDAX_ENTRY_LAST, the end of the commit that made head durable.
 * False on a problem before it.
 */
bool log_walk_first_commit(struct pool *pool, uint64_t ino, uint64_t head, const struct log_walker *walker);
unsigned log_entry_slots(unsigned len);

#endif
