/* path_api.c: the path calls of udax.h and their *at forms: stat, mkdir, mknod, symlink, link, unlink, rename, truncate, directory streams. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>

#include "file/file.h"
#include "handle.h"
#include "inode/attr_change.h"
#include "inode/namei.h"
#include "udax.h"
#include "util/error.h"

#define CHECK_ARGS(call)                                                                                               \
    do {                                                                                                               \
        if (!pool || !path)                                                                                            \
            return udax_fail(EFAULT, "%s: null argument", call);                                                     \
    } while (0)

/* The lookup flags of an *at call's AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH; -1 with EINVAL for any other flag. */
static int lookup_flags(int at_flags, int allowed, const char *call)
{
    if (at_flags & ~allowed)
        return udax_fail(EINVAL, "%s: unknown flags %#x", call, (unsigned)(at_flags & ~allowed));
    return (at_flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW) | (at_flags & AT_EMPTY_PATH ? LOOKUP_EMPTY : 0);
}

int api_lookup_at(struct udax_pool *pool, int dirfd, const char *path, int at_flags, int allowed, const char *call,
                  struct inode **out)
{
    int flags = lookup_flags(at_flags, allowed, call);
    struct at_start at;
    if (flags < 0 || api_at_begin(pool, dirfd, path, flags & LOOKUP_EMPTY, call, &at))
        return -1;
    int rc = namei_lookup(&pool->fs, api_cred(pool), at.inode, path, (unsigned)flags, out);
    api_at_end(pool, &at);
    return api_result(rc, call, path);
}

int udax_fstatat(struct udax_pool *pool, int dirfd, const char *path, struct stat *st, int flags)
{
    if (!st)
        return udax_fail(EFAULT, "stat: null argument");
    struct inode *inode;
    if (api_lookup_at(pool, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT, "stat",
                      &inode))
        return -1;
    mutex_lock(&inode->ilock, inode->ino);
    inode_to_stat(&pool->fs, inode, st);
    mutex_unlock(&inode->ilock);
    inode_put(&pool->fs, inode);
    return 0;
}

int udax_stat(struct udax_pool *pool, const char *path, struct stat *st)
{
    return udax_fstatat(pool, AT_FDCWD, path, st, 0);
}

