/* file.c: the data path: copies between callers and pool blocks, block allocation, and size changes. */
#include "file.h"
#include "inode/attr_change.h"
#include "util/hooks.h"
#include "util/fence.h"
#include "util/inject_bug.h"
#include "util/seqcount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udax.h"

#define PAGE_SIZE_BYTES UDAX_BLOCK_SIZE
#define MAX_FILE_SIZE ((uint64_t)INT64_MAX)

static uint64_t page_of(uint64_t offset)
{
    return offset >> UDAX_BLOCK_SHIFT;
}

/* The first page that starts at or after byte offset. */
static uint64_t page_ceil(uint64_t offset)
{
    return page_of(offset + PAGE_SIZE_BYTES - 1);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    return total;
}

/* A cursor over the caller's buffers. */
struct iov_cursor {
    const struct iovec *iov;
    int left;
    size_t skip;
};

static void cursor_advance(struct iov_cursor *c, size_t len)
{
    while (len) {
        size_t here = c->iov->iov_len - c->skip;
        if (len < here) {
            c->skip += len;
            return;
        }
        len -= here;
        c->iov++;
        c->left--;
        c->skip = 0;
    }
}

static void copy_to_pool(const struct fs *fs, struct iov_cursor *c, char *dst, size_t len)
{
    while (len) {
        while (c->iov->iov_len == c->skip) {
            c->iov++;
            c->left--;
            c->skip = 0;
        }
        size_t n = min_u64(len, c->iov->iov_len - c->skip);
        persist_copy(&fs->pool.pm, dst, (const char *)c->iov->iov_base + c->skip, n);
        cursor_advance(c, n);
        dst += n;
        len -= n;
    }
}

static void copy_from_pool(struct iov_cursor *c, const char *src, size_t len)
{
    while (len) {
        while (c->iov->iov_len == c->skip) {
            c->iov++;
            c->left--;
            c->skip = 0;
        }
        size_t n = min_u64(len, c->iov->iov_len - c->skip);
        char *dst = (char *)c->iov->iov_base + c->skip;
        if (src) {
            memcpy(dst, src, n);
            src += n;
        } else {
            memset(dst, 0, n);
        }
        cursor_advance(c, n);
        len -= n;
    }
}

static bool lookup(struct inode *inode, uint64_t page, uint64_t *block, uint64_t *run)
{
    inode_lock(inode);
    bool mapped = extent_lookup(&inode->extents, page, block, run);
    inode_unlock(inode);
    return mapped;
}

/* ILOCK, not IOLOCK, guards the extent index: write faults fill holes holding only ILOCK. */
static uint64_t mapped_pages(struct inode *inode, uint64_t page, uint64_t count)
{
    inode_lock(inode);
    uint64_t mapped = extent_mapped_pages(&inode->extents, page, count);
    inode_unlock(inode);
    return mapped;
}

static uint64_t current_size(struct inode *inode)
{
    inode_lock(inode);
    uint64_t size = inode->attr.size;
    inode_unlock(inode);
    return size;
}

/* What lookup said of one page, taken while ILOCK was held for something else. */
struct page_lookup {
    bool mapped;
    uint64_t block;
    uint64_t run;
};

/*
 * Under IOLOCK exclusive, one ILOCK for what a write asks first: the size,
 * and the mapping of the page that holds the write's first byte, *offset or,
 * for append, the size itself.
 */
static uint64_t size_and_first_page(struct inode *inode, bool append, uint64_t *offset, struct page_lookup *first)
{
    inode_lock(inode);
    uint64_t size = inode->attr.size;
    if (append)
        *offset = size;
    first->mapped = extent_lookup(&inode->extents, page_of(*offset), &first->block, &first->run);
    inode_unlock(inode);
    return size;
}

/*
 * Under one ILOCK: the size a read sees, and the extent of its first page.
 * The read moves atime as relatime says, logged with the next fsync or close.
 */
static uint64_t begin_read(struct inode *inode, uint64_t page, bool noatime, bool *mapped, uint64_t *block,
                           uint64_t *run)
{
    int64_t now = noatime ? 0 : now_coarse_ns();
    inode_lock(inode);
    uint64_t size = inode->attr.size;
    if (!noatime && inode_atime_due(inode, now)) {
        inode->attr.atime_ns = now;
        __atomic_store_n(&inode->times_unlogged, true, __ATOMIC_RELAXED);
    }
    *mapped = extent_lookup(&inode->extents, page, block, run);
    inode_unlock(inode);
    return size;
}

bool file_read_lockless_plan(struct fs *fs, struct inode *inode, size_t count, uint64_t offset, bool noatime,
                             struct lockless_read *read)
{
    read->io_seq = __atomic_load_n(&inode->io_seq, __ATOMIC_ACQUIRE);
    read->layout_seq = __atomic_load_n(&inode->layout_seq, __ATOMIC_ACQUIRE);
    read->noatime = noatime;
    if ((read->io_seq | read->layout_seq) % 2)
        return false;
    uint64_t size = __atomic_load_n(&inode->attr.size, __ATOMIC_RELAXED);
    read->source = NULL;
    read->count = offset < size ? min_u64(count, size - offset) : 0;
    if (read->count) {
        uint64_t in_page = offset & (PAGE_SIZE_BYTES - 1);
        struct extent_run run =
            extent_lookup_lockless(&inode->extents, page_of(offset), &inode->layout_seq, read->layout_seq);
        if (!run.pages || read->count > run.pages * PAGE_SIZE_BYTES - in_page)
            return false;
        read->source = (const char *)pool_block(&fs->pool, run.block) + in_page;
    }
    return file_lockless_unchanged(inode, read);
}

bool file_read_lockless_stands(const struct inode *inode, const struct lockless_read *read)
{
    return file_lockless_unchanged(inode, read) && (read->noatime || !inode_atime_due(inode, now_seconds_ns()));
}

