/* entry.c: the mapping index of a file (a Judy array under the index lock) and the entry lock protocol over it. */
#include "entry.h"

#include <Judy.h>
#include <errno.h>
#include <stdlib.h>

#include "util/hooks.h"
#include "util/inject_bug.h"
#include "wait_table.h"

struct dax_mapping {
    struct mutex lock; /* the index lock: the index and every entry word; a waker changes entries under it */
    Pvoid_t entries;   /* JudyL: key -> entry word */
    uint64_t count;
    entry_unmap_fn unmap; /* set before the first entry is mapped, never changed after */
    void *unmap_ctx;
    void *unmap_object;
};

/* Waiters for pins to drop sleep under their own key, so that they never take a lock waiter's wake-one. */
static uint64_t pin_key(uint64_t key)
{
    return key | (1ull << 63);
}

struct dax_mapping *dax_mapping_new(void)
{
    struct dax_mapping *m = calloc(1, sizeof(*m));
    if (m)
        mutex_init(&m->lock, LOCK_MAPPING_INDEX);
    return m;
}

void dax_mapping_free(struct dax_mapping *m)
{
    JudyLFreeArray(&m->entries, NULL);
    mutex_destroy(&m->lock);
    free(m);
}

void dax_mapping_set_unmap(struct dax_mapping *m, entry_unmap_fn unmap, void *ctx, void *object)
{
    m->unmap = unmap;
    m->unmap_ctx = ctx;
    m->unmap_object = object;
}

uint64_t dax_mapping_entries(struct dax_mapping *m)
{
    mutex_lock(&m->lock, 0);
    uint64_t count = m->count;
    mutex_unlock(&m->lock);
    return count;
}

static Word_t *slot_at(struct dax_mapping *m, uint64_t key)
{
    PWord_t slot = (PWord_t)JudyLGet(m->entries, (Word_t)key, NULL);
    return slot == PJERR ? NULL : slot;
}

/* Under the index lock: the entry covering page, a 4 KiB one or the 2 MiB one around it. */
static Word_t *covering(struct dax_mapping *m, uint64_t page, uint64_t *key)
{
    Word_t *slot = slot_at(m, page);
    if (slot) {
        *key = page;
        return slot;
    }
    uint64_t huge_key = page & ~(uint64_t)(ENTRY_HUGE_PAGES - 1);
    slot = slot_at(m, huge_key);
    if (slot && (*slot & ENTRY_HUGE)) {
        *key = huge_key;
        return slot;
    }
    return NULL;
}

/* Under the index lock: the first entry meeting [pos, end). */
static Word_t *next_entry(struct dax_mapping *m, uint64_t pos, uint64_t end, uint64_t *key)
{
    Word_t *slot = covering(m, pos, key);
    if (slot)
        return slot;
    Word_t index = (Word_t)pos;
    slot = (Word_t *)JudyLFirst(m->entries, &index, NULL);
    if (!slot || slot == (Word_t *)PJERR || index >= end)
        return NULL;
    *key = index;
    return slot;
}

/* Under the index lock: whether a 4 KiB entry lies in the 2 MiB span at huge_key, and whether one is locked. */
static bool small_entry_in_span(struct dax_mapping *m, uint64_t huge_key, bool *locked)
{
    Word_t index = (Word_t)huge_key;
    Word_t *slot = (Word_t *)JudyLFirst(m->entries, &index, NULL);
    *locked = false;
    if (!slot || slot == (Word_t *)PJERR || index >= huge_key + ENTRY_HUGE_PAGES || (*slot & ENTRY_HUGE))
        return false;
    for (; slot && slot != (Word_t *)PJERR && index < huge_key + ENTRY_HUGE_PAGES;
         slot = (Word_t *)JudyLNext(m->entries, &index, NULL))
        *locked |= (*slot & ENTRY_LOCKED) != 0;
    return true;
}

