/* namei.c: walking paths, and create, mkdir, unlink, rmdir and rename as journaled multi-inode commits. */
#include "namei.h"
#include "util/inject_bug.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_dot(const char *name, size_t len)
{
    return len == 1 && name[0] == '.';
}

static bool is_dotdot(const char *name, size_t len)
{
    return len == 2 && name[0] == '.' && name[1] == '.';
}

static struct inode *lookup_child(struct fs *fs, struct inode *dir, const char *name, size_t len)
{
    struct inode *child = NULL;
    rwlock_read(&dir->iolock, dir->ino);
    const struct dir_name *n = dir_index_find(&dir->names, name, len);
    if (n) {
        child = fs->inodes[n->ino];
        inode_get(child);
    }
    rwlock_unlock(&dir->iolock);
    return child;
}

static struct inode *parent_of(struct fs *fs, struct inode *dir)
{
    mutex_lock(&dir->ilock, dir->ino);
    struct inode *parent = fs->inodes[dir->attr.parent];
    inode_get(parent);
    mutex_unlock(&dir->ilock);
    return parent;
}

/* Steps from *cur through one component, replacing the reference. */
static int step(struct fs *fs, struct inode **cur, const char *name, size_t len)
{
    if (!inode_is_dir(*cur))
        return ENOTDIR;
    if (is_dot(name, len))
        return 0;
    struct inode *next = is_dotdot(name, len) ? parent_of(fs, *cur) : lookup_child(fs, *cur, name, len);
    if (!next)
        return ENOENT;
    inode_put(fs, *cur);
    *cur = next;
    return 0;
}

int namei_parent(struct fs *fs, struct inode *start, const char *path, struct inode **parent, struct last_name *last)
{
    size_t total = strnlen(path, PATH_MAX);
    if (total == 0)
        return ENOENT;
    if (total == PATH_MAX)
        return ENAMETOOLONG;
    struct inode *cur = path[0] == '/' || !start ? fs->inodes[UDAX_ROOT_INO] : start;
    inode_get(cur);
    const char *p = path;
    *last = (struct last_name){0};
    for (;;) {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        size_t len = (size_t)(end - p);
        if (len > UDAX_NAME_MAX) {
            inode_put(fs, cur);
            return ENAMETOOLONG;
        }
        const char *rest = end;
        while (*rest == '/')
            rest++;
        if (!*rest) {
            *last = (struct last_name){p, len, *end == '/'};
            if (!inode_is_dir(cur)) {
                inode_put(fs, cur);
                return ENOTDIR;
            }
            *parent = cur;
            return 0;
        }
        int rc = step(fs, &cur, p, len);
        if (rc) {
            inode_put(fs, cur);
            return rc;
        }
        p = rest;
    }
}

int namei_lookup(struct fs *fs, struct inode *start, const char *path, struct inode **out)
{
    struct inode *dir;
    struct last_name last;
    int rc = namei_parent(fs, start, path, &dir, &last);
    if (rc)
        return rc;
    if (last.len) {
        rc = step(fs, &dir, last.name, last.len);
        if (rc) {
            inode_put(fs, dir);
            return rc;
        }
    }
    if (last.trailing_slash && !inode_is_dir(dir)) {
        inode_put(fs, dir);
        return ENOTDIR;
    }
    *out = dir;
    return 0;
}

static struct udax_attr touched(const struct inode *dir, int64_t now)
{
    struct udax_attr attr = dir->attr;
    attr.mtime_ns = now;
    attr.ctime_ns = now;
    return attr;
}

/* Takes ILOCKs of distinct inodes in inode-number order. */
static void lock_inodes(struct inode **inodes, size_t count)
{
    for (size_t i = 1; i < count; i++)
        for (size_t j = i; j > 0 && inodes[j - 1]->ino > inodes[j]->ino; j--) {
            struct inode *t = inodes[j];
            inodes[j] = inodes[j - 1];
            inodes[j - 1] = t;
        }
    for (size_t i = 0; i < count; i++)
        mutex_lock(&inodes[i]->ilock, inodes[i]->ino);
}

static void unlock_inodes(struct inode **inodes, size_t count)
{
    for (size_t i = count; i-- > 0;)
        mutex_unlock(&inodes[i]->ilock);
}

