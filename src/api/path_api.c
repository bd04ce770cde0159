/* path_api.c: the path calls of udax.h: stat, mkdir, rmdir, unlink, rename, truncate and directory streams. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file/file.h"
#include "handle.h"
#include "inode/namei.h"
#include "udax.h"
#include "util/error.h"

#define CHECK_ARGS(call)                                                                                               \
    do {                                                                                                               \
        if (!pool || !path)                                                                                            \
            return udax_fail(EFAULT, "%s: null argument", call);                                                     \
    } while (0)

int udax_stat(struct udax_pool *pool, const char *path, struct stat *st)
{
    CHECK_ARGS("stat");
    struct inode *inode;
    int rc = namei_lookup(&pool->fs, NULL, path, &inode);
    if (rc)
        return api_result(rc, "stat", path);
    mutex_lock(&inode->ilock, inode->ino);
    inode_to_stat(&pool->fs, inode, st);
    mutex_unlock(&inode->ilock);
    inode_put(&pool->fs, inode);
    return 0;
}

int udax_mkdir(struct udax_pool *pool, const char *path, mode_t mode)
{
    CHECK_ARGS("mkdir");
    return api_result(namei_mkdir(&pool->fs, NULL, path, mode), "mkdir", path);
}

int udax_rmdir(struct udax_pool *pool, const char *path)
{
    CHECK_ARGS("rmdir");
    return api_result(namei_rmdir(&pool->fs, NULL, path), "rmdir", path);
}

int udax_unlink(struct udax_pool *pool, const char *path)
{
    CHECK_ARGS("unlink");
    return api_result(namei_unlink(&pool->fs, NULL, path), "unlink", path);
}

int udax_rename(struct udax_pool *pool, const char *oldpath, const char *newpath)
{
    if (!pool || !oldpath || !newpath)
        return udax_fail(EFAULT, "rename: null argument");
    return api_result(namei_rename(&pool->fs, NULL, oldpath, newpath), "rename", oldpath);
}

int udax_truncate(struct udax_pool *pool, const char *path, off_t length)
{
    CHECK_ARGS("truncate");
    if (length < 0)
        return udax_fail(EINVAL, "truncate %s: negative length", path);
    struct inode *inode;
    int rc = namei_lookup(&pool->fs, NULL, path, &inode);
    if (rc)
        return api_result(rc, "truncate", path);
    rc = inode_is_dir(inode) ? EISDIR : file_truncate(&pool->fs, inode, (uint64_t)length);
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
    int rc = namei_lookup(&pool->fs, NULL, path, &inode);
    if (rc) {
        api_result(rc, "opendir", path);
        return NULL;
    }
    if (!inode_is_dir(inode)) {
        inode_put(&pool->fs, inode);
        api_result(ENOTDIR, "opendir", path);
        return NULL;
    }
    struct udax_dir *dir = calloc(1, sizeof(*dir));
    if (!dir) {
        inode_put(&pool->fs, inode);
        udax_fail(ENOMEM, "opendir %s: out of memory", path);
        return NULL;
    }
    dir->inode = inode;
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
    (void)pool;
    if (!dir) {
        udax_fail(EBADF, "readdir: no directory stream");
        return NULL;
    }
    struct inode *inode = dir->inode;
    if (dir->position == 0)
        return fill_entry(dir, inode->ino, DT_DIR, ".", 1, 1);
    if (dir->position == 1) {
        mutex_lock(&inode->ilock, inode->ino);
        uint64_t parent = inode->attr.parent;
        mutex_unlock(&inode->ilock);
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
    free(dir);
    return 0;
}
