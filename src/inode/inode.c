/* inode.c: DRAM inode objects, their references, inode numbers, attribute, dentry and xattr entries, log compaction. */
#include "inode.h"
#include "util/rcu.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ns_of_timespec(ts);
}

int64_t now_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

int64_t now_coarse_ns(void)
{
    return clock_ns(CLOCK_REALTIME_COARSE);
}

/* The fine clock costs about 50 ns on this kind of machine, the coarse one 10: a create read it three times. */
int64_t inode_change_time(struct fs *fs, struct inode *const inodes[], size_t count)
{
    bool queried = false;
    for (size_t i = 0; i < count; i++) {
        queried |= inodes[i]->times_queried;
        inodes[i]->times_queried = false;
    }
    int64_t floor = __atomic_load_n(&fs->time_floor_ns, __ATOMIC_RELAXED);
    int64_t now = queried ? now_ns() : now_coarse_ns();
    while (queried && now > floor &&
           !__atomic_compare_exchange_n(&fs->time_floor_ns, &floor, now, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return now > floor ? now : floor;
}

struct inode *inode_object_new(uint64_t ino)
{
    struct inode *inode = calloc(1, sizeof(*inode));
    if (!inode)
        return NULL;
    inode->ino = ino;
    inode->log.ino = ino;
    rwlock_init(&inode->iolock, LOCK_IOLOCK);
    rwlock_init(&inode->faultlock, LOCK_FAULTLOCK);
    mutex_init(&inode->ilock, LOCK_ILOCK);
    return inode;
}

void inode_object_free(struct inode *inode)
{
    extent_index_clear(&inode->extents);
    dir_index_clear(&inode->names);
    xattr_index_clear(&inode->xattrs);
    rwlock_destroy(&inode->iolock);
    rwlock_destroy(&inode->faultlock);
    mutex_destroy(&inode->ilock);
    /* A lockless reader that found it through a descriptor closed meanwhile may still be reading it. */
    rcu_free(inode);
}

void inode_init_attr(struct inode *inode, const struct udax_attr *attr)
{
    inode->type = attr->mode & S_IFMT;
    inode_set_mode_attr(inode, attr);
}

void inode_set_mode_attr(struct inode *inode, const struct udax_attr *attr)
{
    inode->attr = *attr;
    bool setid = attr->mode & (S_ISUID | S_ISGID);
    __atomic_store_n(&inode->setid, setid, __ATOMIC_RELAXED);
}

int inode_commit_attr(struct fs *fs, struct inode *inode, struct log_txn *txn, const struct udax_attr *attr)
{
    int rc = inode_log_attr(fs, txn, attr);
    if (rc) {
        log_abort(&fs->env, txn);
        return rc;
    }
    log_commit(&fs->env, txn);
    inode_set_mode_attr(inode, attr);
    __atomic_store_n(&inode->times_unlogged, false, __ATOMIC_RELAXED);
    return 0;
}

int inode_permission(const struct cred *cred, struct inode *inode, int may)
{
    /* Root searches every directory: the common walk by root takes no lock. */
    if (cred_is_root(cred) && (!(may & MAY_EXEC) || inode_is_dir(inode)))
        return 0;
    inode_lock(inode);
    int rc = permission_check(cred, &inode->attr, may);
    inode_unlock(inode);
    return rc;
}

size_t inode_symlink_target(struct fs *fs, struct inode *inode, char *buf, size_t size)
{
    inode_lock(inode);
    size_t len = inode->attr.size;
    uint64_t block, run;
    if (extent_lookup(&inode->extents, 0, &block, &run))
        memcpy(buf, pool_block(&fs->pool, block), len < size ? len : size);
    else
        len = 0;
    inode_unlock(inode);
    return len;
}

void inode_get(struct inode *inode)
{
    __atomic_fetch_add(&inode->refs, 1, __ATOMIC_ACQUIRE);
}

/*
 * Whether the inode still has a name travels in the word of the count: a put
 * that read the link count after its decrement could meet an inode that an
 * unlink had meanwhile taken a reference on, unnamed, dropped and freed.
 * INODE_UNNAMED goes up while its setter holds a reference, and no new
 * reference can be taken by name after it, so exactly one put sees the word
 * fall to it alone.
 */
void inode_put(struct fs *fs, struct inode *inode)
{
    if (__atomic_sub_fetch(&inode->refs, 1, __ATOMIC_ACQ_REL) == INODE_UNNAMED)
        inode_free(fs, inode);
}

void inode_mark_unnamed(struct inode *inode)
{
    __atomic_fetch_or(&inode->refs, INODE_UNNAMED, __ATOMIC_RELEASE);
}

void inode_release_blocks(void *fs, uint64_t block, uint64_t count)
{
    alloc_free(&((struct fs *)fs)->alloc, block, count);
}

uint64_t inode_free_number_words(const struct fs *fs)
{
    return (fs->pool.sb.inode_count + 63) / 64;
}

void inode_mark_free_numbers(struct fs *fs)
{
    for (uint64_t ino = UDAX_ROOT_INO + 1; ino < fs->pool.sb.inode_count; ino++)
        if (!fs->inodes[ino] && !fs->pool.inode_table[ino].log_head)
            fs->free_inodes[ino / 64] |= 1ULL << (ino % 64);
}

/*
 * Next fit by words of the bitmap, so that a full inode table is not walked
 * number by number. A number is claimed by clearing its bit, without a lock:
 * creates in different directories take no lock in common here.
 */
struct inode *inode_claim(struct fs *fs)
{
    uint64_t words = inode_free_number_words(fs);
    uint64_t word = __atomic_load_n(&fs->free_inodes_cursor, __ATOMIC_RELAXED);
    for (uint64_t tried = 0; tried < words;) {
        uint64_t bits = __atomic_load_n(&fs->free_inodes[word], __ATOMIC_RELAXED);
        if (!bits) {
            word = word + 1 < words ? word + 1 : 0;
            __atomic_store_n(&fs->free_inodes_cursor, word, __ATOMIC_RELAXED);
            tried++;
            continue;
        }
        uint64_t bit = bits & -bits;
        if (!__atomic_compare_exchange_n(&fs->free_inodes[word], &bits, bits & ~bit, false, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            continue;
        uint64_t ino = word * 64 + (uint64_t)__builtin_ctzll(bit);
        struct inode *inode = inode_object_new(ino);
        if (!inode) {
            __atomic_fetch_or(&fs->free_inodes[word], bit, __ATOMIC_RELEASE);
            errno = ENOMEM;
            return NULL;
        }
        fs->inodes[ino] = inode;
        log_record_prefetch(&fs->pool, ino);
        return inode;
    }
    errno = ENOSPC;
    return NULL;
}

/* The slot empties before the bit frees the number: the next claim of it fills the slot after this store. */
void inode_unclaim(struct fs *fs, struct inode *inode)
{
    fs->inodes[inode->ino] = NULL;
    __atomic_fetch_or(&fs->free_inodes[inode->ino / 64], 1ULL << (inode->ino % 64), __ATOMIC_RELEASE);
    inode_object_free(inode);
}

void inode_release_mapping(struct fs *fs, struct inode *inode)
{
    if (inode->mapping && fs->mapping_ops)
        fs->mapping_ops->release(inode);
    inode->mapping = NULL;
}

void inode_free(struct fs *fs, struct inode *inode)
{
    inode_wait_lockless_writers(inode);
    inode_release_mapping(fs, inode);
    if (!inode->record_cleared)
        persist_store_word(&fs->pool.pm, log_head_word(&fs->pool, inode->ino), 0);
    log_free_chain(&fs->env, inode->log.head, inode->log.tail);
    extent_unmap(&inode->extents, 0, UINT64_MAX, inode_release_blocks, fs);
    if (inode_is_dir(inode))
        __atomic_fetch_sub(&fs->directories, 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_sub(&fs->files, 1, __ATOMIC_RELAXED);
    struct inode *removed_from = inode->removed_from;
    inode_unclaim(fs, inode);
    if (removed_from)
        inode_put(fs, removed_from);
}

int inode_log_attr(struct fs *fs, struct log_txn *txn, const struct udax_attr *attr)
{
    struct udax_entry_attr entry = {.attr = *attr};
    return log_append(&fs->env, txn, &entry, UDAX_ENTRY_ATTR, 0, sizeof(entry));
}

int inode_log_dentry(struct fs *fs, struct log_txn *txn, uint8_t type, const char *name, size_t len, uint64_t ino,
                     uint8_t file_type, int64_t dir_time_ns)
{
    unsigned char buffer[UDAX_DENTRY_MAX_SLOTS * UDAX_SLOT_SIZE];
    struct udax_entry_dentry *entry = (struct udax_entry_dentry *)buffer;
    *entry = (struct udax_entry_dentry){.ino = ino, .dir_time_ns = dir_time_ns, .file_type = file_type};
    memcpy(entry->name, name, len);
    unsigned bytes = (unsigned)(offsetof(struct udax_entry_dentry, name) + len);
    return log_append(&fs->env, txn, buffer, type, (uint8_t)len, bytes);
}

int inode_log_xattr(struct fs *fs, struct log_txn *txn, uint8_t type, const char *name, size_t len, const void *value,
                    size_t value_len)
{
    unsigned char buffer[UDAX_ENTRY_MAX_SLOTS * UDAX_SLOT_SIZE];
    struct udax_entry_xattr *entry = (struct udax_entry_xattr *)buffer;
    *entry = (struct udax_entry_xattr){.value_len = (uint32_t)value_len};
    memcpy(entry->data, name, len);
    if (value_len)
        memcpy(entry->data + len, value, value_len);
    unsigned bytes = (unsigned)(offsetof(struct udax_entry_xattr, data) + len + value_len);
    return log_append(&fs->env, txn, buffer, type, (uint8_t)len, bytes);
}

struct compaction {
    struct fs *fs;
    struct log_txn *txn;
    const struct udax_attr *attr;
};

static int copy_dentry(void *arg, const struct dir_name *name)
{
    struct compaction *c = arg;
    return inode_log_dentry(c->fs, c->txn, UDAX_ENTRY_DENTRY_ADD, name->name, name->len, name->ino, name->file_type, 0);
}

static int copy_extent(void *arg, const struct extent *e)
{
    struct compaction *c = arg;
    struct udax_entry_extent entry = {.page = e->page, .block = e->block, .count = e->count, .size = c->attr->size,
                                      .mtime_ns = c->attr->mtime_ns, .ctime_ns = c->attr->ctime_ns};
    return log_append(&c->fs->env, c->txn, &entry, UDAX_ENTRY_EXTENT, 0, sizeof(entry));
}

static int copy_xattrs(struct compaction *c, const struct xattr_index *index)
{
    for (size_t i = 0; i < index->count; i++) {
        const struct xattr *x = index->items[i];
        int rc = inode_log_xattr(c->fs, c->txn, UDAX_ENTRY_XATTR_SET, x->data, x->name_len, xattr_value(x),
                                 x->value_len);
        if (rc)
            return rc;
    }
    return 0;
}

/* Compaction pays off once the log holds several times the entries its live state needs. */
#define COMPACT_MIN_ENTRIES 128
#define COMPACT_RATIO 4

void inode_maybe_compact(struct fs *fs, struct inode *inode)
{
    uint64_t live = 1 + (inode_is_dir(inode) ? inode->names.count : inode->extents.count) + inode->xattrs.count;
    if (inode->log.entries < COMPACT_MIN_ENTRIES || inode->log.entries < COMPACT_RATIO * live)
        return;
    struct log_txn txn;
    log_txn_begin_fresh(&txn, &inode->log);
    struct compaction c = {fs, &txn, &inode->attr};
    int rc = inode_log_attr(fs, &txn, &inode->attr);
    if (!rc)
        rc = inode_is_dir(inode) ? dir_index_each(&inode->names, copy_dentry, &c)
                                 : extent_each(&inode->extents, copy_extent, &c);
    if (!rc)
        rc = copy_xattrs(&c, &inode->xattrs);
    if (rc) {
        log_abort(&fs->env, &txn);
        return;
    }
    struct journal_word words[] = {
        {log_head_word(&fs->pool, inode->ino), txn.head},
        {log_tail_word(&fs->pool, inode->ino), txn.pos},
    };
    journal_commit(&fs->journal, words, 2);
    log_txn_applied(&fs->env, &txn);
}

uint64_t inode_stat_size(const struct inode *inode)
{
    return inode_is_dir(inode) ? UDAX_BLOCK_SIZE : inode->attr.size;
}

void inode_to_stat(const struct fs *fs, struct inode *inode, struct stat *st)
{
    inode->times_queried = true;
    memset(st, 0, sizeof(*st));
    st->st_ino = inode->ino;
    st->st_mode = inode->attr.mode;
    /* A removed directory keeps no links, as on Linux; a live one has its own "." and each subdirectory's "..". */
    st->st_nlink = inode_is_dir(inode) && inode->attr.nlink ? 2 + inode->names.subdirs : inode->attr.nlink;
    st->st_uid = inode->attr.uid;
    st->st_gid = inode->attr.gid;
    st->st_size = (off_t)inode_stat_size(inode);
    st->st_blksize = UDAX_BLOCK_SIZE;
    st->st_blocks = (blkcnt_t)(extent_mapped_pages(&inode->extents, 0, UINT64_MAX) * (UDAX_BLOCK_SIZE / 512));
    st->st_atim = timespec_of_ns(inode->attr.atime_ns);
    st->st_mtim = timespec_of_ns(inode->attr.mtime_ns);
    st->st_ctim = timespec_of_ns(inode->attr.ctime_ns);
    st->st_dev = (dev_t)fs->pool.sb.uuid[0];
    st->st_rdev = (dev_t)inode->attr.rdev;
}
