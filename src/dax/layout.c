/* layout.c: what the file layer asks of the DAX layer: invalidation, breaking layouts (R9), writeback, release. */
#include "dax.h"
#include "util/hooks.h"
#include "util/inject_bug.h"

static struct dax_mapping *mapping_if_any(struct inode *inode)
{
    return __atomic_load_n(&inode->mapping, __ATOMIC_ACQUIRE);
}

static void invalidate(struct inode *inode, uint64_t first, uint64_t count)
{
    struct dax_mapping *m = mapping_if_any(inode);
    if (m)
        entry_delete_range(m, first, count, true);
}

/*
 * Under IOLOCK exclusive, so no new pin can start. Each round takes FAULTLOCK
 * exclusive and scans; to wait for a pin it drops FAULTLOCK only, because the
 * pinning thread may need a fault to finish. A pin seen in one round is gone
 * in the next, and no pin starts meanwhile: the rounds are bounded by the
 * pins outstanding at the start, plus one.
 */
void dax_break_layouts(struct inode *inode, uint64_t first, uint64_t count)
{
    uint64_t round = 0;
    for (;;) {
        rwlock_write(&inode->faultlock, inode->ino);
        hook_point("break_layouts_round", inode, round++);
        struct dax_mapping *m = mapping_if_any(inode);
        uint64_t key;
        if (!m || !entry_busy_scan(m, first, count, &key))
            break;
        rwlock_unlock(&inode->faultlock);
        if (BUG_INJECTED(BUG_S5))
            rwlock_unlock(&inode->iolock);
        hook_point("break_layouts_wait", inode, key);
        entry_wait_unpinned(m, key);
        if (BUG_INJECTED(BUG_S5))
            rwlock_write(&inode->iolock, inode->ino);
    }
    struct dax_mapping *m = mapping_if_any(inode);
    if (m)
        entry_delete_range(m, first, count, false);
}

static void end_break(struct inode *inode)
{
    rwlock_unlock(&inode->faultlock);
}

static void flush_blocks(void *arg, uint64_t block, uint64_t pages)
{
    struct fs *fs = arg;
    persist_flush(&fs->pool.pm, pool_block(&fs->pool, block), pages << UDAX_BLOCK_SHIFT);
}

void dax_writeback_range(struct fs *fs, struct inode *inode, uint64_t first, uint64_t count)
{
    struct dax_mapping *m = mapping_if_any(inode);
    if (!m)
        return;
    entry_writeback_range(m, first, count, flush_blocks, fs);
    persist_fence(&fs->pool.pm);
}

static void writeback(struct fs *fs, struct inode *inode)
{
    dax_writeback_range(fs, inode, 0, UINT64_MAX);
}

static void release(struct inode *inode)
{
    dax_mapping_free(inode->mapping);
}

const struct mapping_ops dax_mapping_ops = {
    .invalidate = invalidate,
    .break_layouts = dax_break_layouts,
    .end_break = end_break,
    .writeback = writeback,
    .release = release,
};
