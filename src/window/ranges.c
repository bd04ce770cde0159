/* ranges.c: the live ranges of the window: putting pool blocks into place, the budget, LRU reclaim, and taking ranges down. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dax/dax.h"
#include "util/hooks.h"
#include "util/inject_bug.h"
#include "window_internal.h"

struct range *range_covering(struct region *r, uint64_t page)
{
    Word_t index = (Word_t)page;
    PWord_t slot = (PWord_t)JudyLLast(r->ranges, &index, NULL);
    if (!slot || slot == PJERR)
        return NULL;
    struct range *range = (struct range *)*slot;
    return page < range->page + range->pages ? range : NULL;
}

struct range *range_meeting(struct region *r, uint64_t page, uint64_t pages)
{
    struct range *covering = range_covering(r, page);
    if (covering)
        return covering;
    Word_t index = (Word_t)page;
    PWord_t slot = (PWord_t)JudyLFirst(r->ranges, &index, NULL);
    return slot && slot != PJERR && index < page + pages ? (struct range *)*slot : NULL;
}

static void lru_unlink(struct range *range)
{
    range->lru_prev->lru_next = range->lru_next;
    range->lru_next->lru_prev = range->lru_prev;
}

static void lru_append(struct window *w, struct range *range)
{
    range->lru_prev = w->lru.lru_prev;
    range->lru_next = &w->lru;
    w->lru.lru_prev->lru_next = range;
    w->lru.lru_prev = range;
}

static void lru_touch(struct window *w, struct range *range)
{
    lru_unlink(range);
    lru_append(w, range);
}

/* The slot holding the first range of entry key of inode: a list through next_of_entry. */
static PWord_t owner_slot(struct window *w, const struct inode *inode, uint64_t key, bool create)
{
    PWord_t keys = (PWord_t)(create ? JudyLIns(&w->owners, (Word_t)inode, NULL)
                                    : JudyLGet(w->owners, (Word_t)inode, NULL));
    if (!keys || keys == PJERR)
        return NULL;
    PWord_t slot = (PWord_t)(create ? JudyLIns((PPvoid_t)keys, (Word_t)key, NULL)
                                    : JudyLGet((Pvoid_t)*keys, (Word_t)key, NULL));
    return slot == PJERR ? NULL : slot;
}

static void owner_remove(struct window *w, struct range *range)
{
    const struct inode *inode = range->region->inode;
    PWord_t slot = owner_slot(w, inode, range->key, false);
    if (!slot)
        return;
    /* The slot is a Word_t: read and write it as one, never through a struct range ** (strict aliasing). */
    struct range *head = (struct range *)*slot;
    if (head == range) {
        head = range->next_of_entry;
    } else {
        for (struct range *r = head; r; r = r->next_of_entry) {
            if (r->next_of_entry == range) {
                r->next_of_entry = range->next_of_entry;
                break;
            }
        }
    }
    *slot = (Word_t)head;
    if (head)
        return;
    PWord_t keys = (PWord_t)JudyLGet(w->owners, (Word_t)inode, NULL);
    JudyLDel((PPvoid_t)keys, (Word_t)range->key, NULL);
    if (!*keys)
        JudyLDel(&w->owners, (Word_t)inode, NULL);
}

void range_forget(struct window *w, struct range *range)
{
    JudyLDel(&range->region->ranges, (Word_t)range->page, NULL);
    owner_remove(w, range);
    lru_unlink(range);
    free(range);
    w->live--;
    if (w->over_budget)
        w->over_budget--;
    w->frees++;
    pthread_cond_broadcast(&w->range_freed);
}

void range_take_down(struct window *w, struct range *range)
{
    char *start = region_addr(range->region, range->page);
    size_t length = range->pages * WINDOW_PAGE;
    int rc = range->zero ? (syscall(SYS_madvise, start, length, MADV_DONTNEED) ? errno : 0)
                         : uffd_replace_with_reservation(w, start, length, range->region->prot);
    if (rc) {
        /* Left in place, the range would keep reaching blocks its file may free: stop rather than corrupt. */
        fprintf(stderr, "udax: cannot unmap %p (%zu bytes) of a udax mapping: %s\n", (void *)start, length,
                strerror(rc));
        abort();
    }
    range_forget(w, range);
}

void ranges_unmap_entry(void *window, void *object, uint64_t key)
{
    struct window *w = window;
    mutex_lock(&w->lock, 0);
    PWord_t slot;
    while ((slot = owner_slot(w, object, key, false)) && *slot)
        range_take_down(w, (struct range *)*slot);
    mutex_unlock(&w->lock);
}

