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
#include "xattr.h"
#include "util/error.h"
#include "util/inject_bug.h"

/* A run of blocks claimed for the inode being loaded, given back if it turns out broken. */
struct run {
    uint64_t block, count;
};

/* An EXTENT entry walked, with the end of the last commit before it: where to cut when its blocks are owned twice. */
struct mapping {
    uint64_t block, count;
    uint64_t cut;
};

enum { BROKEN_DAMAGED = 1, BROKEN_NO_MEMORY = 2 };

struct loader {
    struct fs *fs;
    struct fs_check *check;
    char first_problem[320];
    uint64_t problems;
    uint8_t *broken; /* inodes whose log could not be loaded, and why */
    bool out_of_memory;

    /* The inode being loaded. */
    uint64_t ino;
    struct inode *inode;
    bool have_attr;
    char why[200];       /* the first problem of its walk */
    uint64_t commit_end; /* end of the last whole commit walked, 0 before the first */
    uint64_t commits;
    uint64_t cut;        /* after a failure: the end of the last commit that can be kept, 0 if none */
    struct run *claims;
    size_t claim_count, claim_capacity;
    struct mapping *mappings;
    size_t mapping_count, mapping_capacity;
};

static void report_problem(struct loader *l, bool repairable, const char *message)
{
    if (!l->problems++)
        snprintf(l->first_problem, sizeof(l->first_problem), "%s", message);
    if (l->check) {
        l->check->problems++;
        l->check->unrepairable += !repairable;
        if (l->check->report)
            l->check->report(l->check->arg, message);
    }
}

