/*
 * entry.h: a file's mapping entries and their locks: the index through which
 * faults, I/O, truncate and reclaim agree on who owns which part of a file's
 * mapping (DESIGN.md sections 3, 4 and 6).
 */
#ifndef UDAX_DAX_ENTRY_H
#define UDAX_DAX_ENTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/locks.h"

#define ENTRY_HUGE_PAGES 512u /* pages in a 2 MiB entry */

enum entry_kind {
    ENTRY_EMPTY = 1, /* a lock placeholder: the fault that holds it has not found its blocks yet */
    ENTRY_ZERO = 2,  /* a hole mapped for reading */
    ENTRY_BLOCK = 3, /* the file's own blocks */
};

/*
 * One entry is one 64-bit word in the index, so that a snapshot is a copy:
 * lock bit, dirty mark, size, kind, pins, mapped marks, first block.
 */
#define ENTRY_LOCKED 0x1ull
#define ENTRY_DIRTY 0x2ull
#define ENTRY_HUGE 0x4ull
#define ENTRY_KIND_SHIFT 3
#define ENTRY_KIND_MASK (0x3ull << ENTRY_KIND_SHIFT)
#define ENTRY_PINS_SHIFT 5
#define ENTRY_PINS_MAX 0x3fffull
#define ENTRY_PINS_MASK (ENTRY_PINS_MAX << ENTRY_PINS_SHIFT)
#define ENTRY_MAPPED (1ull << 19)       /* some window range maps the entry's pages */
#define ENTRY_MAPPED_WRITE (1ull << 20) /* one of them is writable, so stores may come at any time */
#define ENTRY_BLOCK_SHIFT 21

static inline enum entry_kind entry_kind(uint64_t word)
{
    return (enum entry_kind)((word & ENTRY_KIND_MASK) >> ENTRY_KIND_SHIFT);
}

static inline uint64_t entry_pins(uint64_t word)
{
    return (word & ENTRY_PINS_MASK) >> ENTRY_PINS_SHIFT;
}

static inline uint64_t entry_block(uint64_t word)
{
    return word >> ENTRY_BLOCK_SHIFT;
}

static inline uint64_t entry_pages(uint64_t word)
{
    return word & ENTRY_HUGE ? ENTRY_HUGE_PAGES : 1;
}

/* A file's entries, keyed by the index of each entry's first page (R4). */
struct dax_mapping;

/* An entry as its holder sees it. */
struct entry_ref {
    uint64_t key;
    uint64_t word;
};

struct dax_mapping *dax_mapping_new(void);
void dax_mapping_free(struct dax_mapping *m);

/*
 * Takes down every window range that maps the entry at key. The entry layer
 * calls it with that entry locked and no other lock of its own held, before
 * the entry is removed or given other blocks, so that no address keeps
 * reaching blocks the entry no longer owns.
 */
typedef void (*entry_unmap_fn)(void *ctx, void *object, uint64_t key);
void dax_mapping_set_unmap(struct dax_mapping *m, entry_unmap_fn unmap, void *ctx, void *object);
uint64_t dax_mapping_entries(struct dax_mapping *m);

/*
 * Locks the entry that covers page, for a fault of 4 KiB (huge false) or
 * 2 MiB (huge true, page 2 MiB-aligned), inserting an empty one where none is.
 * An unlocked empty or zero 2 MiB entry is split when a 4 KiB fault needs part
 * of it. A 2 MiB request over any 4 KiB entry returns EAGAIN at once, without
 * waiting: the caller falls back to 4 KiB (R4). Otherwise 0, or ENOMEM.
 * The caller holds no ILOCK and no leaf lock (R2).
 */
int entry_grab(struct dax_mapping *m, uint64_t page, bool huge, struct entry_ref *e);
/* While the caller holds e: gives it its kind and blocks, keeping its size and lock. */
void entry_fill(struct dax_mapping *m, struct entry_ref *e, enum entry_kind kind, uint64_t block);
void entry_mark_dirty(struct dax_mapping *m, struct entry_ref *e);
/* While the caller holds e: a window range now maps it; writable ones keep it dirty until they go. */
void entry_mark_mapped(struct dax_mapping *m, struct entry_ref *e, bool writable);
/* While the caller holds e: takes down the window ranges that map it, if any. */
void entry_unmap_locked(struct dax_mapping *m, struct entry_ref *e);
/*
 * Locks the existing entry at key, waiting while it is locked; with
 * skip_busy, EBUSY at once when it is locked or pinned. ENOENT when absent.
 */
int entry_lock_key(struct dax_mapping *m, uint64_t key, bool skip_busy, struct entry_ref *e);
/* While the caller holds e: one more pin on its pages; EOVERFLOW when it has too many. */
int entry_pin(struct dax_mapping *m, struct entry_ref *e);
/* Removes the held entry e, waking every waiter of its key (R3). */
void entry_remove_locked(struct dax_mapping *m, struct entry_ref *e);
/* Unlocks e and wakes one waiter of its key. */
void entry_unlock(struct dax_mapping *m, struct entry_ref *e);

/* Drops one pin of the entry covering page; the last wakes whoever waits for the pins to drop. */
void entry_unpin(struct dax_mapping *m, uint64_t page);
/* Sleeps until the entry at key has no pin left (or is gone). */
void entry_wait_unpinned(struct dax_mapping *m, uint64_t key);

/*
 * Removes every entry meeting [first, first+count), waiting for each locked
 * one, and with wait_pins for each pinned one, and wakes every waiter of each
 * removed key (R3).
 */
void entry_delete_range(struct dax_mapping *m, uint64_t first, uint64_t count, bool wait_pins);

/*
 * Busy scan (R7): the key of the first entry meeting [first, first+count)
 * whose pages are pinned. A locked entry is waited for and read again, never
 * stepped over. true when one is found.
 */
bool entry_busy_scan(struct dax_mapping *m, uint64_t first, uint64_t count, uint64_t *key);

/*
 * Calls flush on each dirty entry meeting [first, first+count), with the
 * entry locked, then cleans it, unless a writable range still maps it.
 */
typedef void (*entry_flush_fn)(void *arg, uint64_t block, uint64_t pages);
void entry_writeback_range(struct dax_mapping *m, uint64_t first, uint64_t count, entry_flush_fn flush, void *arg);

#endif