/* The caller holds dir's IOLOCK exclusive and has found no entry named so. */
static int create_child(struct fs *fs, struct inode *dir, const char *name, size_t len, mode_t mode,
                        struct inode **out)
{
    struct inode *inode = inode_claim(fs);
    if (!inode)
        return errno;
    int64_t now = now_ns();
    bool is_dir = S_ISDIR(mode);
    inode->attr = (struct udax_attr){.mode = mode, .uid = geteuid(), .gid = getegid(), .nlink = is_dir ? 2 : 1,
                                     .atime_ns = now, .mtime_ns = now, .ctime_ns = now, .parent = dir->ino};
    inode->is_dir = is_dir;
    uint8_t file_type = is_dir ? DT_DIR : DT_REG;
    struct log_txn child_txn, dir_txn;
    log_txn_begin_fresh(&child_txn, &inode->log);
    mutex_lock(&dir->ilock, dir->ino);
    log_txn_begin(&dir_txn, &dir->log);
    struct udax_attr dir_attr = touched(dir, now);
    int rc = dir->dead ? ENOENT : 0;
    if (!rc)
        rc = inode_log_attr(fs, &child_txn, &inode->attr);
    if (!rc)
        rc = inode_log_dentry(fs, &dir_txn, UDAX_ENTRY_DENTRY_ADD, name, len, inode->ino, file_type);
    if (!rc)
        rc = inode_log_attr(fs, &dir_txn, &dir_attr);
    if (!rc)
        rc = dir_index_put(&dir->names, name, len, inode->ino, file_type);
    if (rc) {
        log_abort(&fs->env, &dir_txn);
        log_abort(&fs->env, &child_txn);
        mutex_unlock(&dir->ilock);
        inode_unclaim(fs, inode);
        return rc;
    }
    struct journal_word words[] = {
        {log_tail_word(&fs->pool, dir->ino), dir_txn.pos},
        {log_head_word(&fs->pool, inode->ino), child_txn.head},
        {log_tail_word(&fs->pool, inode->ino), child_txn.pos},
    };
    journal_commit(&fs->journal, words, 3);
    log_txn_applied(&fs->env, &dir_txn);
    log_txn_applied(&fs->env, &child_txn);
    dir->attr = dir_attr;
    inode_maybe_compact(fs, dir);
    mutex_unlock(&dir->ilock);
    __atomic_fetch_add(is_dir ? &fs->directories : &fs->files, 1, __ATOMIC_RELAXED);
    *out = inode;
    return 0;
}

int namei_open(struct fs *fs, struct inode *start, const char *path, int flags, mode_t mode, struct inode **out)
{
    struct inode *inode = NULL;
    int rc;
    if (flags & O_CREAT) {
        struct inode *dir;
        struct last_name last;
        rc = namei_parent(fs, start, path, &dir, &last);
        if (rc)
            return rc;
        if (!last.len || is_dot(last.name, last.len) || is_dotdot(last.name, last.len)) {
            rc = flags & O_EXCL ? EEXIST : namei_lookup(fs, dir, last.len ? last.name : ".", &inode);
        } else if (last.trailing_slash) {
            /* As on Linux: open creates only regular files, so a name that must be a directory fails. */
            rc = EISDIR;
        } else {
            rwlock_write(&dir->iolock, dir->ino);
            const struct dir_name *n = dir_index_find(&dir->names, last.name, last.len);
            if (n && (flags & O_EXCL)) {
                rc = EEXIST;
            } else if (n) {
                inode = fs->inodes[n->ino];
                inode_get(inode);
            } else {
                rc = create_child(fs, dir, last.name, last.len, S_IFREG | (mode & 07777), &inode);
                if (!rc)
                    inode_get(inode);
            }
            rwlock_unlock(&dir->iolock);
        }
        inode_put(fs, dir);
        /* POSIX: EISDIR for O_CREAT without O_DIRECTORY on a directory, whatever the access mode. */
        if (!rc && inode_is_dir(inode) && !(flags & O_DIRECTORY))
            rc = EISDIR;
    } else {
        rc = namei_lookup(fs, start, path, &inode);
    }
    if (!rc && (flags & O_DIRECTORY) && !inode_is_dir(inode))
        rc = ENOTDIR;
    if (!rc && inode_is_dir(inode) && (flags & O_ACCMODE) != O_RDONLY)
        rc = EISDIR;
    if (rc) {
        if (inode)
            inode_put(fs, inode);
        return rc;
    }
    *out = inode;
    return 0;
}