static void problem(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct loader *l, const char *fmt, ...)
{
    char message[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    report_problem(l, false, message);
}

/* A problem of the inode being loaded: kept until it is known what salvage makes of it. */
static void inode_problem(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void inode_problem(struct loader *l, const char *fmt, ...)
{
    if (l->why[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->why, sizeof(l->why), fmt, ap);
    va_end(ap);
}

static bool out_of_memory(struct loader *l)
{
    l->out_of_memory = true;
    l->why[0] = '\0';
    inode_problem(l, "inode %llu: out of memory", (unsigned long long)l->ino);
    return false;
}

static bool grow(struct loader *l, void **items, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return true;
    size_t grown = *capacity ? *capacity * 2 : 64;
    void *bigger = realloc(*items, grown * size);
    if (!bigger)
        return out_of_memory(l);
    *items = bigger;
    *capacity = grown;
    return true;
}

static bool claim(struct loader *l, uint64_t block, uint64_t count)
{
    if (!grow(l, (void **)&l->claims, &l->claim_capacity, l->claim_count, sizeof(*l->claims)))
        return false;
    if (!alloc_claim(&l->fs->alloc, block, count))
        return false;
    l->claims[l->claim_count++] = (struct run){block, count};
    return true;
}

static bool visit_page(void *arg, uint64_t page)
{
    struct loader *l = arg;
    if (claim(l, page >> UDAX_BLOCK_SHIFT, 1)) {
        l->inode->log.pages++;
        return true;
    }
    if (!l->out_of_memory)
        inode_problem(l, "inode %llu: log page at block %llu is owned twice", (unsigned long long)l->inode->ino,
                      (unsigned long long)(page >> UDAX_BLOCK_SHIFT));
    return false;
}

static void walk_problem(void *arg, const char *what, uint64_t offset)
{
    struct loader *l = arg;
    inode_problem(l, "inode %llu: %s (pool offset %llu)", (unsigned long long)l->inode->ino, what,
                  (unsigned long long)offset);
}

static bool valid_name(const char *name, size_t len)
{
    if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
        return false;
    return !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

static bool known_file_type(uint32_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
    case S_IFIFO:
    case S_IFSOCK:
    case S_IFCHR:
    case S_IFBLK:
        return true;
    default:
        return false;
    }
}

static bool replay_dentry(struct loader *l, const struct udax_entry_header *h)
{
    const struct udax_entry_dentry *d = (const void *)h;
    struct inode *inode = l->inode;
    size_t len = h->name_len;
    if (!inode_is_dir(inode) ||
        h->slots != log_entry_slots((unsigned)(offsetof(struct udax_entry_dentry, name) + len)) ||
        !valid_name(d->name, len)) {
        inode_problem(l, "inode %llu: malformed directory entry", (unsigned long long)inode->ino);
        return false;
    }
    if (d->dir_time_ns) {
        inode->attr.mtime_ns = d->dir_time_ns;
        inode->attr.ctime_ns = d->dir_time_ns;
    }
    if (h->type == UDAX_ENTRY_DENTRY_DEL) {
        dir_index_remove(&inode->names, d->name, len);
        return true;
    }
    if (d->ino <= UDAX_ROOT_INO || d->ino >= l->fs->pool.sb.inode_count ||
        !known_file_type(DTTOIF(d->file_type))) {
        inode_problem(l, "inode %llu: entry '%.*s' names an impossible inode", (unsigned long long)inode->ino,
                      (int)len, d->name);
        return false;
    }
    int rc = dir_index_put(&inode->names, d->name, len, d->ino, d->file_type);
    if (rc == ENOSPC) {
        inode_problem(l, "inode %llu: entry '%.*s' is one name too many on its hash", (unsigned long long)inode->ino,
                      (int)len, d->name);
        return false;
    }
    return rc ? out_of_memory(l) : true;
}

static bool replay_xattr(struct loader *l, const struct udax_entry_header *h)
{
    const struct udax_entry_xattr *x = (const void *)h;
    struct inode *inode = l->inode;
    size_t len = h->name_len;
    uint64_t bytes = offsetof(struct udax_entry_xattr, data) + (uint64_t)len + x->value_len;
    bool set = h->type == UDAX_ENTRY_XATTR_SET;
    if ((!set && x->value_len) || bytes > UDAX_ENTRY_MAX_SLOTS * UDAX_SLOT_SIZE ||
        h->slots != log_entry_slots((unsigned)bytes) || !xattr_name_valid(inode, x->data, len)) {
        inode_problem(l, "inode %llu: malformed extended attribute", (unsigned long long)inode->ino);
        return false;
    }
    if (!set) {
        xattr_index_remove(&inode->xattrs, x->data, len);
        return true;
    }
    struct xattr *item = xattr_new(x->data, len, x->data + len, x->value_len);
    if (!item || xattr_index_reserve(&inode->xattrs)) {
        free(item);
        return out_of_memory(l);
    }
    xattr_index_put(&inode->xattrs, item);
    return true;
}

static bool replay(struct loader *l, const struct udax_entry_header *h)
{
    struct inode *inode = l->inode;
    if (!l->have_attr && h->type != UDAX_ENTRY_ATTR) {
        inode_problem(l, "inode %llu: log does not start with attributes", (unsigned long long)inode->ino);
        return false;
    }
    switch (h->type) {
    case UDAX_ENTRY_ATTR: {
        const struct udax_attr *attr = &((const struct udax_entry_attr *)h)->attr;
        if (h->slots != log_entry_slots(sizeof(struct udax_entry_attr))) {
            inode_problem(l, "inode %llu: malformed attributes", (unsigned long long)inode->ino);
            return false;
        }
        if (!known_file_type(attr->mode)) {
            inode_problem(l, "inode %llu: unknown file type %o", (unsigned long long)inode->ino,
                          attr->mode & S_IFMT);
            return false;
        }
        if (l->have_attr && (attr->mode & S_IFMT) != (inode->attr.mode & S_IFMT)) {
            inode_problem(l, "inode %llu: file type changes within the log", (unsigned long long)inode->ino);
            return false;
        }
        if (attr->size < inode->attr.size &&
            extent_unmap(&inode->extents, (attr->size + UDAX_BLOCK_SIZE - 1) >> UDAX_BLOCK_SHIFT, UINT64_MAX, NULL,
                         NULL))
            return out_of_memory(l);
        inode_init_attr(inode, attr);
        l->have_attr = true;
        return true;
    }
    case UDAX_ENTRY_EXTENT: {
        const struct udax_entry_extent *e = (const void *)h;
        struct pool *pool = &l->fs->pool;
        if (!(inode_is_regular(inode) || inode_is_symlink(inode)) || !e->count || e->count > pool->sb.block_count ||
            !pool_is_data_block(pool, e->block) || e->block + e->count > pool->sb.block_count ||
            e->page > (UINT64_MAX >> UDAX_BLOCK_SHIFT) - e->count) {
            inode_problem(l, "inode %llu: extent outside the data area", (unsigned long long)inode->ino);
            return false;
        }
        if (!grow(l, (void **)&l->mappings, &l->mapping_capacity, l->mapping_count, sizeof(*l->mappings)) ||
            (extent_map(&inode->extents, e->page, e->block, e->count, NULL, NULL) && !out_of_memory(l)))
            return false;
        l->mappings[l->mapping_count++] = (struct mapping){e->block, e->count, l->commit_end};
        inode->attr.size = e->size;
        inode->attr.mtime_ns = e->mtime_ns;
        inode->attr.ctime_ns = e->ctime_ns;
        return true;
    }
    case UDAX_ENTRY_PUNCH: {
        const struct udax_entry_punch *p = (const void *)h;
        if (extent_unmap(&inode->extents, p->page, p->count, NULL, NULL))
            return out_of_memory(l);
        inode->attr.mtime_ns = p->mtime_ns;
        inode->attr.ctime_ns = p->ctime_ns;
        return true;
    }
    case UDAX_ENTRY_DENTRY_ADD:
    case UDAX_ENTRY_DENTRY_DEL:
        return replay_dentry(l, h);
    case UDAX_ENTRY_XATTR_SET:
    case UDAX_ENTRY_XATTR_DEL:
        return replay_xattr(l, h);
    default:
        inode_problem(l, "inode %llu: unknown log entry type %u", (unsigned long long)inode->ino, h->type);
        return false;
    }
}

static bool visit_entry(void *arg, const struct udax_entry_header *h, uint64_t offset)
{
    struct loader *l = arg;
    if (!replay(l, h))
        return false;
    l->inode->log.entries++;
    if (h->flags & UDAX_ENTRY_LAST || BUG_INJECTED(BUG_SALVAGE_COMMIT)) {
        l->commit_end = offset + h->slots * UDAX_SLOT_SIZE;
        l->commits++;
    }
    return true;
}

/* Claims the blocks one replayed extent maps; on a block owned twice, cuts before the last entry that mapped it. */
static int claim_extent(void *arg, const struct extent *e)
{
    struct loader *l = arg;
    if (claim(l, e->block, e->count))
        return 0;
    if (l->out_of_memory)
        return 1;
    uint64_t taken = e->block;
    while (taken < e->block + e->count - 1 && !alloc_is_used(&l->fs->alloc, taken))
        taken++;
    for (size_t m = l->mapping_count; m-- > 0;) {
        if (l->mappings[m].block <= taken && taken - l->mappings[m].block < l->mappings[m].count) {
            l->cut = l->mappings[m].cut;
            break;
        }
    }
    inode_problem(l, "inode %llu: data block %llu is owned twice", (unsigned long long)l->inode->ino,
                  (unsigned long long)taken);
    return 1;
}

/* Gives back what a failed load claimed. */
static void release(struct loader *l)
{
    for (size_t i = 0; i < l->claim_count; i++)
        alloc_free(&l->fs->alloc, l->claims[i].block, l->claims[i].count);
    l->claim_count = 0;
    inode_object_free(l->inode);
    l->inode = NULL;
}

/*
 * Replays ino's log up to tail, or only its first commit, into a new inode
 * object in l->inode and claims its log pages and blocks. On failure l->why
 * says why and l->cut where the log could be cut; the claims stay until
 * release().
 */
static bool load_log(struct loader *l, uint64_t ino, uint64_t tail, bool first_commit)
{
    uint64_t head = l->fs->pool.inode_table[ino].log_head;
    l->ino = ino;
    l->have_attr = false;
    l->why[0] = '\0';
    l->commit_end = l->commits = l->cut = 0;
    l->claim_count = l->mapping_count = 0;
    l->inode = inode_object_new(ino);
    if (!l->inode)
        return out_of_memory(l);
    struct log_walker walker = {l, visit_page, visit_entry, walk_problem};
    bool ok = first_commit ? log_walk_first_commit(&l->fs->pool, ino, head, &walker)
                           : log_walk(&l->fs->pool, ino, head, tail, &walker);
    if (!ok)
        l->cut = l->commit_end;
    else if (!l->have_attr) {
        inode_problem(l, "inode %llu: empty log", (unsigned long long)ino);
        ok = false;
    }
    return ok && extent_each(&l->inode->extents, claim_extent, l) == 0;
}

static void install(struct loader *l, uint64_t tail)
{
    struct fs *fs = l->fs;
    struct inode *inode = l->inode;
    inode->log.head = fs->pool.inode_table[inode->ino].log_head;
    inode->log.tail = tail;
    fs->inodes[inode->ino] = inode;
    fs->log_pages += inode->log.pages;
    if (inode_is_dir(inode))
        fs->directories++;
    else
        fs->files++;
    if (l->check) {
        l->check->inodes_checked++;
        for (size_t i = 0; i < l->claim_count; i++)
            l->check->blocks_checked += l->claims[i].count;
    }
    l->inode = NULL;
}

static void load_inode(struct loader *l, uint64_t ino)
{
    if (load_log(l, ino, l->fs->pool.inode_table[ino].log_tail, false)) {
        install(l, l->fs->pool.inode_table[ino].log_tail);
        return;
    }
    if (l->inode)
        release(l);
    l->broken[ino] = l->out_of_memory ? BROKEN_NO_MEMORY : BROKEN_DAMAGED;
    if (!l->check || l->out_of_memory)
        problem(l, "%s", l->why);
    l->out_of_memory = false;
}

/*
 * Salvages a broken inode once every intact one has claimed its blocks, so
 * that a block owned twice stays with the intact owner. The log is cut back
 * to the end of its last commit that replays and claims cleanly: a state the
 * inode really had. A tail that is not a slot boundary proves nothing about
 * what was committed, so then only the first commit, which became durable
 * with the head, is kept. With no commit left the inode is freed, and the
 * names that lead to it dangle. Without --repair this only reports. With it,
 * a freed inode's record is cleared here, but a cut log is only installed:
 * fsck stores its new tail once it has dropped the names it holds that the
 * rest of the pool contradicts.
 */
static void salvage(struct loader *l, uint64_t ino)
{
    struct fs *fs = l->fs;
    struct pool *pool = &fs->pool;
    uint64_t old_tail = pool->inode_table[ino].log_tail, tail = old_tail;
    bool first_commit = !tail || tail & (UDAX_SLOT_SIZE - 1);
    char why[200] = "";
    if (first_commit)
        snprintf(why, sizeof(why), "inode %llu: log tail is not at a slot boundary (pool offset %llu)",
                 (unsigned long long)ino, (unsigned long long)tail);
    bool kept;
    for (;;) {
        kept = load_log(l, ino, tail, first_commit);
        if (!why[0])
            memcpy(why, l->why, sizeof(why));
        if (kept || l->out_of_memory)
            break;
        release(l);
        if (l->cut) {
            tail = l->cut;
        } else if (!first_commit) {
            first_commit = true;
        } else {
            break;
        }
    }
    if (l->out_of_memory) {
        if (l->inode)
            release(l);
        problem(l, "%s", l->why);
        return;
    }
    if (first_commit && kept)
        tail = l->commit_end;
    if (kept && tail == old_tail) {
        l->broken[ino] = 0;
        install(l, tail);
        return;
    }
    bool repair = l->check->repair;
    char message[320];
    char commits[32] = "commit";
    if (l->commits > 1)
        snprintf(commits, sizeof(commits), "%llu commits", (unsigned long long)l->commits);
    if (kept)
        snprintf(message, sizeof(message), "%s; %s its first %s", why, repair ? "repaired: kept" : "--repair keeps",
                 commits);
    else
        snprintf(message, sizeof(message), "%s; %s, as not even its first commit is valid", why,
                 repair ? "repaired: freed the inode" : "--repair frees the inode");
    report_problem(l, true, message);
    if (!repair) {
        if (kept) {
            inode_object_free(l->inode);
            l->inode = NULL;
        }
        return;
    }
    l->broken[ino] = 0;
    if (kept) {
        if (BUG_INJECTED(BUG_SALVAGE_TAIL))
            persist_store_word(&pool->pm, log_tail_word(pool, ino), tail);
        l->check->salvaged[ino] = 1;
        install(l, tail);
    } else {
        persist_store_word(&pool->pm, log_head_word(pool, ino), 0);
        persist_store_word(&pool->pm, log_tail_word(pool, ino), 0);
    }
}

static struct inode *create_root(struct fs *fs)
{
    struct inode *root = inode_object_new(UDAX_ROOT_INO);
    if (!root)
        return NULL;
    int64_t now = now_ns();
    struct udax_attr attr = {.mode = S_IFDIR | 0755, .uid = geteuid(), .gid = getegid(), .nlink = 2, .atime_ns = now,
                             .mtime_ns = now, .ctime_ns = now, .btime_ns = now, .parent = UDAX_ROOT_INO};
    inode_init_attr(root, &attr);
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
        for (const struct dir_name *n = dir_index_next(&dir->names, 0); n; n = dir_index_after(&dir->names, n)) {
            const struct inode *target = fs->inodes[n->ino];
            if (l->broken[n->ino])
                continue;
            if (!target)
                problem(l, "inode %llu: entry '%.*s' names free inode %llu", (unsigned long long)ino, n->len, n->name,
                        (unsigned long long)n->ino);
            else if (n->file_type != inode_dirent_type(target))
                problem(l, "inode %llu: entry '%.*s' has the wrong file type", (unsigned long long)ino, n->len,
                        n->name);
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

/* The allocator hands out a block of a 2 MiB chunk for the first time: the chunk's pages are about to be written. */
static void map_blocks_ahead(void *arg, uint64_t block, uint64_t count)
{
    struct fs *fs = arg;
    persist_map_ahead(&fs->pool.pm, pool_block(&fs->pool, block), count << UDAX_BLOCK_SHIFT);
}

int fs_open(struct fs *fs, const char *path, struct fs_check *check)
{
    memset(fs, 0, sizeof(*fs));
    /* The coarse clock may lag times that changes stamped before the pool last closed. */
    fs->time_floor_ns = now_ns();
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
    fs->free_inodes = calloc(inode_free_number_words(fs), sizeof(*fs->free_inodes));
    l.broken = calloc(pool->sb.inode_count, 1);
    if (check)
        check->salvaged = calloc(pool->sb.inode_count, 1);
    if (rc || !fs->inodes || !fs->free_inodes || !l.broken || (check && !check->salvaged)) {
        if (!rc)
            alloc_destroy(&fs->alloc);
        free(fs->inodes);
        free(fs->free_inodes);
        free(l.broken);
        if (check) {
            free(check->salvaged);
            check->salvaged = NULL;
        }
        pool_close(pool);
        return udax_fail(ENOMEM, "%s: out of memory", path);
    }
    alloc_on_first_use(&fs->alloc, map_blocks_ahead, fs);
    journal_init(&fs->journal, pool);
    fs->env = (struct log_env){pool, &fs->alloc, &fs->log_pages};
    mutex_init(&fs->rename_lock, LOCK_RENAME);

    bool fresh = !pool->inode_table[UDAX_ROOT_INO].log_head && pool_is_empty(fs);
    bool salvage_at_once = BUG_INJECTED(BUG_SALVAGE_ORDER);
    for (uint64_t ino = UDAX_ROOT_INO; ino < pool->sb.inode_count; ino++) {
        if (pool->inode_table[ino].log_head)
            load_inode(&l, ino);
        if (salvage_at_once && check && l.broken[ino] == BROKEN_DAMAGED)
            salvage(&l, ino);
    }
    for (uint64_t ino = UDAX_ROOT_INO; check && !salvage_at_once && ino < pool->sb.inode_count; ino++)
        if (l.broken[ino] == BROKEN_DAMAGED)
            salvage(&l, ino);
    free(l.claims);
    free(l.mappings);
    if (fresh && !create_root(fs))
        problem(&l, "no space for the root directory");
    struct inode *root = fs->inodes[UDAX_ROOT_INO];
    if (!root && !l.broken[UDAX_ROOT_INO]) {
        if (!check)
            problem(&l, "the root directory is missing");
        else if (!check->repair)
            report_problem(&l, true, "the root directory is missing; --repair creates an empty one");
        else if (create_root(fs))
            report_problem(&l, true, "the root directory is missing; repaired: created an empty one");
        else
            problem(&l, "the root directory is missing, and there is no space for a new one");
    } else if (root && !inode_is_dir(root)) {
        problem(&l, "the root is not a directory");
    }
    if (!check)
        check_names(&l);
    free(l.broken);
    if (l.problems && !check) {
        fs_close(fs);
        return udax_fail(EUCLEAN, "%s: pool is corrupt (%s); run udax fsck", path, l.first_problem);
    }
    inode_mark_free_numbers(fs);
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
    free(fs->free_inodes);
    fs->free_inodes = NULL;
    journal_destroy(&fs->journal);
    mutex_destroy(&fs->rename_lock);
    alloc_destroy(&fs->alloc);
    pool_close(&fs->pool);
}
