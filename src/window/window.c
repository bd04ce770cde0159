/* window.c: the window's reservations: udax_mmap and munmap, mprotect, msync, madvise and pins over regions of address space. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dax/dax.h"
#include "util/error.h"
#include "window_internal.h"

/* 0, or -1 with errno and the message set. */
static int start_threads(struct window *w)
{
    if (uffd_open(w))
        return -1;
    int rc = service_start(w);
    if (!rc)
        rc = reclaimer_start(w);
    return rc ? udax_fail(rc, "mmap: cannot start the fault service threads: %s", strerror(rc)) : 0;
}

int window_open(struct window **out, struct fs *fs, uint64_t budget)
{
    struct window *w = calloc(1, sizeof(*w));
    if (!w)
        return ENOMEM;
    w->fs = fs;
    w->uffd = -1;
    w->stop_fd = -1;
    w->budget = budget;
    w->lru.lru_next = w->lru.lru_prev = &w->lru;
    mutex_init(&w->lock, LOCK_LEAF);
    mutex_init(&w->service_lock, LOCK_LEAF);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&w->reclaim_wanted, &monotonic);
    pthread_condattr_destroy(&monotonic);
    pthread_cond_init(&w->range_freed, NULL);
    w->zeros = mmap(NULL, WINDOW_HUGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (w->zeros == MAP_FAILED) {
        free(w);
        return ENOMEM;
    }
    fs->unmap_entry = ranges_unmap_entry;
    fs->unmap_ctx = w;
    *out = w;
    return 0;
}

static void region_free(struct window *w, struct region *r)
{
    JudyLFreeArray(&r->ranges, NULL);
    inode_put(w->fs, r->inode);
    free(r);
}

void region_put(struct window *w, struct region *r)
{
    mutex_lock(&w->lock, 0);
    bool last = --r->refs == 0;
    mutex_unlock(&w->lock);
    if (last)
        region_free(w, r);
}

struct region *region_at(struct window *w, const void *addr)
{
    Word_t index = (Word_t)addr;
    PWord_t slot = (PWord_t)JudyLLast(w->regions, &index, NULL);
    if (!slot || slot == PJERR)
        return NULL;
    struct region *r = (struct region *)*slot;
    return (const char *)addr < r->start + r->pages * WINDOW_PAGE ? r : NULL;
}

/* Under the window lock: the first region meeting [start, end). */
static struct region *region_from(struct window *w, const char *start, const char *end)
{
    struct region *r = region_at(w, start);
    if (r)
        return r;
    Word_t index = (Word_t)start;
    PWord_t slot = (PWord_t)JudyLFirst(w->regions, &index, NULL);
    if (!slot || slot == PJERR || (const char *)index >= end)
        return NULL;
    return (struct region *)*slot;
}

static const char *region_end(const struct region *r)
{
    return r->start + r->pages * WINDOW_PAGE;
}

/* Under the window lock: splits the region around at, so that no region straddles it. ENOMEM or 0. */
static int split_at(struct window *w, const char *at)
{
    struct region *r = region_at(w, at);
    if (!r || r->start == at)
        return 0;
    struct region *tail = calloc(1, sizeof(*tail));
    PWord_t slot = tail ? (PWord_t)JudyLIns(&w->regions, (Word_t)at, NULL) : NULL;
    if (!slot || slot == PJERR) {
        free(tail);
        return ENOMEM;
    }
    uint64_t head_pages = (uint64_t)(at - r->start) / WINDOW_PAGE;
    *tail = (struct region){
        .start = (char *)at,
        .pages = r->pages - head_pages,
        .first_page = r->first_page + head_pages,
        .prot = r->prot,
        .inode = r->inode,
        .refs = 1,
    };
    *slot = (Word_t)tail;
    inode_get(r->inode);
    struct range *straddling = range_covering(r, tail->first_page);
    if (straddling && straddling->page < tail->first_page)
        range_take_down(w, straddling);
    Word_t index = (Word_t)tail->first_page;
    for (PWord_t moved = (PWord_t)JudyLFirst(r->ranges, &index, NULL); moved && moved != PJERR;
         moved = (PWord_t)JudyLFirst(r->ranges, &index, NULL)) {
        struct range *range = (struct range *)*moved;
        JudyLDel(&r->ranges, index, NULL);
        PWord_t in_tail = (PWord_t)JudyLIns(&tail->ranges, index, NULL);
        if (!in_tail || in_tail == PJERR) {
            range->region = r; /* forget it from where it is still filed */
            JudyLIns(&r->ranges, index, NULL);
            range_take_down(w, range);
            continue;
        }
        *in_tail = (Word_t)range;
        range->region = tail;
    }
    r->pages = head_pages;
    return 0;
}

