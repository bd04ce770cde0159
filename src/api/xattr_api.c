/* xattr_api.c: the extended attribute calls of udax.h: get, set, list and remove, by path, at a directory, or by descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "handle.h"
#include "inode/xattr.h"
#include "udax.h"
#include "util/error.h"

#define XATTR_AT_FLAGS (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)

/* A name's length, checked as Linux checks it before any lookup: 0, or -1 with ERANGE. */
static int name_length(const char *name, size_t *len, const char *call)
{
    *len = strnlen(name, XATTR_NAME_MAX + 1);
    if (!*len || *len > XATTR_NAME_MAX)
        return udax_fail(ERANGE, "%s: attribute name of %s bytes", call, *len ? "more than 255" : "0");
    return 0;
}

/* The inode of an *at call, or of a descriptor (not O_PATH) when path is NULL; referenced. 0 or -1. */
static int target(struct udax_pool *pool, int fd, const char *path, int at_flags, const char *call,
                  struct inode **out)
{
    if (path)
        return api_lookup_at(pool, fd, path, at_flags, XATTR_AT_FLAGS, call, out);
    struct open_file *file = api_get_file(pool, fd, call);
    if (!file)
        return -1;
    *out = file->inode;
    inode_get(*out);
    open_file_put(pool, file);
    return 0;
}

static ssize_t get_value(struct udax_pool *pool, int fd, const char *path, int at_flags, const char *name, void *value,
                   size_t size, const char *call)
{
    size_t len;
    if (!pool || !name || (size && !value))
        return udax_fail(EFAULT, "%s: null argument", call);
    struct inode *inode;
    if (name_length(name, &len, call) || target(pool, fd, path, at_flags, call, &inode))
        return -1;
    /* The value goes to the caller only once ILOCK is dropped: value may be a udax mapping (R10). */
    char copy[UDAX_XATTR_DATA_MAX];
    size_t value_len;
    int rc = inode_getxattr(api_cred(pool), inode, name, len, size ? copy : NULL, &value_len);
    inode_put(&pool->fs, inode);
    if (!rc && size && value_len > size)
        rc = ERANGE;
    if (rc)
        return api_result(rc, call, path);
    if (size)
        memcpy(value, copy, value_len);
    return (ssize_t)value_len;
}

ssize_t udax_getxattrat(struct udax_pool *pool, int dirfd, const char *path, int at_flags, const char *name,
                        void *value, size_t size)
{
    if (!path)
        return udax_fail(EFAULT, "getxattr: null argument");
    return get_value(pool, dirfd, path, at_flags, name, value, size, "getxattr");
}

ssize_t udax_getxattr(struct udax_pool *pool, const char *path, const char *name, void *value, size_t size)
{
    return udax_getxattrat(pool, AT_FDCWD, path, 0, name, value, size);
}

ssize_t udax_lgetxattr(struct udax_pool *pool, const char *path, const char *name, void *value, size_t size)
{
    return udax_getxattrat(pool, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, name, value, size);
}

ssize_t udax_fgetxattr(struct udax_pool *pool, int fd, const char *name, void *value, size_t size)
{
    return get_value(pool, fd, NULL, 0, name, value, size, "fgetxattr");
}

static int set_value(struct udax_pool *pool, int fd, const char *path, int at_flags, const char *name, const void *value,
               size_t size, int flags, const char *call)
{
    size_t len;
    if (!pool || !name || (size && !value))
        return udax_fail(EFAULT, "%s: null argument", call);
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
        return udax_fail(EINVAL, "%s: unknown flags %#x", call, (unsigned)flags);
    if (name_length(name, &len, call))
        return -1;
    if (size > XATTR_SIZE_MAX)
        return udax_fail(E2BIG, "%s: value of %zu bytes, more than %d", call, size, XATTR_SIZE_MAX);
    struct inode *inode;
    if (target(pool, fd, path, at_flags, call, &inode))
        return -1;
    int rc = inode_setxattr(&pool->fs, api_cred(pool), inode, name, len, value, size, flags);
    inode_put(&pool->fs, inode);
    return api_result(rc, call, path);
}

