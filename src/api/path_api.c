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
    inode_lock(inode);
    inode_to_stat(&pool->fs, inode, st);
    inode_unlock(inode);
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

static struct statx_timestamp statx_time(struct timespec ts)
{
    return (struct statx_timestamp){.tv_sec = ts.tv_sec, .tv_nsec = (uint32_t)ts.tv_nsec};
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
    inode_lock(inode);
    inode_to_stat(&pool->fs, inode, &st);
    struct timespec btime = timespec_of_ns(inode->attr.btime_ns);
    inode_unlock(inode);
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
        .stx_atime = statx_time(st.st_atim),
        .stx_btime = statx_time(btime),
        .stx_ctime = statx_time(st.st_ctim),
        .stx_mtime = statx_time(st.st_mtim),
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
        /* Linux's answer when the empty path named the descriptor itself. */
        udax_fail(*path ? EINVAL : ENOENT, "readlink %s: not a symbolic link", path);
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

/*
 * A stream holds its directory and a position, not a copy of the names:
 * 0 is ".", 1 is "..", and p >= 2 the first name whose key is at least
 * p - 2. Keys stay fixed while a name exists, so a name present for the
 * whole life of the stream is returned once, whatever changes around it.
 */
struct udax_dir {
    struct inode *inode;
    long position;
    int fd;       /* the descriptor fdopendir took over, closed with the stream; -1 for opendir */
    bool noatime; /* opened with O_NOATIME */
    struct dirent current;
};

#define FIRST_NAME_POSITION 2

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
    if (!dir) {
        inode_put(&pool->fs, inode);
        udax_fail(ENOMEM, "opendir %s: out of memory", path);
        return NULL;
    }
    dir->inode = inode;
    dir->fd = -1;
    return dir;
}

UDAX_DIR *udax_fdopendir(struct udax_pool *pool, int fd)
{
    struct open_file *file = api_get_file(pool, fd, "fdopendir");
    if (!file)
        return NULL;
    struct udax_dir *dir = NULL;
    if (!inode_is_dir(file->inode)) {
        udax_fail(ENOTDIR, "fdopendir: descriptor %d is not a directory", fd);
    } else if (!(dir = calloc(1, sizeof(*dir)))) {
        udax_fail(ENOMEM, "fdopendir: out of memory");
    } else {
        inode_get(file->inode);
        *dir = (struct udax_dir){.inode = file->inode, .fd = fd, .noatime = file->flags & O_NOATIME};
    }
    open_file_put(pool, file);
    return dir;
}

static struct dirent *fill_entry(UDAX_DIR *dir, uint64_t ino, uint8_t type, const char *name, size_t len, long next)
{
    memset(&dir->current, 0, sizeof(dir->current));
    dir->current.d_ino = ino;
    dir->current.d_off = next;
    dir->current.d_reclen = sizeof(dir->current);
    dir->current.d_type = type;
    memcpy(dir->current.d_name, name, len);
    dir->current.d_name[len] = '\0';
    dir->position = next;
    return &dir->current;
}

struct dirent *udax_readdir(struct udax_pool *pool, UDAX_DIR *dir)
{
    if (!pool || !dir) {
        udax_fail(EBADF, "readdir: no directory stream");
        return NULL;
    }
    struct inode *inode = dir->inode;
    if (dir->position == 0) {
        /* A read of the directory from its start is an access, for relatime. */
        if (!dir->noatime)
            inode_touch_atime(&pool->fs, inode);
        return fill_entry(dir, inode->ino, DT_DIR, ".", 1, 1);
    }
    if (dir->position == 1) {
        inode_lock(inode);
        uint64_t parent = inode->attr.parent;
        inode_unlock(inode);
        return fill_entry(dir, parent, DT_DIR, "..", 2, FIRST_NAME_POSITION);
    }
    struct dirent *entry = NULL;
    rwlock_read(&inode->iolock, inode->ino);
    const struct dir_name *n = dir_index_next(&inode->names, (uint64_t)(dir->position - FIRST_NAME_POSITION));
    if (n)
        entry = fill_entry(dir, n->ino, n->file_type, n->name, n->len, (long)n->key + FIRST_NAME_POSITION + 1);
    rwlock_unlock(&inode->iolock);
    return entry;
}

long udax_telldir(struct udax_pool *pool, UDAX_DIR *dir)
{
    (void)pool;
    if (!dir)
        return udax_fail(EBADF, "telldir: no directory stream");
    return dir->position;
}

void udax_seekdir(struct udax_pool *pool, UDAX_DIR *dir, long loc)
{
    (void)pool;
    if (!dir)
        udax_fail(EBADF, "seekdir: no directory stream");
    else if (loc < 0)
        udax_fail(EINVAL, "seekdir: negative position %ld", loc);
    else
        dir->position = loc;
}

void udax_rewinddir(struct udax_pool *pool, UDAX_DIR *dir)
{
    udax_seekdir(pool, dir, 0);
}

int udax_closedir(struct udax_pool *pool, UDAX_DIR *dir)
{
    if (!dir)
        return udax_fail(EBADF, "closedir: no directory stream");
    if (!pool)
        return udax_fail(EFAULT, "closedir: null argument");
    inode_put(&pool->fs, dir->inode);
    int rc = dir->fd >= 0 ? udax_close(pool, dir->fd) : 0;
    free(dir);
    return rc;
}