int namei_mkdir(struct fs *fs, struct inode *start, const char *path, mode_t mode)
{
    struct inode *dir;
    struct last_name last;
    int rc = namei_parent(fs, start, path, &dir, &last);
    if (rc)
        return rc;
    if (!last.len || is_dot(last.name, last.len) || is_dotdot(last.name, last.len)) {
        inode_put(fs, dir);
        return EEXIST;
    }
    rwlock_write(&dir->iolock, dir->ino);
    struct inode *child;
    if (dir_index_find(&dir->names, last.name, last.len))
        rc = EEXIST;
    else
        rc = create_child(fs, dir, last.name, last.len, S_IFDIR | (mode & 07777), &child);
    rwlock_unlock(&dir->iolock);
    inode_put(fs, dir);
    return rc;
}

/* Appends a victim's loss of one link (all of them for a directory). */
static int log_unlinked(struct fs *fs, struct log_txn *txn, struct inode *victim, struct udax_attr *attr, int64_t now)
{
    *attr = victim->attr;
    attr->nlink = inode_is_dir(victim) ? 0 : attr->nlink - 1;
    attr->ctime_ns = now;
    return inode_log_attr(fs, txn, attr);
}

/* unlink and rmdir: the caller holds dir's IOLOCK exclusive; victim is referenced. */
static int remove_name(struct fs *fs, struct inode *dir, const struct last_name *last, struct inode *victim)
{
    struct inode *locked[] = {dir, victim};
    lock_inodes(locked, 2);
    int rc = inode_is_dir(victim) && victim->names.count ? ENOTEMPTY : 0;
    int64_t now = now_ns();
    struct udax_attr dir_attr = touched(dir, now), victim_attr;
    struct log_txn dir_txn, victim_txn;
    log_txn_begin(&dir_txn, &dir->log);
    log_txn_begin(&victim_txn, &victim->log);
    if (!rc)
        rc = inode_log_dentry(fs, &dir_txn, UDAX_ENTRY_DENTRY_DEL, last->name, last->len, victim->ino, 0);
    if (!rc)
        rc = inode_log_attr(fs, &dir_txn, &dir_attr);
    if (!rc)
        rc = log_unlinked(fs, &victim_txn, victim, &victim_attr, now);
    if (rc) {
        if (!BUG_INJECTED(BUG_FAULT_LEAK))
            log_abort(&fs->env, &dir_txn);
        log_abort(&fs->env, &victim_txn);
    } else {
        struct journal_word words[] = {
            {log_tail_word(&fs->pool, dir->ino), dir_txn.pos},
            {log_tail_word(&fs->pool, victim->ino), victim_txn.pos},
        };
        journal_commit(&fs->journal, words, 2);
        log_txn_applied(&fs->env, &dir_txn);
        log_txn_applied(&fs->env, &victim_txn);
        dir_index_remove(&dir->names, last->name, last->len);
        dir->attr = dir_attr;
        victim->attr = victim_attr;
        victim->dead = inode_is_dir(victim);
        inode_maybe_compact(fs, dir);
    }
    unlock_inodes(locked, 2);
    return rc;
}

static int unlink_or_rmdir(struct fs *fs, struct inode *start, const char *path, bool want_dir)
{
    struct inode *dir;
    struct last_name last;
    int rc = namei_parent(fs, start, path, &dir, &last);
    if (rc)
        return rc;
    if (!last.len)
        rc = want_dir ? EBUSY : EISDIR;
    else if (is_dot(last.name, last.len))
        rc = want_dir ? EINVAL : EISDIR;
    else if (is_dotdot(last.name, last.len))
        rc = want_dir ? ENOTEMPTY : EISDIR;
    if (rc) {
        inode_put(fs, dir);
        return rc;
    }
    rwlock_write(&dir->iolock, dir->ino);
    const struct dir_name *n = dir_index_find(&dir->names, last.name, last.len);
    struct inode *victim = NULL;
    if (!n)
        rc = ENOENT;
    else if (want_dir && n->file_type != DT_DIR)
        rc = ENOTDIR;
    else if (!want_dir && n->file_type == DT_DIR)
        rc = EISDIR;
    else if (!want_dir && last.trailing_slash)
        rc = ENOTDIR;
    if (!rc) {
        victim = fs->inodes[n->ino];
        inode_get(victim);
        rc = remove_name(fs, dir, &last, victim);
    }
    rwlock_unlock(&dir->iolock);
    if (victim)
        inode_put(fs, victim);
    inode_put(fs, dir);
    return rc;
}

