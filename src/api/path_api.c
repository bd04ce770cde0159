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