bool file_lockless_unchanged(const struct inode *inode, const struct lockless_read *read)
{
    if (BUG_INJECTED(BUG_LOCKLESS_UNCHECKED))
        return true;
    return seq_unchanged(&inode->io_seq, read->io_seq) && seq_unchanged(&inode->layout_seq, read->layout_seq);
}

ssize_t file_read(struct fs *fs, struct inode *inode, const struct iovec *iov, int iovcnt, uint64_t offset,
                  bool noatime)
{
    size_t count = iov_total(iov, iovcnt);
    uint64_t block = 0, run;
    bool mapped;
    rwlock_read(&inode->iolock, inode->ino);
    uint64_t size = begin_read(inode, page_of(offset), noatime, &mapped, &block, &run);
    if (offset >= size || !count) {
        rwlock_unlock(&inode->iolock);
        return 0;
    }
    count = min_u64(count, size - offset);
    uint64_t in_first_page = offset & (PAGE_SIZE_BYTES - 1);
    /*
     * Most reads land in one extent and one buffer. A read is bound by the
     * memory it copies, and the work between two copies delays the next one's
     * loads (docs/bench.md): this case skips the cursor.
     */
    if (mapped && iovcnt == 1 && count <= run * PAGE_SIZE_BYTES - in_first_page) {
        memcpy(iov->iov_base, (const char *)pool_block(&fs->pool, block) + in_first_page, count);
        rwlock_unlock(&inode->iolock);
        return (ssize_t)count;
    }
    struct iov_cursor c = {iov, iovcnt, 0};
    for (uint64_t pos = offset; pos < offset + count;) {
        if (pos != offset)
            mapped = lookup(inode, page_of(pos), &block, &run);
        uint64_t in_page = pos & (PAGE_SIZE_BYTES - 1);
        uint64_t span = run > (MAX_FILE_SIZE >> UDAX_BLOCK_SHIFT) ? MAX_FILE_SIZE : run * PAGE_SIZE_BYTES - in_page;
        uint64_t n = min_u64(span, offset + count - pos);
        copy_from_pool(&c, mapped ? (const char *)pool_block(&fs->pool, block) + in_page : NULL, n);
        pos += n;
    }
    rwlock_unlock(&inode->iolock);
    return (ssize_t)count;
}

/* Data allocations leave this many blocks so that unlink and rmdir still find log space on a full pool. */
static uint64_t metadata_reserve(const struct fs *fs)
{
    uint64_t reserve = fs->alloc.block_count / 256;
    return reserve < 16 ? 16 : reserve > 1024 ? 1024 : reserve;
}

static int alloc_data(struct fs *fs, uint64_t want, bool huge, uint64_t *block, uint64_t *count)
{
    if (!alloc_free_above(&fs->alloc, metadata_reserve(fs)))
        return ENOSPC;
    return alloc_extent(&fs->alloc, want, huge, block, count);
}

static bool has_mapping(struct fs *fs, struct inode *inode);

/* One piece of a write: file pages written in place, or given new blocks. */
struct segment {
    uint64_t page;
    uint64_t count;
    uint64_t block;
    bool fresh;        /* new blocks, committed by an extent entry */
    bool has_old;      /* fresh blocks replacing mapped ones, whose bytes outside the write survive */
    uint64_t old_block;
};

/* Most writes plan one or two segments: those live in the plan itself, and only longer plans go to the heap. */
#define PLAN_INLINE_SEGMENTS 4

struct plan {
    struct segment *segments;
    size_t count;
    size_t capacity;
    struct segment inline_segments[PLAN_INLINE_SEGMENTS];
};

/* Sets only what says the plan is empty: every write would otherwise zero its 192 bytes of inline segments. */
static void plan_init(struct plan *plan)
{
    plan->segments = NULL;
    plan->count = 0;
    plan->capacity = 0;
}

static int plan_add(struct plan *plan, struct segment segment)
{
    if (!plan->capacity) {
        plan->segments = plan->inline_segments;
        plan->capacity = PLAN_INLINE_SEGMENTS;
    } else if (plan->count == plan->capacity) {
        size_t capacity = plan->capacity * 2;
        bool on_heap = plan->segments != plan->inline_segments;
        struct segment *grown = on_heap ? realloc(plan->segments, capacity * sizeof(*grown))
                                        : malloc(capacity * sizeof(*grown));
        if (!grown)
            return ENOMEM;
        if (!on_heap)
            memcpy(grown, plan->segments, plan->count * sizeof(*grown));
        plan->segments = grown;
        plan->capacity = capacity;
    }
    plan->segments[plan->count++] = segment;
    return 0;
}

static void plan_free(struct plan *plan)
{
    if (plan->segments != plan->inline_segments)
        free(plan->segments);
}

static void plan_release(struct fs *fs, struct plan *plan)
{
    for (size_t i = 0; i < plan->count; i++)
        if (plan->segments[i].fresh)
            alloc_free(&fs->alloc, plan->segments[i].block, plan->segments[i].count);
    plan_free(plan);
    plan_init(plan);
}

/*
 * Gives pages [page, page+count) new blocks. A file that has grown past its
 * first 2 MiB into a chunk that is still a hole gets that whole chunk,
 * 2 MiB-aligned, so that later appends land in it and mappings can use 2 MiB
 * pages; a sparse write far past the end gets only its own pages.
 */
