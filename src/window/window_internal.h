/* window_internal.h: the window's state, shared by its reservations (window.c), ranges (ranges.c) and fault service (uffd.c). */
#ifndef UDAX_WINDOW_INTERNAL_H
#define UDAX_WINDOW_INTERNAL_H

#include <Judy.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "window.h"

#define WINDOW_PAGE 4096ul
#define WINDOW_HUGE (2ul << 20)
#define WINDOW_MAX_SERVICE_THREADS 64

/* One udax_mmap reservation, or part of one after munmap or mprotect split it. */
struct region {
    char *start;
    uint64_t pages;
    uint64_t first_page; /* file page mapped at start */
    int prot;
    struct inode *inode; /* a reference */
    Pvoid_t ranges;      /* JudyL: file page where a range starts -> struct range */
    uint64_t refs;       /* the window's index and each fault in flight; under the window lock */
    bool dead;           /* unmapped: nothing may be put into it any more */
};

/* Pool blocks, or zero pages for a hole, put into a region by one fault. */
struct range {
    struct region *region;
    uint64_t page; /* file page */
    uint64_t pages;
    uint64_t key;  /* the DAX entry that owns the pages */
    bool zero;
    struct range *next_of_entry;
    struct range *lru_prev, *lru_next;
};

struct window {
    struct fs *fs;
    int uffd;
    int stop_fd;
    struct mutex lock;  /* leaf: regions, ranges and the budget; held across the system calls that change mappings */
    Pvoid_t regions;    /* JudyL: start address -> struct region */
    Pvoid_t owners;     /* JudyL: inode address -> JudyL: entry key -> first struct range of that entry */
    struct range lru;   /* sentinel: least recently used first */
    uint64_t budget;
    uint64_t live;
    uint64_t frees;     /* ranges freed so far: a fault that saw none free waits for this to move */
    uint64_t waiting;   /* faults waiting for a range */
    uint64_t over_budget; /* ranges let in beyond the budget because every live one was pinned or busy */
    pthread_cond_t range_freed;
    pthread_cond_t reclaim_wanted;
    bool stopping;
    pthread_t reclaimer;
    char *zeros;        /* 2 MiB that read as zero: the source of zero pages */
    struct window_stats stats;

    struct mutex service_lock; /* leaf: the service threads below */
    pthread_t service[WINDOW_MAX_SERVICE_THREADS];
    unsigned service_threads;
    unsigned service_idle;
};

/*
 * mmap and mremap as plain system calls. ThreadSanitizer takes a mapping made
 * by a service thread for a write racing with the application's access to
 * it, since it cannot see the userfaultfd wake-up that orders the two.
 */
static inline void *raw_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    return (void *)syscall(SYS_mmap, addr, length, prot, flags, fd, offset);
}

static inline void *raw_mremap(void *old, size_t old_length, size_t length, int flags, void *target)
{
    return (void *)syscall(SYS_mremap, old, old_length, length, flags, target);
}

/* Under the window lock. */
struct region *region_at(struct window *w, const void *addr);
void region_put(struct window *w, struct region *r);
static inline char *region_addr(const struct region *r, uint64_t page)
{
    return r->start + (page - r->first_page) * WINDOW_PAGE;
}

/* ranges.c, under the window lock unless said otherwise. */
struct range *range_covering(struct region *r, uint64_t page);
/* The range of r covering page, else the first starting in [page, page+pages); NULL if none. */
struct range *range_meeting(struct region *r, uint64_t page, uint64_t pages);
/* Unmaps range from the address space and forgets it; frees a place in the budget. */
void range_take_down(struct window *w, struct range *range);
/* Forgets range without touching the address space: its region is being unmapped whole. */
void range_forget(struct window *w, struct range *range);
/* The window's entry_unmap_fn: takes down every range of entry key of inode object. Takes the window lock. */
void ranges_unmap_entry(void *window, void *object, uint64_t key);
int reclaimer_start(struct window *w);
void reclaimer_stop(struct window *w);

/* What a fault asks of a region. */
struct fault_request {
    struct window *w;
    struct region *region;
    bool write;
    uint64_t frees_seen; /* set when no range was free */
    char *mapped;        /* set when pages were put into place: the addresses to wake */
    size_t mapped_len;
};
/* Serves a fault at page of region (FAULTLOCK and entry through the DAX layer): 0, EBUSY (no range free), or an errno. */
int ranges_fault(struct fault_request *req, uint64_t page);
/* R8: with no lock held, waits until a range is freed after frees_seen. */
void ranges_wait_for_free(struct window *w, uint64_t frees_seen);

/* uffd.c */
/* Starts a window thread with every signal blocked: signals belong to the application's threads. */
int window_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);
/* 0, or -1 with errno and the message set. */
int uffd_open(struct window *w);
int uffd_register(struct window *w, void *start, size_t length);
/* Puts a fresh reservation over [start, start+length) in one step, so that no access sees it unregistered. */
int uffd_replace_with_reservation(struct window *w, void *start, size_t length, int prot);
int uffd_zero_pages(struct window *w, void *start, size_t length);
int service_start(struct window *w);
void service_stop(struct window *w);

#endif