/* Ranges of r over [page, page+pages) give way to a new one there: overwritten in place where wholly inside it. */
static void clear_for(struct window *w, struct region *r, uint64_t page, uint64_t pages, bool zero)
{
    for (struct range *old; (old = range_meeting(r, page, pages));) {
        bool inside = old->page >= page && old->page + old->pages <= page + pages;
        /* Zero pages go into the reservation: a block range there must give the reservation back first. */
        if (inside && !(zero && !old->zero))
            range_forget(w, old);
        else
            range_take_down(w, old);
    }
}

/*
 * For a write fault the page tables are filled at once: one populate of 2 MiB
 * costs a fraction of the 512 kernel faults the stores would take after it.
 * A read fault may be a sparse touch, and leaves them to the kernel.
 */
static int map_blocks(struct window *w, struct region *r, char *start, size_t length, void *blocks, bool write)
{
    struct pool *pool = &w->fs->pool;
    int flags = MAP_SHARED | MAP_FIXED | (write ? MAP_POPULATE : 0);
    void *got = raw_mmap(start, length, r->prot, flags, pool->fd, (off_t)pool_offset(pool, blocks));
    return got == MAP_FAILED ? errno : 0;
}

/* Under the window lock: whether a fault would find no range free. */
static bool window_full(const struct window *w)
{
    return w->live >= w->budget + w->over_budget;
}

/* Under the window lock: whether a fault waits for a range and none is free. */
static bool range_wanted(const struct window *w)
{
    return w->waiting && window_full(w);
}

static int install(void *arg, const struct dax_fault_result *res, bool *writable)
{
    struct fault_request *req = arg;
    struct window *w = req->w;
    struct region *r = req->region;
    bool zero = !res->addr;
    char *start = region_addr(r, res->page);
    size_t length = res->pages * WINDOW_PAGE;
    hook_point("window_install", r->inode, res->page);
    mutex_lock(&w->lock, 0);
    if (r->dead || res->page < r->first_page || res->page + res->pages > r->first_page + r->pages) {
        mutex_unlock(&w->lock);
        return ESTALE; /* unmapped or split meanwhile: look the address up again */
    }
    struct range *old = range_covering(r, res->page);
    if (old && old->page == res->page && old->pages == res->pages && old->zero == zero && old->key == res->key) {
        lru_touch(w, old);
    } else {
        clear_for(w, r, res->page, res->pages, zero);
        if (window_full(w)) {
            req->frees_seen = w->frees;
            w->waiting++;
            w->stats.backoffs++;
            pthread_cond_signal(&w->reclaim_wanted);
            if (!BUG_INJECTED(BUG_S3)) {
                mutex_unlock(&w->lock);
                return EBUSY;
            }
            /* The bug of S3: waiting for a range with FAULTLOCK and the entry held, which reclaim needs. */
            while (w->frees == req->frees_seen)
                pthread_cond_wait(&w->range_freed, &w->lock.m);
            w->waiting--;
        }
        struct range *range = calloc(1, sizeof(*range));
        PWord_t by_page = range ? (PWord_t)JudyLIns(&r->ranges, (Word_t)res->page, NULL) : NULL;
        PWord_t by_entry = by_page && by_page != PJERR ? owner_slot(w, r->inode, res->key, true) : NULL;
        int rc = !by_entry ? ENOMEM : zero ? uffd_zero_pages(w, start, length) : map_blocks(w, r, start, length, res->addr, req->write);
        if (rc) {
            if (by_page && by_page != PJERR)
                JudyLDel(&r->ranges, (Word_t)res->page, NULL);
            free(range);
            mutex_unlock(&w->lock);
            return rc;
        }
        *range = (struct range){.region = r, .page = res->page, .pages = res->pages, .key = res->key, .zero = zero};
        *by_page = (Word_t)range;
        range->next_of_entry = (struct range *)*by_entry;
        *by_entry = (Word_t)range;
        lru_append(w, range);
        w->live++;
        w->stats.faults++;
        if (res->pages > 1)
            w->stats.huge_faults++;
    }
    mutex_unlock(&w->lock);
    *writable = !zero && (r->prot & PROT_WRITE);
    req->mapped = start;
    req->mapped_len = length;
    return 0;
}