static int insert_locked(struct dax_mapping *m, uint64_t key, bool huge, struct entry_ref *e)
{
    Word_t *slot = (Word_t *)JudyLIns(&m->entries, (Word_t)key, NULL);
    if (slot == (Word_t *)PJERR || !slot)
        return ENOMEM;
    *slot = ENTRY_LOCKED | (huge ? ENTRY_HUGE : 0) | ((uint64_t)ENTRY_EMPTY << ENTRY_KIND_SHIFT);
    m->count++;
    *e = (struct entry_ref){key, *slot};
    return 0;
}

static void remove_slot(struct dax_mapping *m, uint64_t key)
{
    JudyLDel(&m->entries, (Word_t)key, NULL);
    m->count--;
}

/* With the index lock held and the entry at key seen busy: queue, unlock, sleep. The caller looks again after. */
static void wait_for(struct dax_mapping *m, uint64_t wait_key, const char *point)
{
    struct entry_waiter w;
    wait_table_enqueue(&w, m, wait_key);
    mutex_unlock(&m->lock);
    hook_point(point, m, wait_key);
    wait_table_sleep(&w);
}

/* With the index lock held and the entry at key unlocked: locks it for the caller and drops the index lock. */
static struct entry_ref take_entry(struct dax_mapping *m, Word_t *slot, uint64_t key)
{
    *slot |= ENTRY_LOCKED;
    struct entry_ref e = {key, *slot};
    mutex_unlock(&m->lock);
    lockdep_entry_acquired(m, key);
    return e;
}

static void wake_removed(struct dax_mapping *m, uint64_t key)
{
    if (BUG_INJECTED(BUG_S1))
        wait_table_wake_one(m, key);
    else
        wait_table_wake_all(m, key);
}

int entry_grab(struct dax_mapping *m, uint64_t page, bool huge, struct entry_ref *e)
{
    uint64_t huge_key = page & ~(uint64_t)(ENTRY_HUGE_PAGES - 1);
    bool waited = false;
    uint64_t waited_key = 0;
    lockdep_assert_may_sleep_on_entry();
    for (;;) {
        mutex_lock(&m->lock, 0);
        uint64_t key;
        if (huge) {
            bool small_locked;
            if (small_entry_in_span(m, huge_key, &small_locked)) {
                if (BUG_INJECTED(BUG_S2) && small_locked) {
                    wait_for(m, huge_key, "entry_wait");
                    waited = true;
                    waited_key = huge_key;
                    continue;
                }
                mutex_unlock(&m->lock);
                /* R6: a waiter that leaves without the entry hands its wake-up on. */
                if (waited)
                    wait_table_wake_one(m, waited_key);
                return EAGAIN;
            }
        }
        Word_t *slot = covering(m, huge ? huge_key : page, &key);
        if (!slot) {
            int rc = insert_locked(m, huge ? huge_key : page, huge, e);
            mutex_unlock(&m->lock);
            if (!rc)
                lockdep_entry_acquired(m, e->key);
            return rc;
        }
        if (*slot & ENTRY_LOCKED) {
            wait_for(m, key, "entry_wait");
            waited = true;
            waited_key = key;
            continue;
        }
        if (!huge && (*slot & ENTRY_HUGE) && entry_kind(*slot) != ENTRY_BLOCK && (*slot & ENTRY_MAPPED)) {
            /* Its zero pages are mapped: take them down with the entry held, then split as below. */
            struct entry_ref mapped = take_entry(m, slot, key);
            entry_unmap_locked(m, &mapped);
            entry_unlock(m, &mapped);
            continue;
        }
        if (!huge && (*slot & ENTRY_HUGE) && entry_kind(*slot) != ENTRY_BLOCK) {
            /* Split: the 2 MiB placeholder or zero entry goes, and so its key's waiters must all look again (R3). */
            remove_slot(m, key);
            int rc = insert_locked(m, page, false, e);
            mutex_unlock(&m->lock);
            wait_table_wake_all(m, key);
            if (!rc)
                lockdep_entry_acquired(m, e->key);
            return rc;
        }
        *e = take_entry(m, slot, key);
        return 0;
    }
}

