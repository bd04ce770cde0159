/* namei.c: path walks with symlinks and permission checks, and the namespace operations as journaled multi-inode commits. */
#include "namei.h"
#include "util/inject_bug.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_dot(const char *name, size_t len)
{
    return len == 1 && name[0] == '.';
}

static bool is_dotdot(const char *name, size_t len)
{
    return len == 2 && name[0] == '.' && name[1] == '.';
}

struct last_name {
    const char *name;
    size_t len; /* 0 for the root itself */
    bool trailing_slash;
};

static bool names_no_entry(const struct last_name *last)
{
    return !last->len || is_dot(last->name, last->len) || is_dotdot(last->name, last->len);
}

/* One walk: the rest of the path, rewritten in place as symlinks expand. */
struct walk {
    struct fs *fs;
    const struct cred *cred;
    unsigned links;
    char path[PATH_MAX];
};

static int walk_init(struct walk *w, struct fs *fs, const struct cred *cred, const char *path)
{
    size_t len = strlen(path);
    if (len == 0)
        return ENOENT;
    if (len >= PATH_MAX)
        return ENAMETOOLONG;
    memcpy(w->path, path, len + 1);
    w->fs = fs;
    w->cred = cred;
    w->links = 0;
    return 0;
}

static struct inode *root_of(struct fs *fs)
{
    struct inode *root = fs->inodes[UDAX_ROOT_INO];
    inode_get(root);
    return root;
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
    inode_lock(dir);
    struct inode *parent = fs->inodes[dir->attr.parent];
    inode_get(parent);
    inode_unlock(dir);
    return parent;
}

/* Looks name up in dir, which the walker must be allowed to search; *child is referenced. */
static int walk_child(struct walk *w, struct inode *dir, const char *name, size_t len, struct inode **child)
{
    if (!inode_is_dir(dir))
        return ENOTDIR;
    int rc = inode_permission(w->cred, dir, MAY_EXEC);
    if (rc)
        return rc;
    if (is_dot(name, len)) {
        inode_get(dir);
        *child = dir;
        return 0;
    }
    *child = is_dotdot(name, len) ? parent_of(w->fs, dir) : lookup_child(w->fs, dir, name, len);
    return *child ? 0 : ENOENT;
}

/* Makes the walk go on through link's target, then rest (which may point into w->path). */
static int follow(struct walk *w, struct inode *link, const char *rest)
{
    if (++w->links > NAMEI_MAX_SYMLINKS)
        return ELOOP;
    char expanded[PATH_MAX];
    size_t len = inode_symlink_target(w->fs, link, expanded, sizeof(expanded));
    size_t rest_len = strlen(rest);
    if (len + 1 + rest_len >= PATH_MAX)
        return ENAMETOOLONG;
    expanded[len] = '/';
    memcpy(expanded + len + 1, rest, rest_len + 1);
    if (!rest_len)
        expanded[len] = '\0';
    memcpy(w->path, expanded, len + 1 + rest_len + 1);
    return 0;
}

/* Walks every component of w->path but the last, following symlinks; *parent is referenced. */
static int walk_parent(struct walk *w, struct inode *start, struct inode **parent, struct last_name *last)
{
    struct fs *fs = w->fs;
    const char *p = w->path;
    struct inode *cur = p[0] == '/' || !start ? fs->inodes[UDAX_ROOT_INO] : start;
    inode_get(cur);
    for (;;) {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        size_t len = (size_t)(end - p);
        const char *rest = end;
        while (*rest == '/')
            rest++;
        int rc = len > UDAX_NAME_MAX ? ENAMETOOLONG : 0;
        if (!rc && !*rest) {
            *last = (struct last_name){p, len, *end == '/'};
            if (inode_is_dir(cur)) {
                *parent = cur;
                return 0;
            }
            rc = ENOTDIR;
        }
        struct inode *next = NULL;
        if (!rc)
            rc = walk_child(w, cur, p, len, &next);
        if (!rc && inode_is_symlink(next)) {
            rc = follow(w, next, rest);
            inode_put(fs, next);
            p = w->path;
            if (!rc && *p == '/') {
                inode_put(fs, cur);
                cur = root_of(fs);
            }
        } else if (!rc) {
            inode_put(fs, cur);
            cur = next;
            p = rest;
        }
        if (rc) {
            inode_put(fs, cur);
            return rc;
        }
    }
}

/* walk_parent, and the search permission on the parent that any use of the last name needs. */
static int walk_to_last(struct walk *w, struct inode *start, struct inode **parent, struct last_name *last)
{
    int rc = walk_parent(w, start, parent, last);
    if (!rc && last->len) {
        rc = inode_permission(w->cred, *parent, MAY_EXEC);
        if (rc) {
            inode_put(w->fs, *parent);
            *parent = NULL;
        }
    }
    return rc;
}

