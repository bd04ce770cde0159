/* fault.c: the DAX fault path and pins: FAULTLOCK shared, the entry, then blocks from the file layer. */
#include <errno.h>

#include "dax.h"
#include "file/file.h"
#include "util/hooks.h"
#include "util/inject_bug.h"

struct dax_mapping *dax_mapping_of(struct fs *fs, struct inode *inode)
{
    struct dax_mapping *m = __atomic_load_n(&inode->mapping, __ATOMIC_ACQUIRE);
    if (m)
        return m;
    struct dax_mapping *fresh = dax_mapping_new();
    if (!fresh)
        return NULL;
    dax_mapping_set_unmap(fresh, fs->unmap_entry, fs->unmap_ctx, inode);
    if (__atomic_compare_exchange_n(&inode->mapping, &m, fresh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return fresh;
    dax_mapping_free(fresh);
    return m;
}

/* With the entry held: gives an empty or zero entry its blocks, or the zero page for a read of a hole. */
static int fill_entry(struct fs *fs, struct inode *inode, struct dax_mapping *m, struct entry_ref *e, bool write)
{
    uint64_t pages = entry_pages(e->word);
    struct iomap map;
    if (BUG_INJECTED(BUG_S4))
        rwlock_read(&inode->iolock, inode->ino);
    int rc = file_iomap_begin(fs, inode, e->key, pages, write ? IOMAP_ALLOCATE : 0, &map);
    if (BUG_INJECTED(BUG_S4))
        rwlock_unlock(&inode->iolock);
    if (rc)
        return rc;
    /* A 2 MiB entry needs 2 MiB of hole, or of contiguous, 2 MiB-aligned blocks. */
    if (map.count < pages || (map.mapped && (map.block & (pages - 1))))
        return EAGAIN;
    if (!map.mapped) {
        entry_fill(m, e, ENTRY_ZERO, 0);
        return 0;
    }
    entry_fill(m, e, ENTRY_BLOCK, map.block);
    return 0;
}

int dax_fault(struct fs *fs, struct inode *inode, uint64_t offset, unsigned flags, struct dax_fault_result *out)
{
    return dax_fault_install(fs, inode, offset, flags, out, NULL, NULL);
}

int dax_fault_install(struct fs *fs, struct inode *inode, uint64_t offset, unsigned flags,
                      struct dax_fault_result *out, dax_install_fn install, void *arg)
{
    struct dax_mapping *m = dax_mapping_of(fs, inode);
    if (!m)
        return ENOMEM;
    bool huge = flags & DAX_FAULT_HUGE, write = flags & DAX_FAULT_WRITE;
    uint64_t page = offset >> UDAX_BLOCK_SHIFT;
    if (huge)
        page &= ~(uint64_t)(ENTRY_HUGE_PAGES - 1);
    rwlock_read(&inode->faultlock, inode->ino);
    struct entry_ref e;
    int rc = entry_grab(m, page, huge, &e);
    if (rc) {
        rwlock_unlock(&inode->faultlock);
        return rc;
    }
    hook_point("fault_before_iomap", inode, page);
    enum entry_kind kind = entry_kind(e.word);
    if (kind == ENTRY_ZERO && write)
        entry_unmap_locked(m, &e); /* its zero pages must not outlive the hole */
    if (kind == ENTRY_EMPTY || (kind == ENTRY_ZERO && write))
        rc = fill_entry(fs, inode, m, &e, write);
    if (rc && kind == ENTRY_EMPTY) {
        /* The placeholder this fault made serves nobody: past the end of the file, or a 2 MiB fault falling back. */
        entry_remove_locked(m, &e);
        rwlock_unlock(&inode->faultlock);
        return rc;
    }
    if (!rc && write && !(e.word & ENTRY_DIRTY))
        entry_mark_dirty(m, &e);
    if (!rc && (flags & DAX_FAULT_PIN))
        rc = entry_pin(m, &e);
    if (!rc) {
        /* A 4 KiB fault served by a 2 MiB entry maps only its own page. */
        uint64_t first = huge || !(e.word & ENTRY_HUGE) ? e.key : page;
        uint64_t block = entry_block(e.word) + (first - e.key);
        *out = (struct dax_fault_result){
            .page = first,
            .pages = huge ? entry_pages(e.word) : 1,
            .addr = entry_kind(e.word) == ENTRY_BLOCK ? pool_block(&fs->pool, block) : NULL,
            .key = e.key,
        };
        bool writable = false;
        if (install)
            rc = install(arg, out, &writable);
        if (install && !rc)
            entry_mark_mapped(m, &e, writable);
    }
    entry_unlock(m, &e);
    rwlock_unlock(&inode->faultlock);
    return rc;
}

int dax_pin_range(struct fs *fs, struct inode *inode, uint64_t offset, uint64_t len, bool write)
{
    if (!len)
        return 0;
    uint64_t first = offset >> UDAX_BLOCK_SHIFT, last = (offset + len - 1) >> UDAX_BLOCK_SHIFT;
    hook_point("pin_begin", inode, first);
    rwlock_read(&inode->iolock, inode->ino);
    int rc = 0;
    uint64_t page = first;
    for (; page <= last && !rc; page++) {
        struct dax_fault_result r;
        rc = dax_fault(fs, inode, page << UDAX_BLOCK_SHIFT, DAX_FAULT_PIN | (write ? DAX_FAULT_WRITE : 0), &r);
    }
    rwlock_unlock(&inode->iolock);
    uint64_t pinned = page - 1 - first;
    if (rc && pinned)
        dax_unpin_range(inode, first << UDAX_BLOCK_SHIFT, pinned << UDAX_BLOCK_SHIFT);
    return rc;
}

int dax_unmap_entry(struct fs *fs, struct inode *inode, uint64_t key, bool skip_busy)
{
    struct dax_mapping *m = dax_mapping_of(fs, inode);
    if (!m)
        return ENOMEM;
    hook_point("unmap_entry_faultlock", inode, key);
    rwlock_write(&inode->faultlock, inode->ino);
    struct entry_ref e;
    int rc = entry_lock_key(m, key, skip_busy, &e);
    if (!rc) {
        entry_unmap_locked(m, &e);
        entry_unlock(m, &e);
    }
    rwlock_unlock(&inode->faultlock);
    return rc;
}

void dax_unpin_range(struct inode *inode, uint64_t offset, uint64_t len)
{
    struct dax_mapping *m = __atomic_load_n(&inode->mapping, __ATOMIC_ACQUIRE);
    if (!m || !len)
        return;
    for (uint64_t page = offset >> UDAX_BLOCK_SHIFT; page <= (offset + len - 1) >> UDAX_BLOCK_SHIFT; page++)
        entry_unpin(m, page);
}