int namei_unlink(struct fs *fs, struct inode *start, const char *path)
{
    return unlink_or_rmdir(fs, start, path, false);
}

int namei_rmdir(struct fs *fs, struct inode *start, const char *path)
{
    return unlink_or_rmdir(fs, start, path, true);
}

/* Under the rename lock: whether dir is ancestor itself or lies below it. */
static bool is_within(struct fs *fs, struct inode *dir, const struct inode *ancestor)
{
    for (uint64_t ino = dir->ino;;) {
        if (ino == ancestor->ino)
            return true;
        if (ino == UDAX_ROOT_INO)
            return false;
        struct inode *step = fs->inodes[ino];
        mutex_lock(&step->ilock, step->ino);
        ino = step->attr.parent;
        mutex_unlock(&step->ilock);
    }
}

static void add_unique(struct inode **set, size_t *count, struct inode *inode)
{
    for (size_t i = 0; i < *count; i++)
        if (set[i] == inode)
            return;
    set[(*count)++] = inode;
}

struct rename_op {
    struct inode *from_dir, *to_dir, *moved, *victim;
    struct last_name from, to;
    bool moves_dir_across;
};

static int commit_rename(struct fs *fs, struct rename_op *op)
{
    struct inode *locked[4] = {op->from_dir};
    size_t count = 1;
    add_unique(locked, &count, op->to_dir);
    if (op->moves_dir_across)
        add_unique(locked, &count, op->moved);
    if (op->victim)
        add_unique(locked, &count, op->victim);
    lock_inodes(locked, count);
    int rc = op->victim && inode_is_dir(op->victim) && op->victim->names.count ? ENOTEMPTY : 0;
    int64_t now = now_ns();
    struct udax_attr from_attr = touched(op->from_dir, now), to_attr = touched(op->to_dir, now);
    struct udax_attr moved_attr = op->moved->attr, victim_attr;
    moved_attr.parent = op->to_dir->ino;
    moved_attr.ctime_ns = now;
    struct log_txn from_txn, to_txn_storage, moved_txn, victim_txn;
    struct log_txn *to_txn = op->to_dir == op->from_dir ? &from_txn : &to_txn_storage;
    log_txn_begin(&from_txn, &op->from_dir->log);
    log_txn_begin(to_txn, &op->to_dir->log);
    log_txn_begin(&moved_txn, &op->moved->log);
    if (op->victim)
        log_txn_begin(&victim_txn, &op->victim->log);
    uint8_t file_type = inode_is_dir(op->moved) ? DT_DIR : DT_REG;
    if (!rc)
        rc = inode_log_dentry(fs, &from_txn, UDAX_ENTRY_DENTRY_DEL, op->from.name, op->from.len, op->moved->ino, 0);
    if (!rc)
        rc = inode_log_dentry(fs, to_txn, UDAX_ENTRY_DENTRY_ADD, op->to.name, op->to.len, op->moved->ino, file_type);
    if (!rc)
        rc = inode_log_attr(fs, &from_txn, &from_attr);
    if (!rc && to_txn != &from_txn)
        rc = inode_log_attr(fs, to_txn, &to_attr);
    if (!rc && op->moves_dir_across)
        rc = inode_log_attr(fs, &moved_txn, &moved_attr);
    if (!rc && op->victim)
        rc = log_unlinked(fs, &victim_txn, op->victim, &victim_attr, now);
    if (!rc)
        rc = dir_index_put(&op->to_dir->names, op->to.name, op->to.len, op->moved->ino, file_type);
    if (rc) {
        log_abort(&fs->env, &from_txn);
        if (to_txn != &from_txn)
            log_abort(&fs->env, to_txn);
        log_abort(&fs->env, &moved_txn);
        if (op->victim)
            log_abort(&fs->env, &victim_txn);
        unlock_inodes(locked, count);
        return rc;
    }
    struct journal_word words[4];
    unsigned n = 0;
    words[n++] = (struct journal_word){log_tail_word(&fs->pool, op->from_dir->ino), from_txn.pos};
    if (to_txn != &from_txn)
        words[n++] = (struct journal_word){log_tail_word(&fs->pool, op->to_dir->ino), to_txn->pos};
    if (op->moves_dir_across)
        words[n++] = (struct journal_word){log_tail_word(&fs->pool, op->moved->ino), moved_txn.pos};
    if (op->victim)
        words[n++] = (struct journal_word){log_tail_word(&fs->pool, op->victim->ino), victim_txn.pos};
    journal_commit(&fs->journal, words, n);
    log_txn_applied(&fs->env, &from_txn);
    if (to_txn != &from_txn)
        log_txn_applied(&fs->env, to_txn);
    if (op->moves_dir_across) {
        log_txn_applied(&fs->env, &moved_txn);
        op->moved->attr = moved_attr;
    }
    if (op->victim) {
        log_txn_applied(&fs->env, &victim_txn);
        op->victim->attr = victim_attr;
        op->victim->dead = inode_is_dir(op->victim);
    }
    dir_index_remove(&op->from_dir->names, op->from.name, op->from.len);
    op->from_dir->attr = from_attr;
    op->to_dir->attr = to_attr;
    inode_maybe_compact(fs, op->from_dir);
    if (op->to_dir != op->from_dir)
        inode_maybe_compact(fs, op->to_dir);
    unlock_inodes(locked, count);
    return 0;
}