/* walk_init and walk_to_last: from path to its parent, searchable, and its last name. */
static int walk_path_to_last(struct walk *w, struct fs *fs, const struct cred *cred, struct inode *start,
                             const char *path, struct inode **parent, struct last_name *last)
{
    int rc = walk_init(w, fs, cred, path);
    return rc ? rc : walk_to_last(w, start, parent, last);
}

/* Makes the walk go on through link, the last component of a walk whose parent was dir; *parent is referenced. */
static int follow_last(struct walk *w, struct inode *dir, struct inode *link, bool trailing_slash,
                       struct inode **parent, struct last_name *last)
{
    int rc = follow(w, link, trailing_slash ? "/" : "");
    return rc ? rc : walk_parent(w, dir, parent, last);
}

/* Resolves the last name of a walk; takes over the reference on parent; *out is referenced. */
static int walk_last(struct walk *w, struct inode *parent, struct last_name last, unsigned flags, struct inode **out)
{
    struct fs *fs = w->fs;
    for (;;) {
        struct inode *child = parent;
        int rc = 0;
        if (last.len)
            rc = walk_child(w, parent, last.name, last.len, &child);
        else
            inode_get(parent);
        if (!rc && inode_is_symlink(child) && ((flags & LOOKUP_FOLLOW) || last.trailing_slash)) {
            struct inode *dir = parent;
            rc = follow_last(w, dir, child, last.trailing_slash, &parent, &last);
            inode_put(fs, child);
            inode_put(fs, dir);
            if (rc)
                return rc;
            continue;
        }
        inode_put(fs, parent);
        if (!rc && last.trailing_slash && !inode_is_dir(child)) {
            inode_put(fs, child);
            rc = ENOTDIR;
        }
        if (!rc)
            *out = child;
        return rc;
    }
}

int namei_lookup(struct fs *fs, const struct cred *cred, struct inode *start, const char *path, unsigned flags,
                 struct inode **out)
{
    if (!*path && (flags & LOOKUP_EMPTY)) {
        *out = start ? start : fs->inodes[UDAX_ROOT_INO];
        inode_get(*out);
        return 0;
    }
    struct walk w;
    struct inode *dir;
    struct last_name last;
    int rc = walk_init(&w, fs, cred, path);
    if (!rc)
        rc = walk_parent(&w, start, &dir, &last);
    return rc ? rc : walk_last(&w, dir, last, flags, out);
}

/* A name of dir changed at now: what replaying the DENTRY entry that carries now does. */
static void touch(struct inode *dir, int64_t now)
{
    dir->attr.mtime_ns = now;
    dir->attr.ctime_ns = now;
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
        inode_lock(inodes[i]);
}

static void unlock_inodes(struct inode **inodes, size_t count)
{
    for (size_t i = count; i-- > 0;)
        inode_unlock(inodes[i]);
}

/* What a new inode is: its type and permissions (before the umask), its device, a symlink's target. */
struct new_inode {
    mode_t mode;
    dev_t rdev;
    const char *target;
    size_t target_len;
};

/* Owner, group and mode of a new inode, as Linux sets them: a set-group-ID directory passes on its group. */
static struct udax_attr new_attr(const struct cred *cred, const struct inode *dir, const struct new_inode *spec,
                                 int64_t now)
{
    uint32_t mode = (uint32_t)spec->mode;
    if (!S_ISLNK(mode))
        mode &= ~(cred->umask & 0777);
    uint32_t gid = cred->gid;
    if (dir->attr.mode & S_ISGID) {
        gid = dir->attr.gid;
        if (S_ISDIR(mode))
            mode |= S_ISGID;
        else if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && !cred_is_root(cred) &&
                 !cred_in_group(cred, gid))
            mode &= ~(uint32_t)S_ISGID;
    }
    return (struct udax_attr){.mode = mode, .uid = cred->uid, .gid = gid, .nlink = S_ISDIR(mode) ? 2 : 1,
                              .atime_ns = now, .mtime_ns = now, .ctime_ns = now, .btime_ns = now,
                              .parent = dir->ino, .rdev = (uint64_t)spec->rdev};
}

/* A symlink's target goes in one data block, written and flushed before the commit that maps it. */
static int log_symlink_target(struct fs *fs, struct log_txn *txn, const struct new_inode *spec, int64_t now,
                              uint64_t *block)
{
    int rc = alloc_metadata_block(&fs->alloc, block);
    if (rc)
        return rc;
    persist_copy(&fs->pool.pm, pool_block(&fs->pool, *block), spec->target, spec->target_len);
    struct udax_entry_extent entry = {.page = 0, .block = *block, .count = 1, .size = spec->target_len,
                                      .mtime_ns = now, .ctime_ns = now};
    rc = log_append(&fs->env, txn, &entry, UDAX_ENTRY_EXTENT, 0, sizeof(entry));
    if (rc) {
        alloc_free(&fs->alloc, *block, 1);
        *block = 0;
    }
    return rc;
}