/* Under the window lock: splits at both ends of [start, end). */
static int split_around(struct window *w, const char *start, const char *end)
{
    int rc = split_at(w, start);
    return rc ? rc : split_at(w, end);
}

static void region_unmap_locked(struct window *w, struct region *r)
{
    r->dead = true;
    JudyLDel(&w->regions, (Word_t)r->start, NULL);
    Word_t index = 0;
    for (PWord_t slot = (PWord_t)JudyLFirst(r->ranges, &index, NULL); slot && slot != PJERR;
         slot = (PWord_t)JudyLFirst(r->ranges, &index, NULL))
        range_forget(w, (struct range *)*slot);
    munmap(r->start, r->pages * WINDOW_PAGE);
}

int window_unmap(struct window *w, void *addr, size_t length)
{
    if ((uintptr_t)addr % WINDOW_PAGE || !length || length > SIZE_MAX - WINDOW_PAGE)
        return EINVAL;
    const char *start = addr, *end = start + ((length + WINDOW_PAGE - 1) & ~(WINDOW_PAGE - 1));
    struct region *gone[64];
    for (;;) {
        unsigned count = 0;
        mutex_lock(&w->lock, 0);
        int rc = split_around(w, start, end);
        for (struct region *r; !rc && count < 64 && (r = region_from(w, start, end));)
            region_unmap_locked(w, gone[count++] = r);
        mutex_unlock(&w->lock);
        for (unsigned i = 0; i < count; i++)
            region_put(w, gone[i]);
        if (rc || count < 64)
            return rc;
    }
}