static int plan_fresh(struct fs *fs, struct inode *inode, struct plan *plan, uint64_t page, uint64_t count,
                      bool mapped, uint64_t old_block, uint64_t old_size)
{
    while (count) {
        uint64_t chunk_start = page & ~(UDAX_BLOCKS_PER_HUGE - 1);
        /* Segments come in page order; the chunk's earlier pages may already be planned, yet not in the index. */
        const struct segment *tail = plan->count ? &plan->segments[plan->count - 1] : NULL;
        bool whole_chunk = !mapped && page >= UDAX_BLOCKS_PER_HUGE && (chunk_start << UDAX_BLOCK_SHIFT) <= old_size &&
                           (!tail || tail->page + tail->count <= chunk_start) &&
                           !mapped_pages(inode, chunk_start, UDAX_BLOCKS_PER_HUGE);
        uint64_t block, got;
        int rc;
        if (whole_chunk && (rc = alloc_data(fs, UDAX_BLOCKS_PER_HUGE, true, &block, &got)) == 0) {
            if (got == UDAX_BLOCKS_PER_HUGE) {
                uint64_t written = min_u64(count, chunk_start + UDAX_BLOCKS_PER_HUGE - page);
                rc = plan_add(plan, (struct segment){.page = chunk_start, .count = got, .block = block, .fresh = true});
                if (rc) {
                    alloc_free(&fs->alloc, block, got);
                    return rc;
                }
                page += written;
                count -= written;
                continue;
            }
            alloc_free(&fs->alloc, block, got);
        }
        bool huge = (page & (UDAX_BLOCKS_PER_HUGE - 1)) == 0 && count >= UDAX_BLOCKS_PER_HUGE;
        rc = alloc_data(fs, huge ? UDAX_BLOCKS_PER_HUGE : count, huge, &block, &got);
        if (rc)
            return rc;
        rc = plan_add(plan, (struct segment){.page = page, .count = got, .block = block, .fresh = true,
                                             .has_old = mapped, .old_block = old_block});
        if (rc) {
            alloc_free(&fs->alloc, block, got);
            return rc;
        }
        page += got;
        count -= got;
        old_block += got;
    }
    return 0;
}

/*
 * Decides, page run by page run, where the bytes of [offset, end) go. Mapped
 * pages are written in place in fast mode, and with strict only where the
 * write lies wholly past the old size, which no reader can see until the
 * commit; every other page gets new blocks.
 */
static int plan_write(struct fs *fs, struct inode *inode, uint64_t offset, uint64_t end, uint64_t old_size,
                      bool strict, const struct page_lookup *first, struct plan *plan)
{
    uint64_t page = page_of(offset), last = page_of(end - 1);
    uint64_t first_invisible = old_size <= offset ? page : page_ceil(old_size);
    while (page <= last) {
        uint64_t block = first ? first->block : 0, run = first ? first->run : 0;
        bool mapped = first ? first->mapped : lookup(inode, page, &block, &run);
        first = NULL;
        uint64_t count = min_u64(run, last - page + 1);
        int rc;
        if (mapped && strict && page < first_invisible) {
            count = min_u64(count, first_invisible - page);
            rc = plan_fresh(fs, inode, plan, page, count, true, block, old_size);
        } else if (mapped) {
            rc = plan_add(plan, (struct segment){.page = page, .count = count, .block = block});
        } else {
            rc = plan_fresh(fs, inode, plan, page, count, false, 0, old_size);
        }
        if (rc)
            return rc;
        page += count;
        /* A whole-chunk segment may reach past the pages asked for. */
        const struct segment *tail = &plan->segments[plan->count - 1];
        if (tail->page + tail->count > page)
            page = tail->page + tail->count;
    }
    return 0;
}

/* The end of the page that holds byte size - 1: what a mapping of the file shows. */
static uint64_t page_end(uint64_t size)
{
    return page_ceil(size) << UDAX_BLOCK_SHIFT;
}

/*
 * Fills a segment's pages: the caller's bytes inside [offset, end), old bytes
 * or zeros outside, up to the end of the page that holds the new size. The
 * pages after it are left as they are, which spares an append the zeroing of
 * the 2 MiB chunk it lands in: nothing reads past the size, faults map no
 * page past the one that holds it, and every change that moves the size up
 * zeroes the bytes it uncovers first, to the end of the new last page
 * (zero_past_size). The rest of the page that holds the size stays zero, as
 * mmap(2) shows it.
 */
static void fill_segment(struct fs *fs, const struct segment *s, struct iov_cursor *c, uint64_t offset, uint64_t end,
                         uint64_t old_size)
{
    uint64_t seg_start = s->page << UDAX_BLOCK_SHIFT;
    uint64_t seg_end = seg_start + (s->count << UDAX_BLOCK_SHIFT);
    char *base = pool_block(&fs->pool, s->block);
    uint64_t data_from = offset > seg_start ? offset : seg_start;
    uint64_t data_to = end < seg_end ? end : seg_end;
    uint64_t size_page_end = page_end(end > old_size ? end : old_size);
    if (s->fresh) {
        /* Bytes before the data: old bytes up to the old size, zeros after; likewise behind it. */
        uint64_t ranges[2][2] = {{seg_start, data_from}, {data_to, min_u64(seg_end, size_page_end)}};
        for (int r = 0; r < 2; r++) {
            uint64_t from = ranges[r][0], to = ranges[r][1];
            if (from >= to)
                continue;
            uint64_t old_to = s->has_old ? min_u64(to, old_size > from ? old_size : from) : from;
            if (old_to > from)
                persist_copy(&fs->pool.pm, base + (from - seg_start),
                             (const char *)pool_block(&fs->pool, s->old_block) + (from - seg_start), old_to - from);
            if (to > old_to)
                persist_zero(&fs->pool.pm, base + (old_to - seg_start), to - old_to);
        }
    }
    if (data_to > data_from)
        copy_to_pool(fs, c, base + (data_from - seg_start), data_to - data_from);
    /* A page the file held past its old size, which the new size now ends in. */
    if (!s->fresh && data_to == end && end < size_page_end && (page_of(end) << UDAX_BLOCK_SHIFT) >= old_size)
        persist_zero(&fs->pool.pm, base + (end - seg_start), size_page_end - end);
}