/* The caller holds dir's IOLOCK exclusive, has found no entry named so, and may write dir. */
static int create_child(struct fs *fs, const struct cred *cred, struct inode *dir, const struct last_name *last,
                        const struct new_inode *spec, struct inode **out)
{
    struct inode *inode = inode_claim(fs);
    if (!inode)
        return errno;
    inode_lock(dir);
    struct inode *changed[] = {dir, inode};
    int64_t now = inode_change_time(fs, changed, 2);
    struct udax_attr attr = new_attr(cred, dir, spec, now);
    attr.size = spec->target_len;
    inode_init_attr(inode, &attr);
    uint8_t file_type = inode_dirent_type(inode);
    struct log_txn child_txn, dir_txn;
    log_txn_begin_fresh(&child_txn, &inode->log);
    log_txn_begin(&dir_txn, &dir->log);
    uint64_t target_block = 0;
    int rc = dir->removed_from ? ENOENT : 0;
    if (!rc)
        rc = inode_log_attr(fs, &child_txn, &inode->attr);
    if (!rc && spec->target)
        rc = log_symlink_target(fs, &child_txn, spec, now, &target_block);
    if (!rc)
        rc = inode_log_dentry(fs, &dir_txn, UDAX_ENTRY_DENTRY_ADD, last->name, last->len, inode->ino, file_type, now);
    if (!rc && target_block)
        rc = extent_map(&inode->extents, 0, target_block, 1, NULL, NULL);
    if (!rc)
        rc = dir_index_add(&dir->names, last->name, last->len, inode->ino, file_type);
    if (rc) {
        log_abort(&fs->env, &dir_txn);
        log_abort(&fs->env, &child_txn);
        inode_unlock(dir);
        if (target_block)
            alloc_free(&fs->alloc, target_block, 1);
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
    touch(dir, now);
    inode_maybe_compact(fs, dir);
    inode_unlock(dir);
    __atomic_fetch_add(inode_is_dir(inode) ? &fs->directories : &fs->files, 1, __ATOMIC_RELAXED);
    *out = inode;
    return 0;
}

/* Creates a name that must not exist yet; *out, when asked for, is referenced. */
static int create_name(struct fs *fs, const struct cred *cred, struct inode *start, const char *path,
                       const struct new_inode *spec, struct inode **out)
{
    struct walk w;
    struct inode *dir;
    struct last_name last;
    int rc = walk_path_to_last(&w, fs, cred, start, path, &dir, &last);
    if (rc)
        return rc;
    if (names_no_entry(&last)) {
        inode_put(fs, dir);
        return EEXIST;
    }
    rwlock_write(&dir->iolock, dir->ino);
    if (dir_index_find(&dir->names, last.name, last.len))
        rc = EEXIST;
    else if (last.trailing_slash && !S_ISDIR(spec->mode))
        rc = ENOENT;
    else
        rc = inode_permission(cred, dir, MAY_WRITE | MAY_EXEC);
    /* Devices are root's to make; Linux asks after EEXIST and the directory's permission, so udax does too. */
    if (!rc && (S_ISCHR(spec->mode) || S_ISBLK(spec->mode)) && !cred_is_root(cred))
        rc = EPERM;
    struct inode *child = NULL;
    if (!rc)
        rc = create_child(fs, cred, dir, &last, spec, &child);
    if (!rc && out) {
        inode_get(child);
        *out = child;
    }
    rwlock_unlock(&dir->iolock);
    inode_put(fs, dir);
    return rc;
}

int namei_mkdir(struct fs *fs, const struct cred *cred, struct inode *start, const char *path, mode_t mode)
{
    /* As on Linux, mkdir's mode gives no set-ID bit: S_ISGID comes only from a set-group-ID parent. */
    struct new_inode spec = {.mode = S_IFDIR | (mode & (S_IRWXU | S_IRWXG | S_IRWXO | S_ISVTX))};
    return create_name(fs, cred, start, path, &spec, NULL);
}

int namei_mknod(struct fs *fs, const struct cred *cred, struct inode *start, const char *path, mode_t mode, dev_t dev)
{
    switch (mode & S_IFMT) {
    case 0:
        mode |= S_IFREG;
        break;
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
    case S_IFCHR:
    case S_IFBLK:
        break;
    case S_IFDIR:
        return EPERM;
    default:
        return EINVAL;
    }
    struct new_inode spec = {.mode = mode & (S_IFMT | 07777), .rdev = S_ISCHR(mode) || S_ISBLK(mode) ? dev : 0};
    return create_name(fs, cred, start, path, &spec, NULL);
}

int namei_symlink(struct fs *fs, const struct cred *cred, const char *target, struct inode *start, const char *path)
{
    size_t len = strnlen(target, PATH_MAX);
    if (len == 0)
        return ENOENT;
    if (len == PATH_MAX)
        return ENAMETOOLONG;
    struct new_inode spec = {.mode = S_IFLNK | 0777, .target = target, .target_len = len};
    return create_name(fs, cred, start, path, &spec, NULL);
}

/* What opening an existing inode asks of its permissions. */
static int may_open(const struct cred *cred, struct inode *inode, int flags)
{
    if (flags & O_PATH)
        return 0;
    if (inode_is_symlink(inode))
        return ELOOP;
    if (inode_is_dir(inode) && (flags & O_ACCMODE) != O_RDONLY)
        return EISDIR;
    int may = 0;
    if ((flags & O_ACCMODE) != O_WRONLY)
        may |= MAY_READ;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
        may |= MAY_WRITE;
    int rc = inode_permission(cred, inode, may);
    /* The library cannot be the other end of a FIFO or socket, nor a device driver; a FUSE mount's kernel is. */
    if (!rc && !inode_is_dir(inode) && !inode_is_regular(inode))
        rc = ENXIO;
    return rc;
}

/* O_CREAT: opens the name in dir, following a symlink there, or creates it; takes over dir's reference. */
static int open_or_create(struct walk *w, struct inode *dir, struct last_name last, int flags, mode_t mode,
                          struct inode **out, bool *created)
{
    struct fs *fs = w->fs;
    for (;;) {
        int rc = 0;
        if (names_no_entry(&last))
            return flags & O_EXCL ? (inode_put(fs, dir), EEXIST) : walk_last(w, dir, last, 0, out);
        /* As on Linux: open creates only regular files, so a name that must be a directory fails. */
        if (last.trailing_slash)
            rc = EISDIR;
        struct inode *found = NULL;
        if (!rc) {
            rwlock_write(&dir->iolock, dir->ino);
            const struct dir_name *n = dir_index_find(&dir->names, last.name, last.len);
            if (n && (flags & O_EXCL)) {
                rc = EEXIST;
            } else if (n) {
                found = fs->inodes[n->ino];
                inode_get(found);
            } else {
                rc = inode_permission(w->cred, dir, MAY_WRITE | MAY_EXEC);
                struct new_inode spec = {.mode = S_IFREG | (mode & 07777)};
                if (!rc)
                    rc = create_child(fs, w->cred, dir, &last, &spec, &found);
                if (!rc) {
                    inode_get(found);
                    *created = true;
                }
            }
            rwlock_unlock(&dir->iolock);
        }
        if (!rc && inode_is_symlink(found) && !(flags & O_NOFOLLOW)) {
            struct inode *link_dir = dir;
            rc = follow_last(w, link_dir, found, false, &dir, &last);
            inode_put(fs, found);
            inode_put(fs, link_dir);
            if (rc)
                return rc;
            continue;
        }
        inode_put(fs, dir);
        if (!rc)
            *out = found;
        return rc;
    }
}

int namei_open_existing(const struct cred *cred, struct inode *inode, int flags)
{
    bool creating = (flags & O_CREAT) && !(flags & O_PATH);
    if (creating && (flags & O_EXCL))
        return EEXIST;
    /* POSIX: EISDIR for O_CREAT on a directory, whatever the access mode (the caller refuses O_DIRECTORY with it). */
    if (creating && inode_is_dir(inode))
        return EISDIR;
    if ((flags & O_DIRECTORY) && !inode_is_dir(inode))
        return ENOTDIR;
    return may_open(cred, inode, flags);
}

int namei_open(struct fs *fs, const struct cred *cred, struct inode *start, const char *path, int flags, mode_t mode,
               struct inode **out)
{
    struct walk w;
    struct inode *dir, *inode = NULL;
    struct last_name last;
    bool created = false;
    int rc = walk_init(&w, fs, cred, path);
    if (!rc)
        rc = walk_parent(&w, start, &dir, &last);
    if (rc)
        return rc;
    if ((flags & O_CREAT) && !(flags & O_PATH)) {
        rc = last.len ? inode_permission(cred, dir, MAY_EXEC) : 0;
        if (rc)
            inode_put(fs, dir);
        else
            rc = open_or_create(&w, dir, last, flags, mode, &inode, &created);
    } else {
        rc = walk_last(&w, dir, last, flags & O_NOFOLLOW ? 0 : LOOKUP_FOLLOW, &inode);
    }
    if (!rc && !created)
        rc = namei_open_existing(cred, inode, flags);
    if (rc) {
        if (inode)
            inode_put(fs, inode);
        return rc;
    }
    *out = inode;
    return 0;
}

/*
 * Only the caller holds inode, which has just lost its last name under dir's
 * exclusive IOLOCK: no descriptor, mapping or walker can reach it any more.
 */
static bool unreachable_once_unnamed(struct inode *inode, const struct udax_attr *attr)
{
    return attr->nlink == 0 && (__atomic_load_n(&inode->refs, __ATOMIC_ACQUIRE) & ~INODE_UNNAMED) == 1;
}

/*
 * Under the ILOCKs of dir and inode: appends a change of one name in dir at
 * now (a DENTRY_ADD naming inode, or with removed, the index's entry for the
 * name, a DENTRY_DEL) and the new attributes of inode, and commits the two
 * tails in one journaled store. An inode that the removal leaves unreachable
 * is freed by that same store, which clears its record, instead of logging
 * attributes that nothing will read. A new name enters the index before the
 * commit, while running out of memory can still undo it.
 */
static int commit_name_change(struct fs *fs, struct inode *dir, const struct last_name *last,
                              const struct dir_name *removed, struct inode *inode, int64_t now,
                              const struct udax_attr *inode_attr)
{
    uint8_t entry_type = removed ? UDAX_ENTRY_DENTRY_DEL : UDAX_ENTRY_DENTRY_ADD;
    uint8_t file_type = removed ? 0 : inode_dirent_type(inode);
    bool frees_inode = removed && unreachable_once_unnamed(inode, inode_attr);
    struct log_txn dir_txn, inode_txn;
    log_txn_begin(&dir_txn, &dir->log);
    log_txn_begin(&inode_txn, &inode->log);
    int rc = inode_log_dentry(fs, &dir_txn, entry_type, last->name, last->len, inode->ino, file_type, now);
    if (!rc && !frees_inode)
        rc = inode_log_attr(fs, &inode_txn, inode_attr);
    if (!rc && file_type)
        rc = dir_index_add(&dir->names, last->name, last->len, inode->ino, file_type);
    if (rc) {
        if (!BUG_INJECTED(BUG_FAULT_LEAK))
            log_abort(&fs->env, &dir_txn);
        log_abort(&fs->env, &inode_txn);
        return rc;
    }
    struct journal_word words[] = {
        {log_tail_word(&fs->pool, dir->ino), dir_txn.pos},
        frees_inode ? (struct journal_word){log_head_word(&fs->pool, inode->ino), 0}
                    : (struct journal_word){log_tail_word(&fs->pool, inode->ino), inode_txn.pos},
    };
    journal_commit(&fs->journal, words, 2);
    log_txn_applied(&fs->env, &dir_txn);
    if (frees_inode)
        inode->record_cleared = true;
    else
        log_txn_applied(&fs->env, &inode_txn);
    if (removed)
        dir_index_remove_key(&dir->names, removed->key);
    touch(dir, now);
    inode->attr = *inode_attr;
    if (!inode_attr->nlink)
        inode_mark_unnamed(inode);
    inode_maybe_compact(fs, dir);
    if (!frees_inode)
        inode_maybe_compact(fs, inode);
    return 0;
}

int namei_link(struct fs *fs, const struct cred *cred, struct inode *old_start, const char *old_path, unsigned old_flags,
               struct inode *new_start, const char *new_path)
{
    struct inode *target;
    int rc = namei_lookup(fs, cred, old_start, old_path, old_flags, &target);
    if (rc)
        return rc;
    struct walk w;
    struct inode *dir = NULL;
    struct last_name last;
    rc = walk_path_to_last(&w, fs, cred, new_start, new_path, &dir, &last);
    if (!rc && names_no_entry(&last))
        rc = EEXIST;
    if (rc) {
        if (dir)
            inode_put(fs, dir);
        inode_put(fs, target);
        return rc;
    }
    rwlock_write(&dir->iolock, dir->ino);
    if (dir_index_find(&dir->names, last.name, last.len))
        rc = EEXIST;
    else if (last.trailing_slash)
        rc = ENOENT;
    else
        rc = inode_permission(cred, dir, MAY_WRITE | MAY_EXEC);
    /* Linux refuses a directory only once the new name and its directory pass. */
    if (!rc && inode_is_dir(target))
        rc = EPERM;
    if (!rc) {
        struct inode *locked[] = {dir, target};
        lock_inodes(locked, 2);
        if (dir->removed_from || target->attr.nlink == 0)
            rc = ENOENT;
        else if (target->attr.nlink >= NAMEI_LINK_MAX)
            rc = EMLINK;
        int64_t now = rc ? 0 : inode_change_time(fs, locked, 2);
        struct udax_attr target_attr = target->attr;
        target_attr.nlink++;
        target_attr.ctime_ns = now;
        if (!rc)
            rc = commit_name_change(fs, dir, &last, NULL, target, now, &target_attr);
        unlock_inodes(locked, 2);
    }
    rwlock_unlock(&dir->iolock);
    inode_put(fs, dir);
    inode_put(fs, target);
    return rc;
}

/* A victim's attributes once it loses one name (all of them, for a directory). */
static struct udax_attr unlinked_attr(const struct inode *victim, int64_t now)
{
    struct udax_attr attr = victim->attr;
    attr.nlink = inode_is_dir(victim) ? 0 : attr.nlink - 1;
    attr.ctime_ns = now;
    return attr;
}

/* Whether cred may remove or replace victim's name in dir: write and search on dir, and the sticky rule. */
static int may_delete(const struct cred *cred, struct inode *dir, struct inode *victim)
{
    int rc = inode_permission(cred, dir, MAY_WRITE | MAY_EXEC);
    if (rc)
        return rc;
    struct inode *locked[] = {dir, victim};
    lock_inodes(locked, 2);
    bool forbidden = sticky_forbids(cred, &dir->attr, &victim->attr);
    unlock_inodes(locked, 2);
    return forbidden ? EPERM : 0;
}

/* What unlink (or rmdir, want_dir) refuses for victim's kind, after the sticky rule, as Linux does. */
static int wrong_kind(const struct inode *victim, const struct last_name *last, bool want_dir)
{
    if (want_dir)
        return inode_is_dir(victim) ? 0 : ENOTDIR;
    if (inode_is_dir(victim))
        return EISDIR;
    return last->trailing_slash ? ENOTDIR : 0;
}

/* Under the ILOCKs of both: dir has just lost its name in from (see removed_from in struct inode). */
static void mark_removed(struct inode *dir, struct inode *from)
{
    inode_get(from);
    dir->removed_from = from;
}

/*
 * unlink and rmdir: the caller holds dir's IOLOCK exclusive and may write
 * and search dir; victim is referenced. The sticky rule is checked under the
 * same ILOCKs as the commit, which take them once.
 */
static int remove_name(struct fs *fs, const struct cred *cred, struct inode *dir, const struct last_name *last,
                       const struct dir_name *name, struct inode *victim, bool want_dir)
{
    struct inode *locked[] = {dir, victim};
    lock_inodes(locked, 2);
    int rc = sticky_forbids(cred, &dir->attr, &victim->attr) ? EPERM : wrong_kind(victim, last, want_dir);
    if (!rc && inode_is_dir(victim) && victim->names.count)
        rc = ENOTEMPTY;
    int64_t now = rc ? 0 : inode_change_time(fs, locked, 2);
    struct udax_attr victim_attr = unlinked_attr(victim, now);
    if (!rc)
        rc = commit_name_change(fs, dir, last, name, victim, now, &victim_attr);
    if (!rc && inode_is_dir(victim))
        mark_removed(victim, dir);
    unlock_inodes(locked, 2);
    return rc;
}

static int unlink_or_rmdir(struct fs *fs, const struct cred *cred, struct inode *start, const char *path,
                           bool want_dir)
{
    struct walk w;
    struct inode *dir;
    struct last_name last;
    int rc = walk_path_to_last(&w, fs, cred, start, path, &dir, &last);
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
    if (!n) {
        rc = ENOENT;
    } else {
        victim = fs->inodes[n->ino];
        inode_get(victim);
        log_record_prefetch(&fs->pool, victim->ino);
        rc = inode_permission(cred, dir, MAY_WRITE | MAY_EXEC);
    }
    if (!rc)
        rc = remove_name(fs, cred, dir, &last, n, victim, want_dir);
    rwlock_unlock(&dir->iolock);
    if (victim)
        inode_put(fs, victim);
    inode_put(fs, dir);
    return rc;
}

int namei_unlink(struct fs *fs, const struct cred *cred, struct inode *start, const char *path)
{
    return unlink_or_rmdir(fs, cred, start, path, false);
}

int namei_rmdir(struct fs *fs, const struct cred *cred, struct inode *start, const char *path)
{
    return unlink_or_rmdir(fs, cred, start, path, true);
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
        inode_lock(step);
        ino = step->attr.parent;
        inode_unlock(step);
    }
}

