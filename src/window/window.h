/*
 * window.h: the window layer: address-space reservations for udax_mmap, the
 * pool ranges put into them by faults, the budget of live ranges with its
 * reclaim, and the userfaultfd service threads (DESIGN.md section 2).
 */
#ifndef UDAX_WINDOW_H
#define UDAX_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inode/inode.h"

struct window;

/* Default budget of live ranges: a quarter of Linux's default vm.max_map_count, since a range may split a VMA. */
#define WINDOW_DEFAULT_RANGES 16384u

/* The window of a pool; the userfaultfd and the threads start with the first mapping. 0 or ENOMEM. */
int window_open(struct window **out, struct fs *fs, uint64_t budget);
/* The calls below return 0 or an errno, except window_map. */
/* Takes down every mapping and stops the threads; no thread may touch a mapping any more. */
void window_close(struct window *w);

/* udax_mmap of [offset, offset+length) of inode; flags as mmap(2), MAP_SHARED only. 0, or -1 with errno and the message set. */
int window_map(struct window *w, struct inode *inode, void *addr, size_t length, int prot, int flags, uint64_t offset,
               void **out);
int window_unmap(struct window *w, void *addr, size_t length);
int window_sync(struct window *w, void *addr, size_t length);
int window_protect(struct window *w, void *addr, size_t length, int prot);
int window_advise(struct window *w, void *addr, size_t length, int advice);
int window_pin(struct window *w, void *addr, size_t length, bool write);
int window_unpin(struct window *w, void *addr, size_t length);

/*
 * Serves a fault at the page-aligned addr of a mapping, as a service thread
 * does for the kernel: the DAX fault, the range put into place, and (R8) when
 * no range is free, dropping every lock, waiting for one and retrying. 0 with
 * the addresses put into place (none if addr is no longer mapped), or the
 * errno that becomes SIGBUS.
 */
int window_fault_at(struct window *w, const void *addr, bool write, char **mapped, size_t *mapped_len);

/*
 * Before [start, start+length) can fault into a window: adds it to the span
 * that window_span_overlaps checks, and, when the span grows, waits for the
 * read-side sections that may have checked it before.
 */
void window_span_cover(const void *start, size_t length);

extern uintptr_t window_span_low, window_span_high;

/*
 * Inside a read-side section: whether [start, start+length) may overlap a udax
 * mapping of any pool of this process, whose fault may wait for a grace
 * period (util/rcu.h). false is certain for as long as the section lasts.
 */
static inline bool window_span_overlaps(const void *start, size_t length)
{
    uintptr_t first = (uintptr_t)start, end = first + length < first ? UINTPTR_MAX : first + length;
    return first < __atomic_load_n(&window_span_high, __ATOMIC_RELAXED) &&
           end > __atomic_load_n(&window_span_low, __ATOMIC_RELAXED);
}

/* Reclaims up to count idle ranges, least recently used first; the caller holds no FAULTLOCK (R8). */
uint64_t window_reclaim(struct window *w, uint64_t count);

struct window_stats {
    uint64_t budget;
    uint64_t live;        /* ranges mapped now */
    uint64_t faults;      /* faults served */
    uint64_t huge_faults; /* of which mapped 2 MiB */
    uint64_t backoffs;    /* faults that found no free range, dropped their locks and waited (R8) */
    uint64_t reclaimed;
    uint64_t over_budget; /* ranges let in beyond the budget because every live one was pinned or busy */
};
void window_get_stats(struct window *w, struct window_stats *st);

#endif