/* Zeroes the mapped bytes of [from, to), which lie past the size: about to become visible, or just cut off. */
static void zero_past_size(struct fs *fs, struct inode *inode, uint64_t from, uint64_t to)
{
    while (from < to) {
        uint64_t block = 0, run;
        bool mapped = lookup(inode, page_of(from), &block, &run);
        uint64_t in_page = from & (PAGE_SIZE_BYTES - 1);
        uint64_t n = run > page_of(to - from) + 1 ? to - from : min_u64(run * PAGE_SIZE_BYTES - in_page, to - from);
        if (mapped)
            persist_zero(&fs->pool.pm, (char *)pool_block(&fs->pool, block) + in_page, n);
        from += n;
    }
}

/*
 * Under ILOCK: appends the extent entries of the fresh segments, and an ATTR
 * when they cannot say it all: an extent entry gives recovery the size, mtime
 * and ctime, but not an atime that reads changed in DRAM (times_unlogged).
 * A write into blocks the file already holds, an append into its 2 MiB chunk
 * most often, restates the mapping of its last pages: replaying it maps them
 * where they are, and it says the rest in one slot where an ATTR takes two.
 */
static int log_segments(struct fs *fs, struct log_txn *txn, const struct plan *plan,
                        const struct udax_attr *attr, bool times_unlogged)
{
    bool any = false;
    for (size_t i = 0; i < plan->count; i++) {
        const struct segment *s = &plan->segments[i];
        bool restate = !s->fresh && !any && !times_unlogged && i + 1 == plan->count;
        if (!s->fresh && !restate)
            continue;
        struct udax_entry_extent entry = {.page = s->page, .block = s->block, .count = s->count, .size = attr->size,
                                          .mtime_ns = attr->mtime_ns, .ctime_ns = attr->ctime_ns};
        int rc = log_append(&fs->env, txn, &entry, UDAX_ENTRY_EXTENT, 0, sizeof(entry));
        if (rc)
            return rc;
        any = true;
    }
    return any && !times_unlogged ? 0 : inode_log_attr(fs, txn, attr);
}

/* The pages the fresh segments cover: the range whose entries must go. */
static void fresh_range(const struct plan *plan, uint64_t *first, uint64_t *count)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < plan->count; i++) {
        const struct segment *s = &plan->segments[i];
        if (s->fresh) {
            lo = s->page < lo ? s->page : lo;
            hi = s->page + s->count > hi ? s->page + s->count : hi;
        }
    }
    *first = lo;
    *count = hi > lo ? hi - lo : 0;
}

/*
 * After the commit and outside ILOCK: drops the entries over the fresh pages,
 * which filled holes (zero pages may be mapped there) or replaced blocks of a
 * file nothing mapped (plan_overtaken).
 */
static void invalidate_fresh(struct fs *fs, struct inode *inode, const struct plan *plan)
{
    uint64_t first, count;
    fresh_range(plan, &first, &count);
    if (count)
        fs->mapping_ops->invalidate(inode, first, count);
}

static void map_segments(struct fs *fs, struct inode *inode, const struct plan *plan)
{
    for (size_t i = 0; i < plan->count; i++) {
        const struct segment *s = &plan->segments[i];
        if (s->fresh)
            extent_map(&inode->extents, s->page, s->block, s->count, inode_release_blocks, fs);
    }
}

/* Whether a fault may have made entries over this file's blocks; exact under ILOCK, where a write commits. */
static bool has_mapping(struct fs *fs, struct inode *inode)
{
    return fs->mapping_ops && __atomic_load_n(&inode->mapping, __ATOMIC_ACQUIRE);
}

/* After planning: gives the planned blocks back when planning failed. */
static int plan_ready(struct fs *fs, struct plan *plan, int rc)
{
    if (rc)
        plan_release(fs, plan);
    return rc;
}

/* After the commit, or its failure: the blocks now belong to the file, or go back. */
static void plan_done(struct fs *fs, struct plan *plan, int rc)
{
    if (rc)
        plan_release(fs, plan);
    else
        plan_free(plan);
}

/*
 * A small overwrite's line is most likely not in the cache. Asked for as
 * soon as its address is known, its miss overlaps the checks and unlocks
 * before the store, instead of holding the store at the head of the store
 * buffer, where every later store waits behind it: a random 64-byte
 * overwrite went from about 200 to 135 ns.
 */
static void prefetch_for_store(const void *target)
{
    __builtin_prefetch(target, 1);
}

/*
 * Fast mode, under IOLOCK shared: whether [offset, end) lies within the size
 * over mapped blocks. If so, stamps the times and returns the first page's
 * block and run, all under one ILOCK, so that a write within one extent takes
 * ILOCK once. The times change before the data, as on Linux. Most overwrites
 * of a busy file stamp the time it already has and change nothing.
 */
static bool claim_in_place(struct fs *fs, struct inode *inode, uint64_t offset, uint64_t end, uint64_t *block,
                           uint64_t *run)
{
    uint64_t first = page_of(offset), pages = page_of(end - 1) - first + 1;
    inode_lock(inode);
    bool ok = end <= inode->attr.size && extent_lookup(&inode->extents, first, block, run) &&
              (*run >= pages || extent_mapped_pages(&inode->extents, first, pages) == pages);
    if (ok) {
        prefetch_for_store((char *)pool_block(&fs->pool, *block) + (offset & (PAGE_SIZE_BYTES - 1)));
        int64_t stamp = inode_change_time(fs, &inode, 1);
        if (inode->attr.mtime_ns != stamp || inode->attr.ctime_ns != stamp) {
            inode->attr.mtime_ns = inode->attr.ctime_ns = stamp;
            __atomic_store_n(&inode->times_unlogged, true, __ATOMIC_RELAXED);
        }
    }
    inode_unlock(inode);
    return ok;
}

