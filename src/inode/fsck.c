/* fsck.c: the checks that recovery does not need to open a pool: superblock copies, names, links, connectivity. */
#include "fsck.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "namei.h"
#include "pool/superblock.h"
#include "util/error.h"

struct checker {
    struct fs fs;
    struct fs_check check;
    const struct udax_fsck_options *opts;
    uint64_t repaired;
    uint32_t *links;    /* names that lead to each inode */
    uint64_t *named_in; /* the directory holding a directory's name */
};

static void report(void *arg, const char *problem)
{
    const struct udax_fsck_options *opts = arg;
    if (opts->report)
        opts->report(opts->report_arg, problem);
}

static void found(struct checker *c, bool repairable, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void found(struct checker *c, bool repairable, const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    c->check.problems++;
    if (!repairable)
        c->check.unrepairable++;
    report((void *)c->opts, message);
}

static bool repairing(const struct checker *c)
{
    return c->opts->repair && !c->check.unrepairable;
}

/* Commits entries to several inodes at once, as namespace operations do. */
struct repair_txn {
    struct inode *inodes[2];
    struct log_txn txns[2];
    unsigned count;
};

static int commit_repair(struct checker *c, struct repair_txn *r)
{
    struct journal_word words[2];
    for (unsigned i = 0; i < r->count; i++)
        words[i] = (struct journal_word){log_tail_word(&c->fs.pool, r->inodes[i]->ino), r->txns[i].pos};
    journal_commit(&c->fs.journal, words, r->count);
    for (unsigned i = 0; i < r->count; i++)
        log_txn_applied(&c->fs.env, &r->txns[i]);
    c->repaired++;
    return 0;
}

static void abort_repair(struct checker *c, struct repair_txn *r)
{
    for (unsigned i = 0; i < r->count; i++)
        log_abort(&c->fs.env, &r->txns[i]);
}

static void check_superblocks(struct checker *c)
{
    struct pool *pool = &c->fs.pool;
    const struct udax_super *backup = pool_block(pool, UDAX_SUPER_BACKUP_BLOCK);
    bool backup_bad = superblock_problem(backup, pool->sb.pool_size) || memcmp(backup, &pool->sb, sizeof(*backup));
    if (backup_bad && !pool->primary_super_damaged)
        found(c, true, "backup superblock differs from the primary");
    if ((backup_bad || pool->primary_super_damaged) && c->opts->repair) {
        pool_write_superblocks(pool);
        c->repaired += 1 + (backup_bad && pool->primary_super_damaged);
    }
}

/*
 * Drops names of dir in one commit. For a directory that salvage cut back,
 * that commit is also the first to store its new tail: the cut and the loss
 * of its stale names become durable together.
 */
static void drop_names(struct checker *c, struct inode *dir, const struct dir_name *const *names, size_t count)
{
    struct repair_txn r = {.inodes = {dir}, .count = 1};
    log_txn_begin(&r.txns[0], &dir->log);
    for (size_t i = 0; i < count; i++) {
        if (inode_log_dentry(&c->fs, &r.txns[0], UDAX_ENTRY_DENTRY_DEL, names[i]->name, names[i]->len, names[i]->ino,
                             0, 0)) {
            abort_repair(c, &r);
            return;
        }
    }
    commit_repair(c, &r);
    c->repaired += count - 1;
    for (size_t i = 0; i < count; i++)
        dir_index_remove(&dir->names, names[i]->name, names[i]->len);
}

static void drop_name(struct checker *c, struct inode *dir, const struct dir_name *n)
{
    drop_names(c, dir, &n, 1);
}

/*
 * A directory whose log salvage cut back holds names from its past. Such a
 * name yields to the rest of the pool: it is stale when its inode has become
 * another type since, or already has every name it counts (one for a
 * directory, its link count for a file). Names in the other directories are
 * therefore counted first. doomed has room for every name of dir.
 */
static void check_dir_names(struct checker *c, struct inode *dir, bool salvaged, const struct dir_name **doomed)
{
    struct fs *fs = &c->fs;
    unsigned long long ino = dir->ino;
    size_t drops = 0;
    for (const struct dir_name *n = dir_index_next(&dir->names, 0); n; n = dir_index_after(&dir->names, n)) {
        struct inode *target = fs->inodes[n->ino];
        bool broken = !target && fs->pool.inode_table[n->ino].log_head;
        if (broken)
            continue;
        if (!target) {
            found(c, true, "directory %llu: entry '%.*s' names free inode %llu", ino, n->len, n->name,
                  (unsigned long long)n->ino);
            doomed[drops++] = n;
            continue;
        }
        bool wrong_type = n->file_type != inode_dirent_type(target);
        uint32_t names_due = inode_is_dir(target) ? 1 : target->attr.nlink;
        if (salvaged && (wrong_type || c->links[n->ino] >= names_due)) {
            found(c, true, "directory %llu: salvaged entry '%.*s' is stale: inode %llu %s", ino, n->len, n->name,
                  (unsigned long long)n->ino, wrong_type ? "is of another type now" : "has all its names elsewhere");
            doomed[drops++] = n;
            continue;
        }
        if (wrong_type) {
            found(c, false, "directory %llu: entry '%.*s' has the wrong file type", ino, n->len, n->name);
            continue;
        }
        c->links[n->ino]++;
        if (inode_is_dir(target))
            c->named_in[n->ino] = dir->ino;
    }
    if (drops && repairing(c))
        drop_names(c, dir, doomed, drops);
}

static void check_names(struct checker *c)
{
    struct fs *fs = &c->fs;
    for (uint8_t salvaged = 0; salvaged < 2; salvaged++) {
        for (uint64_t ino = 1; ino < fs->pool.sb.inode_count; ino++) {
            struct inode *dir = fs->inodes[ino];
            if (!dir || !inode_is_dir(dir) || c->check.salvaged[ino] != salvaged)
                continue;
            const struct dir_name **doomed = malloc((dir->names.count + 1) * sizeof(*doomed));
            if (!doomed) {
                found(c, false, "out of memory for the names of directory %llu", (unsigned long long)ino);
                continue;
            }
            check_dir_names(c, dir, salvaged, doomed);
            free(doomed);
        }
    }
}

/*
 * Stores the new tail of every log salvage cut back that no repair has
 * committed to since. Last, and only when the repairs ran: a crash before
 * leaves those logs damaged, to be salvaged again by the next fsck.
 */
static void store_salvaged_tails(struct checker *c)
{
    struct fs *fs = &c->fs;
    bool any = false;
    for (uint64_t ino = 1; ino < fs->pool.sb.inode_count; ino++) {
        struct inode *inode = fs->inodes[ino];
        uint64_t *tail = log_tail_word(&fs->pool, ino);
        if (!c->check.salvaged[ino] || !inode || *tail == inode->log.tail)
            continue;
        any = true;
        if (repairing(c))
            persist_store_word(&fs->pool.pm, tail, inode->log.tail);
    }
    if (any && !repairing(c))
        found(c, false, "salvaged logs left as they were, since other problems cannot be repaired");
}

static void set_attr(struct checker *c, struct inode *inode, const struct udax_attr *attr)
{
    struct repair_txn r = {.inodes = {inode}, .count = 1};
    log_txn_begin(&r.txns[0], &inode->log);
    if (inode_log_attr(&c->fs, &r.txns[0], attr)) {
        abort_repair(c, &r);
        return;
    }
    commit_repair(c, &r);
    inode->attr = *attr;
}

/* Gives a disconnected inode a name in /lost+found, and a directory its new parent, in one commit. */
static void reconnect(struct checker *c, struct inode *inode)
{
    struct fs *fs = &c->fs;
    struct inode *lost;
    /* fsck acts as root, owner of what it creates, with nothing masked. */
    const struct cred root = {0};
    if (namei_lookup(fs, &root, NULL, "/lost+found", 0, &lost)) {
        if (namei_mkdir(fs, &root, NULL, "/lost+found", 0700) || namei_lookup(fs, &root, NULL, "/lost+found", 0, &lost))
            return;
    }
    if (!inode_is_dir(lost)) {
        found(c, false, "/lost+found is not a directory, so inode %llu stays disconnected",
              (unsigned long long)inode->ino);
        inode_put(fs, lost);
        return;
    }
    char name[32];
    int len = snprintf(name, sizeof(name), "#%llu", (unsigned long long)inode->ino);
    struct repair_txn r = {.inodes = {lost, inode}, .count = inode_is_dir(inode) ? 2 : 1};
    log_txn_begin(&r.txns[0], &lost->log);
    log_txn_begin(&r.txns[1], &inode->log);
    struct udax_attr attr = inode->attr;
    attr.parent = lost->ino;
    if (attr.nlink == 0)
        attr.nlink = 1;
    uint8_t type = inode_dirent_type(inode);
    int rc = inode_log_dentry(fs, &r.txns[0], UDAX_ENTRY_DENTRY_ADD, name, (size_t)len, inode->ino, type, 0);
    if (!rc && r.count == 2)
        rc = inode_log_attr(fs, &r.txns[1], &attr);
    if (!rc)
        rc = dir_index_put(&lost->names, name, (size_t)len, inode->ino, type);
    if (rc) {
        abort_repair(c, &r);
    } else {
        commit_repair(c, &r);
        if (r.count == 2)
            inode->attr = attr;
        c->links[inode->ino] = 1;
        c->named_in[inode->ino] = lost->ino;
    }
    inode_put(fs, lost);
}

/* Marks what can be reached from ino through names; queue has room for every inode. */
static void mark_reachable(struct fs *fs, uint8_t *seen, uint64_t *queue, uint64_t ino)
{
    size_t head = 0, tail = 0;
    queue[tail++] = ino;
    seen[ino] = 1;
    while (head < tail) {
        struct inode *dir = fs->inodes[queue[head++]];
        if (!dir || !inode_is_dir(dir))
            continue;
        for (const struct dir_name *n = dir_index_next(&dir->names, 0); n; n = dir_index_after(&dir->names, n))
            if (fs->inodes[n->ino] && !seen[n->ino]) {
                seen[n->ino] = 1;
                queue[tail++] = n->ino;
            }
    }
}

/* Drops the names of ino that detached directories hold, before ino is given one in /lost+found. */
static void drop_detached_names(struct checker *c, const uint8_t *seen, uint64_t ino)
{
    struct fs *fs = &c->fs;
    for (uint64_t d = UDAX_ROOT_INO + 1; d < fs->pool.sb.inode_count; d++) {
        struct inode *dir = fs->inodes[d];
        if (!dir || seen[d] || !inode_is_dir(dir))
            continue;
        for (const struct dir_name *n = dir_index_next(&dir->names, 0), *next; n; n = next) {
            next = dir_index_after(&dir->names, n);
            if (n->ino == ino)
                drop_name(c, dir, n);
        }
    }
}

/*
 * Only the top of a detached subtree goes to /lost+found: what lies below
 * keeps its place in it. Directories that name each other in a cycle have no
 * top; one of them loses the names the others hold and goes there instead,
 * and its subtree comes along. What is detached is decided before the first
 * repair, which may create /lost+found itself.
 */
static void check_connectivity(struct checker *c)
{
    enum { DETACHED = 1, NAMED = 2 };
    struct fs *fs = &c->fs;
    uint64_t count = fs->pool.sb.inode_count;
    uint8_t *seen = calloc(count, 1);
    uint8_t *state = calloc(count, 1);
    uint64_t *queue = calloc(count, sizeof(*queue));
    if (!seen || !state || !queue) {
        free(seen);
        free(state);
        free(queue);
        found(c, false, "out of memory for the connectivity check");
        return;
    }
    mark_reachable(fs, seen, queue, UDAX_ROOT_INO);
    for (uint64_t ino = UDAX_ROOT_INO + 1; ino < count; ino++) {
        struct inode *dir = fs->inodes[ino];
        if (!dir || seen[ino])
            continue;
        state[ino] |= DETACHED;
        if (!inode_is_dir(dir))
            continue;
        for (const struct dir_name *n = dir_index_next(&dir->names, 0); n; n = dir_index_after(&dir->names, n))
            state[n->ino] |= NAMED;
    }
    for (int in_cycle = 0; in_cycle < 2; in_cycle++) {
        for (uint64_t ino = UDAX_ROOT_INO + 1; ino < count; ino++) {
            if (!(state[ino] & DETACHED) || seen[ino])
                continue;
            if (in_cycle ? !inode_is_dir(fs->inodes[ino]) : state[ino] & NAMED)
                continue;
            found(c, true, "inode %llu is not connected to the directory tree", (unsigned long long)ino);
            if (repairing(c)) {
                if (in_cycle)
                    drop_detached_names(c, seen, ino);
                reconnect(c, fs->inodes[ino]);
            }
            mark_reachable(fs, seen, queue, ino);
        }
    }
    free(seen);
    free(state);
    free(queue);
}

static void check_links(struct checker *c)
{
    struct fs *fs = &c->fs;
    for (uint64_t ino = UDAX_ROOT_INO + 1; ino < fs->pool.sb.inode_count; ino++) {
        struct inode *inode = fs->inodes[ino];
        if (!inode || !c->links[ino])
            continue;
        if (inode_is_dir(inode)) {
            if (c->links[ino] > 1)
                found(c, false, "directory %llu has %u names", (unsigned long long)ino, c->links[ino]);
            else if (inode->attr.parent != c->named_in[ino]) {
                found(c, true, "directory %llu records parent %llu but is named in %llu", (unsigned long long)ino,
                      (unsigned long long)inode->attr.parent, (unsigned long long)c->named_in[ino]);
                if (repairing(c)) {
                    struct udax_attr attr = inode->attr;
                    attr.parent = c->named_in[ino];
                    set_attr(c, inode, &attr);
                }
            }
        } else if (inode->attr.nlink != c->links[ino]) {
            found(c, true, "inode %llu has link count %u but %u names", (unsigned long long)ino, inode->attr.nlink,
                  c->links[ino]);
            if (repairing(c)) {
                struct udax_attr attr = inode->attr;
                attr.nlink = c->links[ino];
                set_attr(c, inode, &attr);
            }
        }
    }
}

int fs_fsck(const char *path, const struct udax_fsck_options *opts, struct udax_fsck_result *result)
{
    struct udax_fsck_options defaults = {0};
    struct checker *c = calloc(1, sizeof(*c));
    if (!c)
        return udax_fail(ENOMEM, "fsck: out of memory"), UDAX_FSCK_FAILED;
    c->opts = opts ? opts : &defaults;
    c->check = (struct fs_check){.report = report, .arg = (void *)c->opts, .repair = c->opts->repair};
    if (fs_open(&c->fs, path, &c->check)) {
        free(c);
        return UDAX_FSCK_FAILED;
    }
    uint64_t count = c->fs.pool.sb.inode_count;
    c->links = calloc(count, sizeof(*c->links));
    c->named_in = calloc(count, sizeof(*c->named_in));
    if (c->links && c->named_in) {
        check_superblocks(c);
        check_names(c);
        check_connectivity(c);
        check_links(c);
        store_salvaged_tails(c);
    } else {
        found(c, false, "out of memory");
    }
    if (result)
        *result = (struct udax_fsck_result){c->check.problems, c->repaired, c->check.inodes_checked,
                                            c->check.blocks_checked};
    int status = !c->check.problems                                      ? UDAX_FSCK_CLEAN
                 : c->opts->repair && !c->check.unrepairable             ? UDAX_FSCK_CORRECTED
                                                                         : UDAX_FSCK_UNCORRECTED;
    free(c->links);
    free(c->named_in);
    free(c->check.salvaged);
    fs_close(&c->fs);
    free(c);
    return status;
}