/* Under the window lock: a reservation of length bytes whose address is congruent to offset modulo 2 MiB. */
static char *reserve(size_t length, int prot, uint64_t offset)
{
    size_t over = length + WINDOW_HUGE;
    char *base = mmap(NULL, over, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    size_t shift = (size_t)((offset % WINDOW_HUGE + WINDOW_HUGE - (uintptr_t)base % WINDOW_HUGE) % WINDOW_HUGE);
    char *start = base + shift;
    if (shift)
        munmap(base, shift);
    munmap(start + length, over - shift - length);
    return start;
}

int window_map(struct window *w, struct inode *inode, void *addr, size_t length, int prot, int flags, uint64_t offset,
               void **out)
{
    int type = flags & MAP_TYPE;
    if (type == MAP_PRIVATE)
        return udax_fail(EINVAL, "mmap: MAP_PRIVATE is not supported; udax maps files MAP_SHARED only");
    if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
        return udax_fail(EINVAL, "mmap: flags must include MAP_SHARED");
    int known = MAP_TYPE | MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_NORESERVE;
    if (flags & ~known)
        return udax_fail(type == MAP_SHARED_VALIDATE ? EOPNOTSUPP : EINVAL, "mmap: unsupported flags %#x",
                         flags & ~known);
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
        return udax_fail(EINVAL, "mmap: unknown protection %#x", prot);
    if (!length || offset % WINDOW_PAGE || length > SIZE_MAX - WINDOW_HUGE)
        return udax_fail(EINVAL, "mmap: length 0 or offset not a multiple of the page size");
    size_t mapped = (length + WINDOW_PAGE - 1) & ~(WINDOW_PAGE - 1);
    if (offset > (uint64_t)INT64_MAX - mapped)
        return udax_fail(EOVERFLOW, "mmap: offset plus length overflows");
    bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    if (fixed && (uintptr_t)addr % WINDOW_PAGE)
        return udax_fail(EINVAL, "mmap: fixed address not page-aligned");

    mutex_lock(&w->service_lock, 0);
    int rc = w->uffd < 0 ? start_threads(w) : 0;
    mutex_unlock(&w->service_lock);
    if (rc)
        return -1;
    if (flags & MAP_FIXED)
        window_unmap(w, addr, mapped);
    struct region *r = calloc(1, sizeof(*r));
    if (!r)
        return udax_fail(ENOMEM, "mmap: out of memory");
    char *start = NULL;
    mutex_lock(&w->lock, 0);
    if (fixed) {
        int how = flags & MAP_FIXED ? MAP_FIXED : MAP_FIXED_NOREPLACE;
        start = mmap(addr, mapped, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | how, -1, 0);
        rc = start == MAP_FAILED ? errno : 0;
    } else {
        start = reserve(mapped, prot, offset);
        rc = start ? 0 : ENOMEM;
    }
    if (!rc) {
        window_span_cover(start, mapped);
        rc = uffd_register(w, start, mapped);
        if (rc)
            munmap(start, mapped);
    }
    PWord_t slot = rc ? NULL : (PWord_t)JudyLIns(&w->regions, (Word_t)start, NULL);
    if (!rc && (!slot || slot == PJERR)) {
        munmap(start, mapped);
        rc = ENOMEM;
    }
    if (!rc) {
        *r = (struct region){
            .start = start, .pages = mapped / WINDOW_PAGE, .first_page = offset / WINDOW_PAGE,
            .prot = prot, .inode = inode, .refs = 1,
        };
        inode_get(inode);
        *slot = (Word_t)r;
    }
    mutex_unlock(&w->lock);
    if (rc) {
        free(r);
        return udax_fail(rc, "mmap: cannot reserve %zu bytes: %s", mapped, strerror(rc));
    }
    if (flags & MAP_POPULATE)
        window_advise(w, start, mapped, MADV_WILLNEED);
    *out = start;
    return 0;
}

/* One region's share of a call over an address range, held by a reference while the window lock is dropped. */
struct region_part {
    struct region *region;
    uint64_t first_page;
    uint64_t pages;
};

/*
 * Under the window lock: the parts of [start, end) that regions cover, each
 * region with a reference, up to max; *covered tells whether they cover it all.
 */
static unsigned collect_parts(struct window *w, const char *start, const char *end, struct region_part *parts,
                              unsigned max, bool *covered)
{
    unsigned count = 0;
    const char *at = start;
    *covered = true;
    while (at < end && count < max) {
        struct region *r = region_from(w, at, end);
        if (!r)
            break;
        if (r->start > at)
            *covered = false;
        const char *from = r->start > at ? r->start : at;
        const char *to = region_end(r) < end ? region_end(r) : end;
        r->refs++;
        parts[count++] = (struct region_part){r, r->first_page + (uint64_t)(from - r->start) / WINDOW_PAGE,
                                              (uint64_t)(to - from) / WINDOW_PAGE};
        at = to;
    }
    if (at < end && count < max)
        *covered = false;
    return count;
}

static int page_range(void *addr, size_t length, const char **start, const char **end)
{
    if ((uintptr_t)addr % WINDOW_PAGE || length > SIZE_MAX - WINDOW_PAGE)
        return EINVAL;
    *start = addr;
    *end = *start + ((length + WINDOW_PAGE - 1) & ~(WINDOW_PAGE - 1));
    return 0;
}

#define PARTS_PER_ROUND 32

int window_sync(struct window *w, void *addr, size_t length)
{
    const char *start, *end;
    if (page_range(addr, length, &start, &end))
        return EINVAL;
    bool covered = true;
    while (start < end) {
        struct region_part parts[PARTS_PER_ROUND];
        bool all;
        mutex_lock(&w->lock, 0);
        unsigned count = collect_parts(w, start, end, parts, PARTS_PER_ROUND, &all);
        mutex_unlock(&w->lock);
        covered &= all || count == PARTS_PER_ROUND;
        for (unsigned i = 0; i < count; i++) {
            dax_writeback_range(w->fs, parts[i].region->inode, parts[i].first_page, parts[i].pages);
            start = region_addr(parts[i].region, parts[i].first_page + parts[i].pages);
            region_put(w, parts[i].region);
        }
        if (count < PARTS_PER_ROUND)
            break;
    }
    return covered ? 0 : ENOMEM;
}

/* Takes down, through their entries, every range meeting the parts: they fault again when touched. */
static void unmap_parts(struct window *w, const struct region_part *parts, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        struct region *r = parts[i].region;
        for (;;) {
            mutex_lock(&w->lock, 0);
            struct range *range = range_meeting(r, parts[i].first_page, parts[i].pages);
            uint64_t key = range ? range->key : 0;
            mutex_unlock(&w->lock);
            if (!range)
                break;
            dax_unmap_entry(w->fs, r->inode, key, false);
        }
    }
}