/* Fast mode, after claim_in_place: no log entry; blocks cannot move while this thread holds IOLOCK. */
static void write_in_place(struct fs *fs, struct inode *inode, struct iov_cursor *c, uint64_t offset, uint64_t end,
                           uint64_t block, uint64_t run)
{
    for (uint64_t pos = offset; pos < end;) {
        if (pos != offset)
            lookup(inode, page_of(pos), &block, &run);
        uint64_t in_page = pos & (PAGE_SIZE_BYTES - 1);
        uint64_t n = min_u64(run * PAGE_SIZE_BYTES - in_page, end - pos);
        copy_to_pool(fs, c, (char *)pool_block(&fs->pool, block) + in_page, n);
        pos += n;
    }
    persist_copies_fence(&fs->pool.pm, end - offset);
}

bool file_write_lockless_plan(struct fs *fs, struct inode *inode, size_t count, uint64_t offset,
                              struct lockless_write *write)
{
    if (fs->pool.sb.data_mode != UDAX_DATA_FAST || !count || count > MAX_FILE_SIZE || offset > MAX_FILE_SIZE - count)
        return false;
    /*
     * io_seq before the flag: a holder of IOLOCK exclusive lowers the flag
     * before its release moves io_seq, so an io_seq read after that release
     * is followed by a flag that reads down, raised again here. The fence
     * orders the raised flag before the announcement for waiters that check
     * it; while the flag stays up, overwrites need none.
     */
    struct lockless_read seen = {.io_seq = __atomic_load_n(&inode->io_seq, __ATOMIC_ACQUIRE)};
    if (!__atomic_load_n(&inode->written_lockless, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&inode->written_lockless, true, __ATOMIC_RELAXED);
        fence_full();
    }
    if (!presence_announce(inode))
        return false;
    seen.layout_seq = __atomic_load_n(&inode->layout_seq, __ATOMIC_ACQUIRE);
    uint64_t in_page = offset & (PAGE_SIZE_BYTES - 1);
    /* As claim_in_place, but only where the times already read what this write would stamp. */
    int64_t stamp = inode_change_time(fs, NULL, 0);
    bool planned = !((seen.io_seq | seen.layout_seq) % 2) && !__atomic_load_n(&inode->setid, __ATOMIC_RELAXED) &&
                   !__atomic_load_n(&inode->times_queried, __ATOMIC_RELAXED) &&
                   __atomic_load_n(&inode->attr.mtime_ns, __ATOMIC_RELAXED) == stamp &&
                   __atomic_load_n(&inode->attr.ctime_ns, __ATOMIC_RELAXED) == stamp &&
                   offset + count <= __atomic_load_n(&inode->attr.size, __ATOMIC_RELAXED);
    struct extent_run run = planned ? extent_lookup_lockless(&inode->extents, page_of(offset), &inode->layout_seq,
                                                             seen.layout_seq)
                                    : (struct extent_run){0, 0};
    planned = run.pages && count <= run.pages * PAGE_SIZE_BYTES - in_page;
    if (planned) {
        write->target = (char *)pool_block(&fs->pool, run.block) + in_page;
        prefetch_for_store(write->target);
        planned = file_lockless_unchanged(inode, &seen);
    }
    if (!planned)
        presence_withdraw();
    return planned;
}

void file_write_lockless_copy(struct fs *fs, const struct lockless_write *write, const void *buf, size_t count)
{
    persist_copy(&fs->pool.pm, write->target, buf, count);
    persist_copies_fence(&fs->pool.pm, count);
    presence_withdraw();
}

void file_write_lockless_cancel(void)
{
    presence_withdraw();
}

/*
 * Under IOLOCK exclusive and ILOCK: commits attr, with punched pages and new
 * segments, in one tail store. Blocks the segments replace go straight back
 * to the allocator: no entry reaches them (plan_overtaken).
 */
static int commit_layout(struct fs *fs, struct inode *inode, const struct udax_attr *attr, const struct plan *plan,
                         uint64_t punch_page, uint64_t punch_count)
{
    /*
     * Before the commit, so that the index changes after it cannot fail: a
     * map per fresh segment, and the punch. Cutting at a smaller size unmaps
     * up to the end, which never splits an extent.
     */
    size_t changes = punch_count ? 1 : 0;
    for (size_t i = 0; plan && i < plan->count; i++)
        changes += plan->segments[i].fresh;
    int rc = changes ? extent_reserve(&inode->extents, changes) : 0;
    if (rc)
        return rc;
    struct log_txn txn;
    log_txn_begin(&txn, &inode->log);
    if (punch_count) {
        struct udax_entry_punch entry = {.page = punch_page, .count = punch_count, .mtime_ns = attr->mtime_ns,
                                         .ctime_ns = attr->ctime_ns};
        rc = log_append(&fs->env, &txn, &entry, UDAX_ENTRY_PUNCH, 0, sizeof(entry));
    }
    if (!rc)
        rc = plan ? log_segments(fs, &txn, plan, attr, inode->times_unlogged) : inode_log_attr(fs, &txn, attr);
    if (rc) {
        log_abort(&fs->env, &txn);
        return rc;
    }
    log_commit(&fs->env, &txn);
    if (punch_count)
        extent_unmap(&inode->extents, punch_page, punch_count, inode_release_blocks, fs);
    if (attr->size < inode->attr.size)
        extent_unmap(&inode->extents, page_ceil(attr->size), UINT64_MAX, inode_release_blocks, fs);
    if (plan)
        map_segments(fs, inode, plan);
    inode->attr = *attr;
    __atomic_store_n(&inode->times_unlogged, false, __ATOMIC_RELAXED);
    inode_maybe_compact(fs, inode);
    return 0;
}