static void update(struct dax_mapping *m, struct entry_ref *e, uint64_t clear, uint64_t set)
{
    mutex_lock(&m->lock, 0);
    Word_t *slot = slot_at(m, e->key);
    *slot = (*slot & ~clear) | set;
    e->word = *slot;
    mutex_unlock(&m->lock);
}

void entry_fill(struct dax_mapping *m, struct entry_ref *e, enum entry_kind kind, uint64_t block)
{
    update(m, e, ENTRY_KIND_MASK | ~((1ull << ENTRY_BLOCK_SHIFT) - 1),
           ((uint64_t)kind << ENTRY_KIND_SHIFT) | (block << ENTRY_BLOCK_SHIFT));
}

void entry_mark_dirty(struct dax_mapping *m, struct entry_ref *e)
{
    update(m, e, 0, ENTRY_DIRTY);
}

void entry_mark_mapped(struct dax_mapping *m, struct entry_ref *e, bool writable)
{
    update(m, e, 0, ENTRY_MAPPED | (writable ? ENTRY_MAPPED_WRITE | ENTRY_DIRTY : 0));
}

void entry_unmap_locked(struct dax_mapping *m, struct entry_ref *e)
{
    if (!(e->word & ENTRY_MAPPED) || !m->unmap)
        return;
    hook_point("entry_unmap", m, e->key);
    m->unmap(m->unmap_ctx, m->unmap_object, e->key);
    update(m, e, ENTRY_MAPPED | ENTRY_MAPPED_WRITE, 0);
}

int entry_lock_key(struct dax_mapping *m, uint64_t key, bool skip_busy, struct entry_ref *e)
{
    lockdep_assert_may_sleep_on_entry();
    for (;;) {
        mutex_lock(&m->lock, 0);
        Word_t *slot = slot_at(m, key);
        if (!slot) {
            mutex_unlock(&m->lock);
            return ENOENT;
        }
        if (skip_busy && (*slot & ENTRY_LOCKED || entry_pins(*slot))) {
            mutex_unlock(&m->lock);
            return EBUSY;
        }
        if (*slot & ENTRY_LOCKED) {
            wait_for(m, key, "entry_wait");
            continue;
        }
        *e = take_entry(m, slot, key);
        return 0;
    }
}

int entry_pin(struct dax_mapping *m, struct entry_ref *e)
{
    if (entry_pins(e->word) == ENTRY_PINS_MAX)
        return EOVERFLOW;
    mutex_lock(&m->lock, 0);
    Word_t *slot = slot_at(m, e->key);
    *slot += 1ull << ENTRY_PINS_SHIFT;
    e->word = *slot;
    mutex_unlock(&m->lock);
    return 0;
}

void entry_unlock(struct dax_mapping *m, struct entry_ref *e)
{
    update(m, e, ENTRY_LOCKED, 0);
    lockdep_entry_released(m, e->key);
    wait_table_wake_one(m, e->key);
}

void entry_remove_locked(struct dax_mapping *m, struct entry_ref *e)
{
    entry_unmap_locked(m, e);
    mutex_lock(&m->lock, 0);
    remove_slot(m, e->key);
    mutex_unlock(&m->lock);
    lockdep_entry_released(m, e->key);
    wake_removed(m, e->key);
}

void entry_unpin(struct dax_mapping *m, uint64_t page)
{
    uint64_t key;
    mutex_lock(&m->lock, 0);
    Word_t *slot = covering(m, page, &key);
    bool last = slot && entry_pins(*slot) == 1;
    if (slot && entry_pins(*slot))
        *slot -= 1ull << ENTRY_PINS_SHIFT;
    mutex_unlock(&m->lock);
    if (last)
        wait_table_wake_all(m, pin_key(key));
}