static void add_unique(struct inode **set, size_t *count, struct inode *inode)
{
    for (size_t i = 0; i < *count; i++)
        if (set[i] == inode)
            return;
    set[(*count)++] = inode;
}

/*
 * moved leaves from_dir's name for to_dir's. The name there names victim,
 * which loses it, or (exchange) takes moved's old name. Directories that
 * change parent record the new one.
 */
struct rename_op {
    struct inode *from_dir, *to_dir, *moved, *victim;
    struct last_name from, to;
    bool exchange;
};

/* A renamed inode's new attributes: a changed ctime, and a directory's new parent. */
static struct udax_attr renamed_attr(const struct inode *inode, const struct inode *new_dir, int64_t now)
{
    struct udax_attr attr = inode->attr;
    attr.ctime_ns = now;
    if (inode_is_dir(inode))
        attr.parent = new_dir->ino;
    return attr;
}

static int commit_rename(struct fs *fs, struct rename_op *op)
{
    struct inode *locked[4] = {op->from_dir};
    size_t count = 1;
    add_unique(locked, &count, op->to_dir);
    add_unique(locked, &count, op->moved);
    if (op->victim)
        add_unique(locked, &count, op->victim);
    lock_inodes(locked, count);
    bool replaces_dir = op->victim && !op->exchange && inode_is_dir(op->victim);
    int rc = replaces_dir && op->victim->names.count ? ENOTEMPTY : 0;
    int64_t now = rc ? 0 : inode_change_time(fs, locked, count);
    bool same_dir = op->to_dir == op->from_dir;
    struct udax_attr moved_attr = renamed_attr(op->moved, op->to_dir, now), victim_attr;
    struct log_txn from_txn, to_txn_storage, moved_txn, victim_txn;
    struct log_txn *to_txn = same_dir ? &from_txn : &to_txn_storage;
    log_txn_begin(&from_txn, &op->from_dir->log);
    log_txn_begin(to_txn, &op->to_dir->log);
    log_txn_begin(&moved_txn, &op->moved->log);
    if (op->victim)
        log_txn_begin(&victim_txn, &op->victim->log);
    uint8_t moved_type = inode_dirent_type(op->moved);
    uint8_t victim_type = op->victim ? inode_dirent_type(op->victim) : 0;
    if (!rc && op->exchange)
        rc = inode_log_dentry(fs, &from_txn, UDAX_ENTRY_DENTRY_ADD, op->from.name, op->from.len, op->victim->ino,
                              victim_type, now);
    else if (!rc)
        rc = inode_log_dentry(fs, &from_txn, UDAX_ENTRY_DENTRY_DEL, op->from.name, op->from.len, op->moved->ino, 0,
                              now);
    if (!rc)
        rc = inode_log_dentry(fs, to_txn, UDAX_ENTRY_DENTRY_ADD, op->to.name, op->to.len, op->moved->ino, moved_type,
                              now);
    if (!rc)
        rc = inode_log_attr(fs, &moved_txn, &moved_attr);
    if (!rc && op->exchange) {
        victim_attr = renamed_attr(op->victim, op->from_dir, now);
        rc = inode_log_attr(fs, &victim_txn, &victim_attr);
    } else if (!rc && op->victim) {
        victim_attr = unlinked_attr(op->victim, now);
        rc = inode_log_attr(fs, &victim_txn, &victim_attr);
    }
    /* An exchange only replaces names, which cannot fail; a move may need memory for the new name. */
    if (!rc && !op->exchange)
        rc = dir_index_put(&op->to_dir->names, op->to.name, op->to.len, op->moved->ino, moved_type);
    if (rc) {
        log_abort(&fs->env, &from_txn);
        if (!same_dir)
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
    if (!same_dir)
        words[n++] = (struct journal_word){log_tail_word(&fs->pool, op->to_dir->ino), to_txn->pos};
    words[n++] = (struct journal_word){log_tail_word(&fs->pool, op->moved->ino), moved_txn.pos};
    if (op->victim)
        words[n++] = (struct journal_word){log_tail_word(&fs->pool, op->victim->ino), victim_txn.pos};
    journal_commit(&fs->journal, words, n);
    log_txn_applied(&fs->env, &from_txn);
    if (!same_dir)
        log_txn_applied(&fs->env, to_txn);
    log_txn_applied(&fs->env, &moved_txn);
    op->moved->attr = moved_attr;
    if (op->victim) {
        log_txn_applied(&fs->env, &victim_txn);
        op->victim->attr = victim_attr;
        if (replaces_dir)
            mark_removed(op->victim, op->to_dir);
        if (!victim_attr.nlink)
            inode_mark_unnamed(op->victim);
    }
    if (op->exchange) {
        dir_index_put(&op->from_dir->names, op->from.name, op->from.len, op->victim->ino, victim_type);
        dir_index_put(&op->to_dir->names, op->to.name, op->to.len, op->moved->ino, moved_type);
    } else {
        dir_index_remove(&op->from_dir->names, op->from.name, op->from.len);
    }
    touch(op->from_dir, now);
    touch(op->to_dir, now);
    for (size_t i = 0; i < count; i++)
        inode_maybe_compact(fs, locked[i]);
    unlock_inodes(locked, count);
    return 0;
}

/* A directory that changes parent has its ".." rewritten: it must be writable, and must not go below itself. */
static int may_reparent(struct fs *fs, const struct cred *cred, struct inode *dir, struct inode *old_parent,
                        struct inode *new_parent)
{
    if (!inode_is_dir(dir) || old_parent == new_parent)
        return 0;
    if (is_within(fs, new_parent, dir))
        return EINVAL;
    return inode_permission(cred, dir, MAY_WRITE);
}

static int check_rename_target(struct fs *fs, const struct cred *cred, struct rename_op *op)
{
    const struct dir_name *target = dir_index_find(&op->to_dir->names, op->to.name, op->to.len);
    if (!target)
        return 0;
    if (target->ino == op->moved->ino)
        return -1;
    op->victim = fs->inodes[target->ino];
    inode_get(op->victim);
    int rc = may_delete(cred, op->to_dir, op->victim);
    if (rc)
        return rc;
    if (op->exchange)
        return may_reparent(fs, cred, op->victim, op->to_dir, op->from_dir);
    if (inode_is_dir(op->moved) && !inode_is_dir(op->victim))
        return ENOTDIR;
    if (!inode_is_dir(op->moved) && inode_is_dir(op->victim))
        return EISDIR;
    return 0;
}

static int rename_locked(struct fs *fs, const struct cred *cred, struct rename_op *op, unsigned flags)
{
    const struct dir_name *source = dir_index_find(&op->from_dir->names, op->from.name, op->from.len);
    if (!source)
        return ENOENT;
    op->moved = fs->inodes[source->ino];
    inode_get(op->moved);
    /* Linux asks whether the target exists, as the flags need, before anything else: a name onto itself included. */
    bool target_exists = dir_index_find(&op->to_dir->names, op->to.name, op->to.len);
    if (target_exists && (flags & RENAME_NOREPLACE))
        return EEXIST;
    if (!target_exists && op->exchange)
        return ENOENT;
    if ((op->from.trailing_slash || op->to.trailing_slash) && !inode_is_dir(op->moved))
        return ENOTDIR;
    if (op->from_dir == op->to_dir && op->from.len == op->to.len && !memcmp(op->from.name, op->to.name, op->to.len))
        return -1;
    int rc = may_delete(cred, op->from_dir, op->moved);
    if (!rc)
        rc = inode_permission(cred, op->to_dir, MAY_WRITE | MAY_EXEC);
    if (!rc)
        rc = may_reparent(fs, cred, op->moved, op->from_dir, op->to_dir);
    if (!rc)
        rc = check_rename_target(fs, cred, op);
    return rc ? rc : commit_rename(fs, op);
}

int namei_rename(struct fs *fs, const struct cred *cred, struct inode *from_start, const char *from,
                 struct inode *to_start, const char *to, unsigned flags)
{
    if ((flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
        (flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)) == (RENAME_NOREPLACE | RENAME_EXCHANGE))
        return EINVAL;
    struct walk *walks = malloc(2 * sizeof(*walks));
    if (!walks)
        return ENOMEM;
    struct rename_op op = {.exchange = flags & RENAME_EXCHANGE};
    int rc = walk_init(&walks[0], fs, cred, from);
    if (!rc)
        rc = walk_init(&walks[1], fs, cred, to);
    if (!rc)
        rc = walk_to_last(&walks[0], from_start, &op.from_dir, &op.from);
    if (!rc) {
        rc = walk_to_last(&walks[1], to_start, &op.to_dir, &op.to);
        if (rc)
            inode_put(fs, op.from_dir);
    }
    if (rc) {
        free(walks);
        return rc;
    }
    /*
     * The root, "." and ".." cannot be renamed nor renamed over: EBUSY, as
     * Linux says (POSIX says EINVAL for the dots); or, as the target exists,
     * RENAME_NOREPLACE's EEXIST.
     */
    if (names_no_entry(&op.from))
        rc = EBUSY;
    else if (names_no_entry(&op.to))
        rc = flags & RENAME_NOREPLACE ? EEXIST : EBUSY;
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
        rc = rename_locked(fs, cred, &op, flags);
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
    free(walks);
    return rc < 0 ? 0 : rc;
}