/*
 * Whether copy-on-write is safe: a file that faults have mapped is written in
 * place in strict mode too, since a copy would lose the stores that reach the
 * old blocks through the mapping between the copy and the commit.
 */
static bool copy_on_write(struct fs *fs, struct inode *inode)
{
    return fs->pool.sb.data_mode == UDAX_DATA_STRICT && !has_mapping(fs, inode);
}

/*
 * Under ILOCK, before a commit: whether faults changed what the plan assumed.
 * A write fault may give a hole page a block while a write or fallocate plans
 * a fresh one there; committing would drop the fault's block and the stores
 * made through it. And copy-on-write planned while nothing mapped the file
 * must not replace blocks a mapping may now reach. The caller then plans
 * again; holes only fill while it holds IOLOCK, so the retries end.
 */
static bool plan_overtaken(struct fs *fs, struct inode *inode, const struct plan *plan, bool planned_copy_on_write)
{
    if (planned_copy_on_write && has_mapping(fs, inode))
        return true;
    for (size_t i = 0; i < plan->count; i++) {
        const struct segment *s = &plan->segments[i];
        if (s->fresh && !s->has_old && extent_mapped_pages(&inode->extents, s->page, s->count))
            return true;
    }
    return false;
}

/*
 * Under IOLOCK exclusive, which holds the size at old_size. first is the
 * mapping of offset's page when the caller looked; a fault that overtakes the
 * plan changes it, and the plan after that looks again.
 */
static ssize_t write_locked(struct fs *fs, struct inode *inode, const struct iovec *iov, int iovcnt, uint64_t offset,
                            size_t count, uint64_t old_size, const struct page_lookup *first)
{
    uint64_t end = offset + count;
    struct plan plan;
    plan_init(&plan);
    bool planned_copy_on_write;
    int rc;
    do {
        planned_copy_on_write = copy_on_write(fs, inode);
        rc = plan_ready(fs, &plan, plan_write(fs, inode, offset, end, old_size, planned_copy_on_write, first, &plan));
        first = NULL;
        if (rc)
            return -rc;
        if (offset > old_size)
            zero_past_size(fs, inode, old_size, offset);
        struct iov_cursor c = {iov, iovcnt, 0};
        for (size_t i = 0; i < plan.count; i++)
            fill_segment(fs, &plan.segments[i], &c, offset, end, old_size);
        hook_point("write_before_commit", inode, page_of(offset));
        inode_lock(inode);
        if (!plan_overtaken(fs, inode, &plan, planned_copy_on_write))
            break;
        inode_unlock(inode);
        plan_release(fs, &plan);
    } while (true);

    struct udax_attr attr = inode->attr;
    attr.size = end > old_size ? end : old_size;
    attr.mtime_ns = attr.ctime_ns = inode_change_time(fs, &inode, 1);
    bool mapped = has_mapping(fs, inode);
    rc = commit_layout(fs, inode, &attr, &plan, 0, 0);
    inode_unlock(inode);
    /* R1: this thread holds IOLOCK while it waits for faults on these entries, which never take IOLOCK. */
    if (mapped && !rc)
        invalidate_fresh(fs, inode, &plan);
    plan_done(fs, &plan, rc);
    return rc ? -rc : (ssize_t)count;
}

ssize_t file_write(struct fs *fs, struct inode *inode, const struct iovec *iov, int iovcnt, uint64_t offset,
                   bool append, uint64_t *end)
{
    size_t count = iov_total(iov, iovcnt);
    /* POSIX: writing nothing to a regular file has no other result, so O_APPEND does not move the offset either. */
    if (!count) {
        if (!append)
            *end = offset;
        return 0;
    }
    if (!append && fs->pool.sb.data_mode == UDAX_DATA_FAST && offset + count > offset &&
        offset + count <= MAX_FILE_SIZE) {
        uint64_t block, run;
        rwlock_read(&inode->iolock, inode->ino);
        if (claim_in_place(fs, inode, offset, offset + count, &block, &run)) {
            struct iov_cursor c = {iov, iovcnt, 0};
            write_in_place(fs, inode, &c, offset, offset + count, block, run);
            rwlock_unlock(&inode->iolock);
            *end = offset + count;
            return (ssize_t)count;
        }
        rwlock_unlock(&inode->iolock);
    }
    inode_io_lock_exclusive(inode);
    struct page_lookup first;
    uint64_t old_size = size_and_first_page(inode, append, &offset, &first);
    ssize_t rc;
    if (count > MAX_FILE_SIZE || offset > MAX_FILE_SIZE - count)
        rc = -EFBIG;
    else
        rc = write_locked(fs, inode, iov, iovcnt, offset, count, old_size, &first);
    if (rc >= 0)
        __atomic_store_n(end, offset + (uint64_t)rc, __ATOMIC_RELAXED);
    inode_io_unlock_exclusive(inode);
    return rc;
}