int udax_lstat(struct udax_pool *pool, const char *path, struct stat *st)
{
    return udax_fstatat(pool, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

static struct statx_timestamp statx_time(int64_t ns)
{
    return (struct statx_timestamp){.tv_sec = ns / 1000000000, .tv_nsec = (uint32_t)(ns % 1000000000)};
}

int udax_statx(struct udax_pool *pool, int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
    (void)mask;
    if (!stx)
        return udax_fail(EFAULT, "statx: null argument");
    int sync_bits = AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC;
    struct inode *inode;
    if (api_lookup_at(pool, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | sync_bits,
                      "statx", &inode))
        return -1;
    struct stat st;
    mutex_lock(&inode->ilock, inode->ino);
    inode_to_stat(&pool->fs, inode, &st);
    int64_t btime_ns = inode->attr.btime_ns;
    mutex_unlock(&inode->ilock);
    inode_put(&pool->fs, inode);
    *stx = (struct statx){
        .stx_mask = STATX_BASIC_STATS | STATX_BTIME,
        .stx_blksize = (uint32_t)st.st_blksize,
        .stx_nlink = (uint32_t)st.st_nlink,
        .stx_uid = st.st_uid,
        .stx_gid = st.st_gid,
        .stx_mode = (uint16_t)st.st_mode,
        .stx_ino = st.st_ino,
        .stx_size = (uint64_t)st.st_size,
        .stx_blocks = (uint64_t)st.st_blocks,
        .stx_atime = statx_time(st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec),
        .stx_btime = statx_time(btime_ns),
        .stx_ctime = statx_time(st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec),
        .stx_mtime = statx_time(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec),
        .stx_rdev_major = major(st.st_rdev),
        .stx_rdev_minor = minor(st.st_rdev),
        .stx_dev_major = major(st.st_dev),
        .stx_dev_minor = minor(st.st_dev),
    };
    return 0;
}

int udax_mkdirat(struct udax_pool *pool, int dirfd, const char *path, mode_t mode)
{
    struct at_start at;
    if (api_at_begin(pool, dirfd, path, false, "mkdir", &at))
        return -1;
    int rc = namei_mkdir(&pool->fs, api_cred(pool), at.inode, path, mode);
    api_at_end(pool, &at);
    return api_result(rc, "mkdir", path);
}

int udax_mkdir(struct udax_pool *pool, const char *path, mode_t mode)
{
    return udax_mkdirat(pool, AT_FDCWD, path, mode);
}

int udax_mknodat(struct udax_pool *pool, int dirfd, const char *path, mode_t mode, dev_t dev)
{
    struct at_start at;
    if (api_at_begin(pool, dirfd, path, false, "mknod", &at))
        return -1;
    int rc = namei_mknod(&pool->fs, api_cred(pool), at.inode, path, mode, dev);
    api_at_end(pool, &at);
    return api_result(rc, "mknod", path);
}

int udax_mknod(struct udax_pool *pool, const char *path, mode_t mode, dev_t dev)
{
    return udax_mknodat(pool, AT_FDCWD, path, mode, dev);
}

int udax_symlinkat(struct udax_pool *pool, const char *target, int dirfd, const char *path)
{
    if (!target)
        return udax_fail(EFAULT, "symlink: null argument");
    struct at_start at;
    if (api_at_begin(pool, dirfd, path, false, "symlink", &at))
        return -1;
    int rc = namei_symlink(&pool->fs, api_cred(pool), target, at.inode, path);
    api_at_end(pool, &at);
    return api_result(rc, "symlink", path);
}

int udax_symlink(struct udax_pool *pool, const char *target, const char *path)
{
    return udax_symlinkat(pool, target, AT_FDCWD, path);
}

ssize_t udax_readlinkat(struct udax_pool *pool, int dirfd, const char *path, char *buf, size_t size)
{
    if (!buf)
        return udax_fail(EFAULT, "readlink: null argument");
    if (!size)
        return udax_fail(EINVAL, "readlink: buffer of size 0");
    struct inode *inode;
    /* As on Linux, an empty path reads the symlink an O_PATH descriptor names. */
    if (api_lookup_at(pool, dirfd, path, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH,
                      "readlink", &inode))
        return -1;
    ssize_t len = -1;
    if (!inode_is_symlink(inode)) {
        udax_fail(EINVAL, "readlink %s: not a symbolic link", path);
    } else {
        size_t whole = inode_symlink_target(&pool->fs, inode, buf, size);
        len = (ssize_t)(whole < size ? whole : size);
    }
    inode_put(&pool->fs, inode);
    return len;
}

ssize_t udax_readlink(struct udax_pool *pool, const char *path, char *buf, size_t size)
{
    return udax_readlinkat(pool, AT_FDCWD, path, buf, size);
}

int udax_linkat(struct udax_pool *pool, int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                int flags)
{
    if (!newpath)
        return udax_fail(EFAULT, "link: null argument");
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return udax_fail(EINVAL, "link: unknown flags %#x", (unsigned)flags);
    unsigned old_flags = (flags & AT_SYMLINK_FOLLOW ? LOOKUP_FOLLOW : 0) | (flags & AT_EMPTY_PATH ? LOOKUP_EMPTY : 0);
    struct at_start from, to;
    if (api_at_begin(pool, olddirfd, oldpath, flags & AT_EMPTY_PATH, "link", &from))
        return -1;
    if (api_at_begin(pool, newdirfd, newpath, false, "link", &to)) {
        api_at_end(pool, &from);
        return -1;
    }
    int rc = namei_link(&pool->fs, api_cred(pool), from.inode, oldpath, old_flags, to.inode, newpath);
    api_at_end(pool, &to);
    api_at_end(pool, &from);
    return api_result(rc, "link", newpath);
}

int udax_link(struct udax_pool *pool, const char *oldpath, const char *newpath)
{
    return udax_linkat(pool, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

int udax_unlinkat(struct udax_pool *pool, int dirfd, const char *path, int flags)
{
    if (flags & ~AT_REMOVEDIR)
        return udax_fail(EINVAL, "unlink: unknown flags %#x", (unsigned)flags);
    const char *call = flags & AT_REMOVEDIR ? "rmdir" : "unlink";
    struct at_start at;
    if (api_at_begin(pool, dirfd, path, false, call, &at))
        return -1;
    const struct cred *cred = api_cred(pool);
    int rc = flags & AT_REMOVEDIR ? namei_rmdir(&pool->fs, cred, at.inode, path)
                                  : namei_unlink(&pool->fs, cred, at.inode, path);
    api_at_end(pool, &at);
    return api_result(rc, call, path);
}

int udax_rmdir(struct udax_pool *pool, const char *path)
{
    return udax_unlinkat(pool, AT_FDCWD, path, AT_REMOVEDIR);
}

int udax_unlink(struct udax_pool *pool, const char *path)
{
    return udax_unlinkat(pool, AT_FDCWD, path, 0);
}

int udax_renameat2(struct udax_pool *pool, int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                   unsigned flags)
{
    if (!newpath)
        return udax_fail(EFAULT, "rename: null argument");
    struct at_start from, to;
    if (api_at_begin(pool, olddirfd, oldpath, false, "rename", &from))
        return -1;
    if (api_at_begin(pool, newdirfd, newpath, false, "rename", &to)) {
        api_at_end(pool, &from);
        return -1;
    }
    int rc = namei_rename(&pool->fs, api_cred(pool), from.inode, oldpath, to.inode, newpath, flags);
    api_at_end(pool, &to);
    api_at_end(pool, &from);
    return api_result(rc, "rename", oldpath);
}

int udax_renameat(struct udax_pool *pool, int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    return udax_renameat2(pool, olddirfd, oldpath, newdirfd, newpath, 0);
}

int udax_rename(struct udax_pool *pool, const char *oldpath, const char *newpath)
{
    return udax_renameat2(pool, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

int udax_truncate(struct udax_pool *pool, const char *path, off_t length)
{
    CHECK_ARGS("truncate");
    if (length < 0)
        return udax_fail(EINVAL, "truncate %s: negative length", path);
    struct inode *inode;
    if (api_lookup_at(pool, AT_FDCWD, path, 0, 0, "truncate", &inode))
        return -1;
    const struct cred *cred = api_cred(pool);
    int rc = inode_is_dir(inode) ? EISDIR : !inode_is_regular(inode) ? EINVAL : inode_permission(cred, inode, MAY_WRITE);
    if (!rc)
        rc = inode_drop_setid(&pool->fs, cred, inode);
    if (!rc)
        rc = file_truncate(&pool->fs, inode, (uint64_t)length);
    inode_put(&pool->fs, inode);
    return api_result(rc, "truncate", path);
}

struct dir_entry_copy {
    uint64_t ino;
    uint8_t type;
    char name[UDAX_NAME_MAX + 1];
};

/* A directory stream reads a snapshot taken at opendir, as POSIX allows. */
struct udax_dir {
    struct dir_entry_copy *entries;
    size_t count;
    size_t next;
    struct dirent current;
};

static int copy_name(void *arg, const struct dir_name *name)
{
    struct udax_dir *dir = arg;
    struct dir_entry_copy *e = &dir->entries[dir->count++];
    e->ino = name->ino;
    e->type = name->file_type;
    memcpy(e->name, name->name, name->len);
    e->name[name->len] = '\0';
    return 0;
}

UDAX_DIR *udax_opendir(struct udax_pool *pool, const char *path)
{
    if (!pool || !path) {
        udax_fail(EFAULT, "opendir: null argument");
        return NULL;
    }
    struct inode *inode;
    if (api_lookup_at(pool, AT_FDCWD, path, 0, 0, "opendir", &inode))
        return NULL;
    int rc = inode_is_dir(inode) ? inode_permission(api_cred(pool), inode, MAY_READ) : ENOTDIR;
    if (rc) {
        inode_put(&pool->fs, inode);
        api_result(rc, "opendir", path);
        return NULL;
    }
    struct udax_dir *dir = calloc(1, sizeof(*dir));
    rwlock_read(&inode->iolock, inode->ino);
    mutex_lock(&inode->ilock, inode->ino);
    uint64_t parent = inode->attr.parent;
    mutex_unlock(&inode->ilock);
    if (dir)
        dir->entries = calloc(inode->names.count + 2, sizeof(*dir->entries));
    if (dir && dir->entries) {
        dir->entries[dir->count++] = (struct dir_entry_copy){.ino = inode->ino, .type = DT_DIR, .name = "."};
        dir->entries[dir->count++] = (struct dir_entry_copy){.ino = parent, .type = DT_DIR, .name = ".."};
        dir_index_each(&inode->names, copy_name, dir);
    }
    rwlock_unlock(&inode->iolock);
    inode_put(&pool->fs, inode);
    if (!dir || !dir->entries) {
        free(dir);
        udax_fail(ENOMEM, "opendir %s: out of memory", path);
        return NULL;
    }
    return dir;
}

struct dirent *udax_readdir(struct udax_pool *pool, UDAX_DIR *dir)
{
    (void)pool;
    if (!dir) {
        udax_fail(EBADF, "readdir: no directory stream");
        return NULL;
    }
    if (dir->next == dir->count)
        return NULL;
    const struct dir_entry_copy *e = &dir->entries[dir->next++];
    memset(&dir->current, 0, sizeof(dir->current));
    dir->current.d_ino = e->ino;
    dir->current.d_off = (off_t)dir->next;
    dir->current.d_reclen = sizeof(dir->current);
    dir->current.d_type = e->type;
    memcpy(dir->current.d_name, e->name, strlen(e->name) + 1);
    return &dir->current;
}

int udax_closedir(struct udax_pool *pool, UDAX_DIR *dir)
{
    (void)pool;
    if (!dir)
        return udax_fail(EBADF, "closedir: no directory stream");
    free(dir->entries);
    free(dir);
    return 0;
}