static int check_rename_target(struct fs *fs, struct rename_op *op)
{
    const struct dir_name *target = dir_index_find(&op->to_dir->names, op->to.name, op->to.len);
    if (!target)
        return op->to.trailing_slash && !inode_is_dir(op->moved) ? ENOTDIR : 0;
    if (target->ino == op->moved->ino)
        return -1;
    op->victim = fs->inodes[target->ino];
    inode_get(op->victim);
    if (inode_is_dir(op->moved) && !inode_is_dir(op->victim))
        return ENOTDIR;
    if (!inode_is_dir(op->moved) && inode_is_dir(op->victim))
        return EISDIR;
    return 0;
}

static int rename_locked(struct fs *fs, struct rename_op *op)
{
    const struct dir_name *source = dir_index_find(&op->from_dir->names, op->from.name, op->from.len);
    if (!source)
        return ENOENT;
    op->moved = fs->inodes[source->ino];
    inode_get(op->moved);
    if ((op->from.trailing_slash || op->to.trailing_slash) && !inode_is_dir(op->moved))
        return ENOTDIR;
    if (op->from_dir == op->to_dir && op->from.len == op->to.len && !memcmp(op->from.name, op->to.name, op->to.len))
        return -1;
    if (inode_is_dir(op->moved) && op->from_dir != op->to_dir) {
        if (is_within(fs, op->to_dir, op->moved))
            return EINVAL;
        op->moves_dir_across = true;
    }
    int rc = check_rename_target(fs, op);
    return rc ? rc : commit_rename(fs, op);
}

static int check_rename_name(const struct last_name *last)
{
    if (!last->len)
        return EBUSY;
    if (is_dot(last->name, last->len) || is_dotdot(last->name, last->len))
        return EINVAL;
    return 0;
}

int namei_rename(struct fs *fs, struct inode *start, const char *from, const char *to)
{
    struct rename_op op = {0};
    int rc = namei_parent(fs, start, from, &op.from_dir, &op.from);
    if (rc)
        return rc;
    rc = namei_parent(fs, start, to, &op.to_dir, &op.to);
    if (rc) {
        inode_put(fs, op.from_dir);
        return rc;
    }
    rc = check_rename_name(&op.from);
    if (!rc)
        rc = check_rename_name(&op.to);
    if (!rc) {
        bool across = op.from_dir != op.to_dir;
        if (across) {
            mutex_lock(&fs->rename_lock, 0);
            struct inode *first = op.from_dir->ino < op.to_dir->ino ? op.from_dir : op.to_dir;
            struct inode *second = first == op.from_dir ? op.to_dir : op.from_dir;
            rwlock_write(&first->iolock, first->ino);
            rwlock_write(&second->iolock, second->ino);
        } else {
            rwlock_write(&op.from_dir->iolock, op.from_dir->ino);
        }
        rc = rename_locked(fs, &op);
        if (across) {
            rwlock_unlock(&op.to_dir->iolock);
            rwlock_unlock(&op.from_dir->iolock);
            mutex_unlock(&fs->rename_lock);
        } else {
            rwlock_unlock(&op.from_dir->iolock);
        }
    }
    if (op.victim)
        inode_put(fs, op.victim);
    if (op.moved)
        inode_put(fs, op.moved);
    inode_put(fs, op.to_dir);
    inode_put(fs, op.from_dir);
    return rc < 0 ? 0 : rc;
}