int file_truncate(struct fs *fs, struct inode *inode, uint64_t size)
{
    if (size > MAX_FILE_SIZE)
        return EFBIG;
    inode_io_lock_exclusive(inode);
    uint64_t old_size = current_size(inode);
    bool shrinks = size < old_size && fs->mapping_ops;
    /* The pages past the new size lose their blocks: nothing may map or pin them when they are freed. */
    if (shrinks)
        fs->mapping_ops->break_layouts(inode, page_ceil(size), UINT64_MAX);
    if (size > old_size)
        zero_past_size(fs, inode, old_size, page_end(size));
    persist_fence(&fs->pool.pm);
    inode_lock(inode);
    struct udax_attr attr = inode->attr;
    attr.size = size;
    attr.mtime_ns = attr.ctime_ns = inode_change_time(fs, &inode, 1);
    int rc = commit_layout(fs, inode, &attr, NULL, 0, 0);
    inode_unlock(inode);
    /*
     * As mmap(2) has it, the rest of a last page that a mapping keeps reads
     * zero. After the commit, so that a crash never shows the old size with
     * these bytes zeroed; an extension zeroes them again anyway.
     */
    if (!rc && size < old_size && size % PAGE_SIZE_BYTES) {
        zero_past_size(fs, inode, size, min_u64(old_size, page_end(size)));
        persist_fence(&fs->pool.pm);
    }
    if (shrinks)
        fs->mapping_ops->end_break(inode);
    inode_io_unlock_exclusive(inode);
    return rc;
}

/* Gives every hole page of [first, first+count) zeroed blocks. */
static int plan_holes(struct fs *fs, struct inode *inode, uint64_t first, uint64_t count, uint64_t old_size,
                      struct plan *plan)
{
    for (uint64_t page = first; page < first + count;) {
        uint64_t block, run;
        bool mapped = lookup(inode, page, &block, &run);
        uint64_t n = min_u64(run, first + count - page);
        if (!mapped) {
            int rc = plan_fresh(fs, inode, plan, page, n, false, 0, old_size);
            if (rc)
                return rc;
        }
        page += n;
        const struct segment *tail = plan->count ? &plan->segments[plan->count - 1] : NULL;
        if (tail && tail->page + tail->count > page)
            page = tail->page + tail->count;
    }
    return 0;
}

static int allocate_range(struct fs *fs, struct inode *inode, int mode, uint64_t offset, uint64_t end)
{
    uint64_t old_size = current_size(inode);
    bool grows = !(mode & FALLOC_FL_KEEP_SIZE) && end > old_size;
    struct plan plan;
    plan_init(&plan);
    int rc;
    do {
        rc = plan_ready(fs, &plan,
                        plan_holes(fs, inode, page_of(offset), page_of(end - 1) - page_of(offset) + 1, old_size, &plan));
        if (rc)
            return rc;
        for (size_t i = 0; i < plan.count; i++)
            persist_zero(&fs->pool.pm, pool_block(&fs->pool, plan.segments[i].block),
                         plan.segments[i].count << UDAX_BLOCK_SHIFT);
        /* Blocks the file already owned past its size may hold bytes of an earlier, longer life: all become visible. */
        if (grows)
            zero_past_size(fs, inode, old_size, page_end(end));
        persist_fence(&fs->pool.pm);
        inode_lock(inode);
        if (!plan_overtaken(fs, inode, &plan, false))
            break;
        inode_unlock(inode);
        plan_release(fs, &plan);
    } while (true);
    struct udax_attr attr = inode->attr;
    if (grows)
        attr.size = end;
    attr.ctime_ns = inode_change_time(fs, &inode, 1);
    if (grows)
        attr.mtime_ns = attr.ctime_ns;
    rc = plan.count || grows ? commit_layout(fs, inode, &attr, &plan, 0, 0) : 0;
    bool mapped = has_mapping(fs, inode);
    inode_unlock(inode);
    /* The new blocks filled holes only: entries there map the zero page, and must go so that faults see them. */
    if (mapped && !rc && plan.count)
        invalidate_fresh(fs, inode, &plan);
    plan_done(fs, &plan, rc);
    return rc;
}

/* Zeroes [from, to) inside one page; strict mode copies the page so that the punch stays atomic. */
static int plan_partial_zero(struct fs *fs, struct inode *inode, uint64_t from, uint64_t to, uint64_t size,
                             struct plan *plan)
{
    uint64_t block, run;
    if (from >= to || from >= size || !lookup(inode, page_of(from), &block, &run))
        return 0;
    char *page = pool_block(&fs->pool, block);
    uint64_t in_page = from & (PAGE_SIZE_BYTES - 1);
    if (fs->pool.sb.data_mode == UDAX_DATA_FAST) {
        persist_zero(&fs->pool.pm, page + in_page, to - from);
        return 0;
    }
    uint64_t fresh, got;
    int rc = alloc_data(fs, 1, false, &fresh, &got);
    if (rc)
        return rc;
    char *copy = pool_block(&fs->pool, fresh);
    persist_copy(&fs->pool.pm, copy, page, PAGE_SIZE_BYTES);
    persist_zero(&fs->pool.pm, copy + in_page, to - from);
    rc = plan_add(plan, (struct segment){.page = page_of(from), .count = 1, .block = fresh, .fresh = true});
    if (rc)
        alloc_free(&fs->alloc, fresh, 1);
    return rc;
}

/* Under FAULTLOCK exclusive, with no entry left over the range. */
static int punch_hole_unmapped(struct fs *fs, struct inode *inode, uint64_t offset, uint64_t end)
{
    uint64_t size = current_size(inode);
    uint64_t first_full = page_ceil(offset), end_full = page_of(end);
    struct plan plan;
    plan_init(&plan);
    int rc;
    if (first_full >= end_full && page_of(offset) == page_of(end - 1)) {
        rc = plan_partial_zero(fs, inode, offset, end, size, &plan);
    } else {
        rc = plan_partial_zero(fs, inode, offset, first_full << UDAX_BLOCK_SHIFT, size, &plan);
        if (!rc && end_full > page_of(offset) && (end & (PAGE_SIZE_BYTES - 1)))
            rc = plan_partial_zero(fs, inode, end_full << UDAX_BLOCK_SHIFT, end, size, &plan);
    }
    rc = plan_ready(fs, &plan, rc);
    if (rc)
        return rc;
    persist_fence(&fs->pool.pm);
    inode_lock(inode);
    struct udax_attr attr = inode->attr;
    attr.mtime_ns = attr.ctime_ns = inode_change_time(fs, &inode, 1);
    uint64_t punch_count = end_full > first_full ? end_full - first_full : 0;
    rc = commit_layout(fs, inode, &attr, plan.count ? &plan : NULL, first_full, punch_count);
    inode_unlock(inode);
    plan_done(fs, &plan, rc);
    return rc;
}