int ranges_fault(struct fault_request *req, uint64_t page)
{
    struct region *r = req->region;
    uint64_t span = page & ~(uint64_t)(WINDOW_HUGE / WINDOW_PAGE - 1);
    bool huge = span >= r->first_page && span + WINDOW_HUGE / WINDOW_PAGE <= r->first_page + r->pages &&
                (uintptr_t)region_addr(r, span) % WINDOW_HUGE == 0;
    unsigned flags = req->write ? DAX_FAULT_WRITE : 0;
    struct dax_fault_result res;
    int rc = EAGAIN;
    if (huge)
        rc = dax_fault_install(req->w->fs, r->inode, span * WINDOW_PAGE, flags | DAX_FAULT_HUGE, &res, install, req);
    if (rc == EAGAIN)
        rc = dax_fault_install(req->w->fs, r->inode, page * WINDOW_PAGE, flags, &res, install, req);
    return rc;
}

void ranges_wait_for_free(struct window *w, uint64_t frees_seen)
{
    hook_point("window_wait_for_range", w, frees_seen);
    mutex_lock(&w->lock, 0);
    while (w->frees == frees_seen && !w->stopping)
        pthread_cond_wait(&w->range_freed, &w->lock.m);
    w->waiting--;
    mutex_unlock(&w->lock);
}

int window_fault_at(struct window *w, const void *addr, bool write, char **mapped, size_t *mapped_len)
{
    *mapped = NULL;
    for (;;) {
        mutex_lock(&w->lock, 0);
        struct region *r = region_at(w, addr);
        if (r)
            r->refs++;
        mutex_unlock(&w->lock);
        if (!r)
            return 0; /* unmapped meanwhile: the retried access meets whatever is there now */
        struct fault_request req = {.w = w, .region = r, .write = write};
        int rc = ranges_fault(&req, r->first_page + (uint64_t)((const char *)addr - r->start) / WINDOW_PAGE);
        region_put(w, r);
        if (rc == EBUSY) {
            ranges_wait_for_free(w, req.frees_seen);
            continue;
        }
        if (rc == ESTALE)
            continue;
        *mapped = req.mapped;
        *mapped_len = req.mapped_len;
        return rc;
    }
}

/*
 * Under the window lock, which it drops around each unmap. With want_checked,
 * it stops as soon as no fault waits for a range: the background reclaimer
 * woke for a need that a free elsewhere may have met since, and the range it
 * would take now may be the one that waiter just installed.
 */
static uint64_t reclaim_locked(struct window *w, uint64_t count, bool want_checked)
{
    uint64_t reclaimed = 0;
    for (uint64_t tried = 0; reclaimed < count && tried < w->live && w->lru.lru_next != &w->lru &&
                             (!want_checked || range_wanted(w));
         tried++) {
        struct range *victim = w->lru.lru_next;
        lru_touch(w, victim); /* if it is busy, the next attempt starts elsewhere */
        struct region *r = victim->region;
        uint64_t key = victim->key;
        r->refs++;
        mutex_unlock(&w->lock);
        hook_point("reclaim_victim", r->inode, key);
        int rc = dax_unmap_entry(w->fs, r->inode, key, true);
        region_put(w, r);
        mutex_lock(&w->lock, 0);
        if (rc == 0 || rc == ENOENT) {
            reclaimed++;
            w->stats.reclaimed++;
        }
    }
    return reclaimed;
}

uint64_t window_reclaim(struct window *w, uint64_t count)
{
    mutex_lock(&w->lock, 0);
    uint64_t reclaimed = reclaim_locked(w, count, false);
    mutex_unlock(&w->lock);
    return reclaimed;
}

static void *reclaim_main(void *arg)
{
    struct window *w = arg;
    mutex_lock(&w->lock, 0);
    while (!w->stopping) {
        /* A freed range ends the need even before its waiter runs again to take it. */
        if (!range_wanted(w)) {
            pthread_cond_wait(&w->reclaim_wanted, &w->lock.m);
            continue;
        }
        if (!reclaim_locked(w, 1, true) && range_wanted(w)) {
            /*
             * Every live range is pinned or busy, and pinned ones are never
             * reclaimed: waiting would hang the fault whenever pins fill the
             * budget. Let one range more in; it goes again with the next free.
             */
            w->over_budget++;
            w->stats.over_budget++;
            w->frees++;
            pthread_cond_broadcast(&w->range_freed);
        }
    }
    mutex_unlock(&w->lock);
    return NULL;
}

int reclaimer_start(struct window *w)
{
    return window_thread_start(&w->reclaimer, reclaim_main, w);
}

void reclaimer_stop(struct window *w)
{
    mutex_lock(&w->lock, 0);
    w->stopping = true;
    pthread_cond_broadcast(&w->reclaim_wanted);
    pthread_cond_broadcast(&w->range_freed);
    mutex_unlock(&w->lock);
    pthread_join(w->reclaimer, NULL);
}
