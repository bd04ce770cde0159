/* dax.h: the DAX layer's calls: the fault path, pins, invalidation, breaking layouts and writeback. */
#ifndef UDAX_DAX_H
#define UDAX_DAX_H

#include <stdbool.h>
#include <stdint.h>

#include "entry.h"
#include "inode/inode.h"

#define DAX_FAULT_WRITE 0x1
#define DAX_FAULT_HUGE 0x2 /* ask for the 2 MiB entry around the page */
#define DAX_FAULT_PIN 0x4  /* take a pin on the pages before the entry is unlocked */

/* What a fault maps: pages starting at page, backed by addr in the pool, or by the zero page when addr is NULL. */
struct dax_fault_result {
    uint64_t page;
    uint64_t pages;
    void *addr;
    uint64_t key; /* the entry that owns the pages */
};

/*
 * Puts a fault's result into place (the window layer), called with FAULTLOCK
 * shared and the entry held, so that no invalidation can pass in between.
 * 0 with *writable telling whether stores can now reach the pages without
 * another fault; or an errno that dax_fault returns after dropping its locks
 * (R8).
 */
typedef int (*dax_install_fn)(void *arg, const struct dax_fault_result *r, bool *writable);

/* The DAX layer's side of the file layer's mapping interface; udax_pool_open installs it. */
extern const struct mapping_ops dax_mapping_ops;

/* The inode's entries, made on first use; NULL when out of memory. */
struct dax_mapping *dax_mapping_of(struct fs *fs, struct inode *inode);

/*
 * The fault path (R1): FAULTLOCK shared, then the entry, then the blocks
 * through file_iomap_begin. Never IOLOCK. 0; ENXIO past the end of the file
 * (SIGBUS); EAGAIN for a 2 MiB fault that must fall back to 4 KiB; ENOSPC;
 * ENOMEM; EOVERFLOW when a page has too many pins.
 */
int dax_fault(struct fs *fs, struct inode *inode, uint64_t offset, unsigned flags, struct dax_fault_result *out);
/* dax_fault that also puts the result into place with install before the entry is unlocked. */
int dax_fault_install(struct fs *fs, struct inode *inode, uint64_t offset, unsigned flags,
                      struct dax_fault_result *out, dax_install_fn install, void *arg);

/*
 * Takes down the window ranges of the entry at key (reclaim, madvise):
 * FAULTLOCK exclusive, then the entry. With skip_busy, EBUSY at once for an
 * entry that is locked or pinned; otherwise waits for it. ENOENT when the
 * entry is gone, and its ranges with it. The caller holds no FAULTLOCK (R8).
 */
int dax_unmap_entry(struct fs *fs, struct inode *inode, uint64_t key, bool skip_busy);

/* msync: flushes the dirty entries meeting [first, first+count) and fences. */
void dax_writeback_range(struct fs *fs, struct inode *inode, uint64_t first, uint64_t count);

/*
 * Pins the pages of [offset, offset+len) for zero-copy I/O, faulting them in
 * for writing where write is set. Takes IOLOCK shared while it pins, so that
 * no pin starts while a layout is being broken (R9). 0 or an errno of
 * dax_fault; nothing stays pinned on failure.
 */
int dax_pin_range(struct fs *fs, struct inode *inode, uint64_t offset, uint64_t len, bool write);
void dax_unpin_range(struct inode *inode, uint64_t offset, uint64_t len);

/* Breaks layouts over [first, first+count) (R9); returns holding FAULTLOCK exclusive, with no entry left there. */
void dax_break_layouts(struct inode *inode, uint64_t first, uint64_t count);

#endif