static int punch_hole(struct fs *fs, struct inode *inode, uint64_t offset, uint64_t end)
{
    if (fs->mapping_ops)
        fs->mapping_ops->break_layouts(inode, page_of(offset), page_of(end - 1) - page_of(offset) + 1);
    int rc = punch_hole_unmapped(fs, inode, offset, end);
    if (fs->mapping_ops)
        fs->mapping_ops->end_break(inode);
    return rc;
}

int file_fallocate(struct fs *fs, struct inode *inode, int mode, uint64_t offset, uint64_t len)
{
    if (len == 0)
        return EINVAL;
    if (offset > MAX_FILE_SIZE || len > MAX_FILE_SIZE - offset)
        return EFBIG;
    bool punch = mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
    if (!punch && mode != 0 && mode != FALLOC_FL_KEEP_SIZE)
        return EOPNOTSUPP;
    inode_io_lock_exclusive(inode);
    int rc = punch ? punch_hole(fs, inode, offset, offset + len) : allocate_range(fs, inode, mode, offset, offset + len);
    inode_io_unlock_exclusive(inode);
    return rc;
}

/* Under ILOCK: gives the hole at page count zeroed blocks and commits them. */
static int allocate_for_fault(struct fs *fs, struct inode *inode, uint64_t page, uint64_t count, struct iomap *map)
{
    bool huge = count == UDAX_BLOCKS_PER_HUGE;
    if (extent_mapped_pages(&inode->extents, page, count))
        return EAGAIN;
    uint64_t block, got;
    int rc = alloc_data(fs, count, huge, &block, &got);
    if (rc)
        return rc;
    struct plan plan;
    plan_init(&plan);
    if (got != count || (huge && (block & (UDAX_BLOCKS_PER_HUGE - 1))))
        rc = EAGAIN;
    if (!rc)
        rc = plan_add(&plan, (struct segment){.page = page, .count = got, .block = block, .fresh = true});
    if (rc) {
        plan_free(&plan);
        alloc_free(&fs->alloc, block, got);
        return rc;
    }
    persist_zero(&fs->pool.pm, pool_block(&fs->pool, block), got << UDAX_BLOCK_SHIFT);
    persist_fence(&fs->pool.pm);
    struct udax_attr attr = inode->attr;
    attr.mtime_ns = attr.ctime_ns = inode_change_time(fs, &inode, 1);
    rc = commit_layout(fs, inode, &attr, &plan, 0, 0);
    plan_done(fs, &plan, rc);
    if (!rc)
        *map = (struct iomap){.page = page, .count = got, .block = block, .mapped = true};
    return rc;
}

int file_iomap_begin(struct fs *fs, struct inode *inode, uint64_t page, uint64_t count, unsigned flags,
                     struct iomap *map)
{
    inode_lock(inode);
    int rc = 0;
    uint64_t block = 0, run;
    uint64_t pages_in_file = page_ceil(inode->attr.size);
    if (page >= pages_in_file)
        rc = ENXIO;
    else if (page + count > pages_in_file)
        rc = EAGAIN; /* a 2 MiB mapping would reach past the end of the file */
    else if (extent_lookup(&inode->extents, page, &block, &run))
        *map = (struct iomap){.page = page, .count = min_u64(run, count), .block = block, .mapped = true};
    else if (flags & IOMAP_ALLOCATE)
        rc = allocate_for_fault(fs, inode, page, count, map);
    else
        *map = (struct iomap){.page = page, .count = min_u64(run, count)};
    inode_unlock(inode);
    return rc;
}

/*
 * Every write is durable when it returns: a sync waits only for times that
 * reads and in-place overwrites changed in DRAM, and for a mapping's stores.
 * A close with neither to do, as after most creates, takes no lock.
 */
int file_sync(struct fs *fs, struct inode *inode)
{
    if (!__atomic_load_n(&inode->times_unlogged, __ATOMIC_RELAXED) && !has_mapping(fs, inode))
        return 0;
    rwlock_write(&inode->iolock, inode->ino);
    inode_lock(inode);
    int rc = 0;
    if (inode->times_unlogged) {
        struct udax_attr attr = inode->attr;
        rc = commit_layout(fs, inode, &attr, NULL, 0, 0);
    }
    inode_unlock(inode);
    if (has_mapping(fs, inode))
        fs->mapping_ops->writeback(fs, inode);
    rwlock_unlock(&inode->iolock);
    return rc;
}

int64_t file_seek_data(struct fs *fs, struct inode *inode, uint64_t offset, int whence)
{
    (void)fs;
    inode_lock(inode);
    uint64_t size = inode->attr.size;
    int64_t result = -ENXIO;
    if (offset < size) {
        uint64_t page = page_of(offset), block, run;
        bool mapped = extent_lookup(&inode->extents, page, &block, &run);
        if (whence == SEEK_DATA) {
            if (mapped)
                result = (int64_t)offset;
            else if (run != UINT64_MAX && ((page + run) << UDAX_BLOCK_SHIFT) < size)
                result = (int64_t)((page + run) << UDAX_BLOCK_SHIFT);
        } else {
            while (mapped) {
                page += run;
                mapped = extent_lookup(&inode->extents, page, &block, &run);
            }
            uint64_t hole = page << UDAX_BLOCK_SHIFT;
            result = (int64_t)min_u64(hole > offset ? hole : offset, size);
        }
    }
    inode_unlock(inode);
    return result;
}