int window_protect(struct window *w, void *addr, size_t length, int prot)
{
    const char *start, *end;
    if (page_range(addr, length, &start, &end) || prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
        return EINVAL;
    struct region_part parts[PARTS_PER_ROUND];
    bool covered;
    mutex_lock(&w->lock, 0);
    int rc = split_around(w, start, end);
    unsigned count = rc ? 0 : collect_parts(w, start, end, parts, PARTS_PER_ROUND, &covered);
    if (!rc && (!covered || count == PARTS_PER_ROUND))
        rc = ENOMEM;
    bool gains_write = false;
    for (unsigned i = 0; !rc && i < count; i++) {
        struct region *r = parts[i].region;
        gains_write |= (prot & PROT_WRITE) && !(r->prot & PROT_WRITE);
        r->prot = prot;
        if (mprotect(r->start, r->pages * WINDOW_PAGE, prot))
            rc = errno;
    }
    mutex_unlock(&w->lock);
    /* Ranges mapped read-only would take stores without a fault, and so without marking their entries dirty. */
    if (!rc && gains_write)
        unmap_parts(w, parts, count);
    for (unsigned i = 0; i < count; i++)
        region_put(w, parts[i].region);
    return rc;
}

/* Puts the pages of one part into place ahead of use, as far as the budget allows without waiting. */
static void prefault_part(struct window *w, const struct region_part *part)
{
    uint64_t end = part->first_page + part->pages;
    for (uint64_t page = part->first_page; page < end;) {
        struct fault_request req = {.w = w, .region = part->region};
        int rc = ranges_fault(&req, page);
        if (rc == EBUSY) {
            mutex_lock(&w->lock, 0);
            w->waiting--;
            mutex_unlock(&w->lock);
            /* This path holds no FAULTLOCK, so it may reclaim inline (R8). */
            if (window_reclaim(w, 1))
                continue;
        }
        if (rc)
            return;
        page = (uint64_t)(req.mapped - part->region->start) / WINDOW_PAGE + part->region->first_page +
               req.mapped_len / WINDOW_PAGE;
    }
}

int window_advise(struct window *w, void *addr, size_t length, int advice)
{
    const char *start, *end;
    if (page_range(addr, length, &start, &end))
        return EINVAL;
    if (advice == MADV_NORMAL || advice == MADV_RANDOM || advice == MADV_SEQUENTIAL)
        return 0;
    if (advice != MADV_DONTNEED && advice != MADV_WILLNEED)
        return EINVAL;
    struct region_part parts[PARTS_PER_ROUND];
    bool covered;
    mutex_lock(&w->lock, 0);
    unsigned count = collect_parts(w, start, end, parts, PARTS_PER_ROUND, &covered);
    mutex_unlock(&w->lock);
    if (advice == MADV_DONTNEED)
        unmap_parts(w, parts, count);
    for (unsigned i = 0; i < count; i++) {
        if (advice == MADV_WILLNEED)
            prefault_part(w, &parts[i]);
        region_put(w, parts[i].region);
    }
    return covered ? 0 : ENOMEM;
}

/* The one region holding all of [addr, addr+length), with a reference. */
static struct region *whole_region(struct window *w, void *addr, size_t length, uint64_t *offset)
{
    mutex_lock(&w->lock, 0);
    struct region *r = length ? region_at(w, addr) : NULL;
    if (r && (size_t)(region_end(r) - (char *)addr) >= length) {
        r->refs++;
        *offset = r->first_page * WINDOW_PAGE + (uint64_t)((char *)addr - r->start);
    } else {
        r = NULL;
    }
    mutex_unlock(&w->lock);
    return r;
}

int window_pin(struct window *w, void *addr, size_t length, bool write)
{
    uint64_t offset;
    struct region *r = whole_region(w, addr, length, &offset);
    if (!r)
        return EFAULT;
    int rc = write && !(r->prot & PROT_WRITE) ? EACCES : dax_pin_range(w->fs, r->inode, offset, length, write);
    region_put(w, r);
    return rc;
}

int window_unpin(struct window *w, void *addr, size_t length)
{
    uint64_t offset;
    struct region *r = whole_region(w, addr, length, &offset);
    if (!r)
        return EFAULT;
    dax_unpin_range(r->inode, offset, length);
    region_put(w, r);
    mutex_lock(&w->lock, 0);
    pthread_cond_signal(&w->reclaim_wanted);
    mutex_unlock(&w->lock);
    return 0;
}

void window_get_stats(struct window *w, struct window_stats *st)
{
    mutex_lock(&w->lock, 0);
    *st = w->stats;
    st->budget = w->budget;
    st->live = w->live;
    mutex_unlock(&w->lock);
}

void window_close(struct window *w)
{
    if (w->uffd >= 0) {
        reclaimer_stop(w);
        service_stop(w);
    }
    for (;;) {
        mutex_lock(&w->lock, 0);
        Word_t index = 0;
        PWord_t slot = (PWord_t)JudyLFirst(w->regions, &index, NULL);
        struct region *r = slot && slot != PJERR ? (struct region *)*slot : NULL;
        if (r)
            region_unmap_locked(w, r);
        mutex_unlock(&w->lock);
        if (!r)
            break;
        region_put(w, r);
    }
    w->fs->unmap_entry = NULL;
    w->fs->unmap_ctx = NULL;
    if (w->uffd >= 0)
        close(w->uffd);
    munmap(w->zeros, WINDOW_HUGE);
    pthread_cond_destroy(&w->range_freed);
    pthread_cond_destroy(&w->reclaim_wanted);
    mutex_destroy(&w->lock);
    mutex_destroy(&w->service_lock);
    free(w);
}
