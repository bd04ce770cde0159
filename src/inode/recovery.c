/* recovery.c: opening a file system: journal rollback, replay of every inode log into the DRAM indexes, free space. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inode.h"
#include "util/error.h"

struct loader {
    struct fs *fs;
    struct fs_check *check;
    struct inode *inode;
    bool have_attr;
    char first_problem[200];
    uint64_t problems;
    uint8_t *broken; /* inodes whose log could not be loaded */
};

static void problem(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct loader *l, const char *fmt, ...)
{
    char message[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (!l->problems++)
        memcpy(l->first_problem, message, sizeof(message));
    if (l->check) {
        l->check->problems++;
        l->check->unrepairable++;
        if (l->check->report)
            l->check->report(l->check->arg, message);
    }
}

static bool visit_page(void *arg, uint64_t page)
{
    struct loader *l = arg;
    if (alloc_claim(&l->fs->alloc, page >> UDAX_BLOCK_SHIFT, 1)) {
        l->inode->log.pages++;
        l->fs->log_pages++;
        if (l->check)
            l->check->blocks_checked++;
        return true;
    }
    problem(l, "inode %llu: log page at block %llu is owned twice", (unsigned long long)l->inode->ino,
            (unsigned long long)(page >> UDAX_BLOCK_SHIFT));
    return false;
}

static void walk_problem(void *arg, const char *what, uint64_t offset)
{
    struct loader *l = arg;
    problem(l, "inode %llu: %s (pool offset %llu)", (unsigned long long)l->inode->ino, what,
            (unsigned long long)offset);
}

static bool valid_name(const char *name, size_t len)
{
    if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
        return false;
    return !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

static bool replay_dentry(struct loader *l, const struct udax_entry_header *h)
{
    const struct udax_entry_dentry *d = (const void *)h;
    struct inode *inode = l->inode;
    size_t len = h->name_len;
    if (!inode_is_dir(inode) ||
        h->slots != log_entry_slots((unsigned)(offsetof(struct udax_entry_dentry, name) + len)) ||
        !valid_name(d->name, len)) {
        problem(l, "inode %llu: malformed directory entry", (unsigned long long)inode->ino);
        return false;
    }
    if (h->type == UDAX_ENTRY_DENTRY_DEL) {
        dir_index_remove(&inode->names, d->name, len);
        return true;
    }
    if (d->ino <= UDAX_ROOT_INO || d->ino >= l->fs->pool.sb.inode_count ||
        (d->file_type != DT_REG && d->file_type != DT_DIR)) {
        problem(l, "inode %llu: entry '%.*s' names an impossible inode", (unsigned long long)inode->ino, (int)len,
                d->name);
        return false;
    }
    if (dir_index_put(&inode->names, d->name, len, d->ino, d->file_type)) {
        problem(l, "out of memory");
        return false;
    }
    return true;
}

static bool visit_entry(void *arg, const struct udax_entry_header *h, uint64_t offset)
{
    struct loader *l = arg;
    struct inode *inode = l->inode;
    (void)offset;
    if (!l->have_attr && h->type != UDAX_ENTRY_ATTR) {
        problem(l, "inode %llu: log does not start with attributes", (unsigned long long)inode->ino);
        return false;
    }
    inode->log.entries++;
    switch (h->type) {
    case UDAX_ENTRY_ATTR: {
        const struct udax_attr *attr = &((const struct udax_entry_attr *)h)->attr;
        if (!S_ISREG(attr->mode) && !S_ISDIR(attr->mode)) {
            problem(l, "inode %llu: unknown file type %o", (unsigned long long)inode->ino, attr->mode & S_IFMT);
            return false;
        }
        if (l->have_attr && (attr->mode & S_IFMT) != (inode->attr.mode & S_IFMT)) {
            problem(l, "inode %llu: file type changes within the log", (unsigned long long)inode->ino);
            return false;
        }
        if (attr->size < inode->attr.size)
            extent_unmap(&inode->extents, (attr->size + UDAX_BLOCK_SIZE - 1) >> UDAX_BLOCK_SHIFT, UINT64_MAX, NULL,
                         NULL);
        inode->attr = *attr;
        inode->is_dir = S_ISDIR(attr->mode);
        l->have_attr = true;
        return true;
    }
    case UDAX_ENTRY_EXTENT: {
        const struct udax_entry_extent *e = (const void *)h;
        struct pool *pool = &l->fs->pool;
        if (inode_is_dir(inode) || !e->count || e->count > pool->sb.block_count ||
            !pool_is_data_block(pool, e->block) || e->block + e->count > pool->sb.block_count ||
            e->page > (UINT64_MAX >> UDAX_BLOCK_SHIFT) - e->count) {
            problem(l, "inode %llu: extent outside the data area", (unsigned long long)inode->ino);
            return false;
        }
        if (extent_map(&inode->extents, e->page, e->block, e->count, NULL, NULL)) {
            problem(l, "out of memory");
            return false;
        }
        inode->attr.size = e->size;
        inode->attr.mtime_ns = e->mtime_ns;
        inode->attr.ctime_ns = e->mtime_ns;
        return true;
    }
    case UDAX_ENTRY_PUNCH: {
        const struct udax_entry_punch *p = (const void *)h;
        extent_unmap(&inode->extents, p->page, p->count, NULL, NULL);
        inode->attr.mtime_ns = p->mtime_ns;
        inode->attr.ctime_ns = p->mtime_ns;
        return true;
    }
    case UDAX_ENTRY_DENTRY_ADD:
    case UDAX_ENTRY_DENTRY_DEL:
        return replay_dentry(l, h);
    default:
        problem(l, "inode %llu: unknown log entry type %u", (unsigned long long)inode->ino, h->type);
        return false;
    }
}

static bool load_inode(struct loader *l, uint64_t ino)
{
    struct fs *fs = l->fs;
    const struct udax_inode_rec *rec = &fs->pool.inode_table[ino];
    struct inode *inode = inode_object_new(ino);
    if (!inode) {
        problem(l, "out of memory");
        return false;
    }
    l->inode = inode;
    l->have_attr = false;
    struct log_walker walker = {l, visit_page, visit_entry, walk_problem};
    bool ok = log_walk(&fs->pool, ino, rec->log_head, rec->log_tail, &walker);
    if (ok && !l->have_attr) {
        problem(l, "inode %llu: empty log", (unsigned long long)ino);
        ok = false;
    }
    for (size_t i = 0; ok && i < inode->extents.count; i++) {
        const struct extent *e = &inode->extents.extents[i];
        if (!alloc_claim(&fs->alloc, e->block, e->count)) {
            problem(l, "inode %llu: data blocks %llu..%llu are owned twice", (unsigned long long)ino,
                    (unsigned long long)e->block, (unsigned long long)(e->block + e->count - 1));
            ok = false;
        } else if (l->check) {
            l->check->blocks_checked += e->count;
        }
    }
    if (!ok) {
        inode_object_free(inode);
        l->broken[ino] = 1;
        return false;
    }
    inode->log.head = rec->log_head;
    inode->log.tail = rec->log_tail;
    fs->inodes[ino] = inode;
    if (inode_is_dir(inode))
        fs->directories++;
    else
        fs->files++;
    if (l->check)
        l->check->inodes_checked++;
    return true;
}

static struct inode *create_root(struct fs *fs)
{
    struct inode *root = inode_object_new(UDAX_ROOT_INO);
    if (!root)
        return NULL;
    int64_t now = now_ns();
    root->attr = (struct udax_attr){.mode = S_IFDIR | 0755, .uid = geteuid(), .gid = getegid(), .nlink = 2,
                                    .atime_ns = now, .mtime_ns = now, .ctime_ns = now, .parent = UDAX_ROOT_INO};
    root->is_dir = true;
    struct log_txn txn;
    log_txn_begin_fresh(&txn, &root->log);
    if (inode_log_attr(fs, &txn, &root->attr)) {
        log_abort(&fs->env, &txn);
        inode_object_free(root);
        return NULL;
    }
    struct journal_word words[] = {
        {log_head_word(&fs->pool, UDAX_ROOT_INO), txn.head},
        {log_tail_word(&fs->pool, UDAX_ROOT_INO), txn.pos},
    };
    journal_commit(&fs->journal, words, 2);
    log_txn_applied(&fs->env, &txn);
    fs->inodes[UDAX_ROOT_INO] = root;
    fs->directories++;
    return root;
}

static bool pool_is_empty(const struct fs *fs)
{
    for (uint64_t ino = 0; ino < fs->pool.sb.inode_count; ino++)
        if (fs->pool.inode_table[ino].log_head)
            return false;
    return true;
}

/* Every name must lead to a loaded inode of the type it claims (fsck checks this itself, and repairs it). */
static void check_names(struct loader *l)
{
    struct fs *fs = l->fs;
    for (uint64_t ino = 1; ino < fs->pool.sb.inode_count; ino++) {
        struct inode *dir = fs->inodes[ino];
        if (!dir || !inode_is_dir(dir))
            continue;
        for (size_t b = 0; b < dir->names.bucket_count; b++) {
            for (const struct dir_name *n = dir->names.buckets[b]; n; n = n->next) {
                const struct inode *target = fs->inodes[n->ino];
                if (l->broken[n->ino])
                    continue;
                if (!target)
                    problem(l, "inode %llu: entry '%.*s' names free inode %llu", (unsigned long long)ino, n->len,
                            n->name, (unsigned long long)n->ino);
                else if ((n->file_type == DT_DIR) != inode_is_dir(target))
                    problem(l, "inode %llu: entry '%.*s' has the wrong file type", (unsigned long long)ino, n->len,
                            n->name);
            }
        }
    }
}

/* Inodes left with no link by a crash between unlink and free. */
static void free_orphans(struct fs *fs)
{
    for (uint64_t ino = UDAX_ROOT_INO + 1; ino < fs->pool.sb.inode_count; ino++) {
        struct inode *inode = fs->inodes[ino];
        if (inode && inode->attr.nlink == 0)
            inode_free(fs, inode);
    }
}

int fs_open(struct fs *fs, const char *path, struct fs_check *check)
{
    memset(fs, 0, sizeof(*fs));
    if (pool_open(&fs->pool, path))
        return -1;
    struct pool *pool = &fs->pool;
    struct loader l = {.fs = fs, .check = check};
    if (check && pool->primary_super_damaged) {
        check->problems++;
        if (check->report)
            check->report(check->arg, "primary superblock is damaged; the backup copy was used");
    }
    journal_recover(pool);
    int rc = alloc_init(&fs->alloc, pool->sb.data_block, pool->sb.block_count);
    fs->inodes = calloc(pool->sb.inode_count, sizeof(*fs->inodes));
    l.broken = calloc(pool->sb.inode_count, 1);
    if (rc || !fs->inodes || !l.broken) {
        if (!rc)
            alloc_destroy(&fs->alloc);
        free(fs->inodes);
        free(l.broken);
        pool_close(pool);
        return udax_fail(ENOMEM, "%s: out of memory", path);
    }
    journal_init(&fs->journal, pool);
    fs->env = (struct log_env){pool, &fs->alloc, &fs->log_pages};
    mutex_init(&fs->inode_table_lock, LOCK_LEAF);
    mutex_init(&fs->rename_lock, LOCK_RENAME);
    fs->next_free_ino = UDAX_ROOT_INO + 1;

    bool fresh = !pool->inode_table[UDAX_ROOT_INO].log_head && pool_is_empty(fs);
    for (uint64_t ino = UDAX_ROOT_INO; ino < pool->sb.inode_count; ino++)
        if (pool->inode_table[ino].log_head)
            load_inode(&l, ino);
    if (fresh && !create_root(fs))
        problem(&l, "no space for the root directory");
    struct inode *root = fs->inodes[UDAX_ROOT_INO];
    if (!root && !l.broken[UDAX_ROOT_INO])
        problem(&l, "the root directory is missing");
    else if (root && !inode_is_dir(root))
        problem(&l, "the root is not a directory");
    if (!check)
        check_names(&l);
    free(l.broken);
    if (l.problems && !check) {
        fs_close(fs);
        return udax_fail(EUCLEAN, "%s: pool is corrupt (%s); run udax fsck", path, l.first_problem);
    }
    free_orphans(fs);
    return 0;
}

void fs_close(struct fs *fs)
{
    for (uint64_t ino = 0; fs->inodes && ino < fs->pool.sb.inode_count; ino++)
        if (fs->inodes[ino]) {
            inode_release_mapping(fs, fs->inodes[ino]);
            inode_object_free(fs->inodes[ino]);
        }
    free(fs->inodes);
    fs->inodes = NULL;
    journal_destroy(&fs->journal);
    mutex_destroy(&fs->inode_table_lock);
    mutex_destroy(&fs->rename_lock);
    alloc_destroy(&fs->alloc);
    pool_close(&fs->pool);
}