void entry_wait_unpinned(struct dax_mapping *m, uint64_t key)
{
    lockdep_assert_may_sleep_on_entry();
    mutex_lock(&m->lock, 0);
    Word_t *slot = slot_at(m, key);
    if (slot && entry_pins(*slot))
        wait_for(m, pin_key(key), "pin_wait");
    else
        mutex_unlock(&m->lock);
}

static uint64_t range_end(uint64_t first, uint64_t count)
{
    return count > UINT64_MAX - first ? UINT64_MAX : first + count;
}

/*
 * The first entry meeting [pos, end), returned with the index lock held;
 * NULL, with the lock released, when there is none. A locked entry is waited
 * for and read again (R7), unless step_over_locked; *waited tells whether
 * this call slept for the entry it returns.
 */
static Word_t *lock_next(struct dax_mapping *m, uint64_t pos, uint64_t end, bool step_over_locked, uint64_t *key,
                         bool *waited)
{
    *waited = false;
    for (;;) {
        mutex_lock(&m->lock, 0);
        Word_t *slot = next_entry(m, pos, end, key);
        if (!slot)
            mutex_unlock(&m->lock);
        if (!slot || !(*slot & ENTRY_LOCKED) || step_over_locked)
            return slot;
        wait_for(m, *key, "entry_wait");
        *waited = true;
    }
}

void entry_delete_range(struct dax_mapping *m, uint64_t first, uint64_t count, bool wait_pins)
{
    uint64_t key, end = range_end(first, count);
    bool waited;
    lockdep_assert_may_sleep_on_entry();
    for (uint64_t pos = first; pos < end;) {
        Word_t *slot = lock_next(m, pos, end, false, &key, &waited);
        if (!slot)
            return;
        if (wait_pins && entry_pins(*slot)) {
            wait_for(m, pin_key(key), "pin_wait");
            continue;
        }
        uint64_t pages = entry_pages(*slot);
        if (*slot & ENTRY_MAPPED) {
            struct entry_ref mapped = take_entry(m, slot, key);
            entry_remove_locked(m, &mapped);
        } else {
            remove_slot(m, key);
            mutex_unlock(&m->lock);
            wake_removed(m, key);
        }
        pos = key + pages;
    }
}

bool entry_busy_scan(struct dax_mapping *m, uint64_t first, uint64_t count, uint64_t *busy)
{
    uint64_t key, end = range_end(first, count);
    bool waited;
    lockdep_assert_may_sleep_on_entry();
    for (uint64_t pos = first; pos < end;) {
        Word_t *slot = lock_next(m, pos, end, BUG_INJECTED(BUG_S6), &key, &waited);
        if (!slot)
            return false;
        uint64_t word = *slot;
        mutex_unlock(&m->lock);
        /* R6: the scan woke for this entry and leaves it unlocked, so the next waiter gets the wake-up. */
        if (waited)
            wait_table_wake_one(m, key);
        if (!(word & ENTRY_LOCKED) && entry_pins(word)) {
            *busy = key;
            return true;
        }
        pos = key + entry_pages(word);
    }
    return false;
}

void entry_writeback_range(struct dax_mapping *m, uint64_t first, uint64_t count, entry_flush_fn flush, void *arg)
{
    uint64_t key, end = range_end(first, count);
    bool waited;
    lockdep_assert_may_sleep_on_entry();
    for (uint64_t pos = first; pos < end;) {
        Word_t *slot = lock_next(m, pos, end, false, &key, &waited);
        if (!slot)
            return;
        uint64_t pages = entry_pages(*slot);
        if (!(*slot & ENTRY_DIRTY)) {
            mutex_unlock(&m->lock);
            if (waited)
                wait_table_wake_one(m, key);
        } else {
            struct entry_ref e = take_entry(m, slot, key);
            flush(arg, entry_block(e.word), pages);
            if (!(e.word & ENTRY_MAPPED_WRITE))
                update(m, &e, ENTRY_DIRTY, 0);
            entry_unlock(m, &e);
        }
        pos = key + pages;
    }
}