int udax_setxattrat(struct udax_pool *pool, int dirfd, const char *path, int at_flags, const char *name,
                    const void *value, size_t size, int flags)
{
    if (!path)
        return udax_fail(EFAULT, "setxattr: null argument");
    return set_value(pool, dirfd, path, at_flags, name, value, size, flags, "setxattr");
}

int udax_setxattr(struct udax_pool *pool, const char *path, const char *name, const void *value, size_t size,
                  int flags)
{
    return udax_setxattrat(pool, AT_FDCWD, path, 0, name, value, size, flags);
}

int udax_lsetxattr(struct udax_pool *pool, const char *path, const char *name, const void *value, size_t size,
                   int flags)
{
    return udax_setxattrat(pool, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, name, value, size, flags);
}

int udax_fsetxattr(struct udax_pool *pool, int fd, const char *name, const void *value, size_t size, int flags)
{
    return set_value(pool, fd, NULL, 0, name, value, size, flags, "fsetxattr");
}

static ssize_t list_names(struct udax_pool *pool, int fd, const char *path, int at_flags, char *list, size_t size,
                          const char *call)
{
    if (!pool || (size && !list))
        return udax_fail(EFAULT, "%s: null argument", call);
    struct inode *inode;
    if (target(pool, fd, path, at_flags, call, &inode))
        return -1;
    char *names;
    size_t len;
    int rc = inode_listxattr(api_cred(pool), inode, &names, &len);
    inode_put(&pool->fs, inode);
    if (rc)
        return api_result(rc, call, path);
    if (size && len > size)
        rc = size >= XATTR_LIST_MAX ? E2BIG : ERANGE;
    else if (size)
        memcpy(list, names, len);
    free(names);
    return rc ? api_result(rc, call, path) : (ssize_t)len;
}

ssize_t udax_listxattrat(struct udax_pool *pool, int dirfd, const char *path, int at_flags, char *list, size_t size)
{
    if (!path)
        return udax_fail(EFAULT, "listxattr: null argument");
    return list_names(pool, dirfd, path, at_flags, list, size, "listxattr");
}

ssize_t udax_listxattr(struct udax_pool *pool, const char *path, char *list, size_t size)
{
    return udax_listxattrat(pool, AT_FDCWD, path, 0, list, size);
}

ssize_t udax_llistxattr(struct udax_pool *pool, const char *path, char *list, size_t size)
{
    return udax_listxattrat(pool, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, list, size);
}

ssize_t udax_flistxattr(struct udax_pool *pool, int fd, char *list, size_t size)
{
    return list_names(pool, fd, NULL, 0, list, size, "flistxattr");
}

static int remove_name(struct udax_pool *pool, int fd, const char *path, int at_flags, const char *name,
                       const char *call)
{
    size_t len;
    if (!pool || !name)
        return udax_fail(EFAULT, "%s: null argument", call);
    struct inode *inode;
    if (name_length(name, &len, call) || target(pool, fd, path, at_flags, call, &inode))
        return -1;
    int rc = inode_removexattr(&pool->fs, api_cred(pool), inode, name, len);
    inode_put(&pool->fs, inode);
    return api_result(rc, call, path);
}

int udax_removexattrat(struct udax_pool *pool, int dirfd, const char *path, int at_flags, const char *name)
{
    if (!path)
        return udax_fail(EFAULT, "removexattr: null argument");
    return remove_name(pool, dirfd, path, at_flags, name, "removexattr");
}

int udax_removexattr(struct udax_pool *pool, const char *path, const char *name)
{
    return udax_removexattrat(pool, AT_FDCWD, path, 0, name);
}

int udax_lremovexattr(struct udax_pool *pool, const char *path, const char *name)
{
    return udax_removexattrat(pool, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, name);
}

int udax_fremovexattr(struct udax_pool *pool, int fd, const char *name)
{
    return remove_name(pool, fd, NULL, 0, name, "fremovexattr");
}
