/* attr_api.c: the attribute calls of udax.h: chmod, chown, utimensat and access, by path, at a directory, or by descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "handle.h"
#include "inode/attr_change.h"
#include "udax.h"
#include "util/error.h"

int udax_fchmodat(struct udax_pool *pool, int dirfd, const char *path, mode_t mode, int flags)
{
    struct inode *inode;
    /* AT_EMPTY_PATH as Linux's fchmodat2 takes it: how an O_PATH descriptor's file changes mode. */
    if (api_lookup_at(pool, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, "chmod", &inode))
        return -1;
    /* As on Linux, where a symlink's mode means nothing. */
    int rc = inode_is_symlink(inode) ? EOPNOTSUPP : inode_chmod(&pool->fs, api_cred(pool), inode, mode);
    inode_put(&pool->fs, inode);
    return api_result(rc, "chmod", path);
}

int udax_chmod(struct udax_pool *pool, const char *path, mode_t mode)
{
    return udax_fchmodat(pool, AT_FDCWD, path, mode, 0);
}

int udax_fchmod(struct udax_pool *pool, int fd, mode_t mode)
{
    struct open_file *file = api_get_file(pool, fd, "fchmod");
    if (!file)
        return -1;
    int rc = inode_chmod(&pool->fs, api_cred(pool), file->inode, mode);
    open_file_put(pool, file);
    return api_result(rc, "fchmod", NULL);
}

int udax_fchownat(struct udax_pool *pool, int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
    struct inode *inode;
    if (api_lookup_at(pool, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, "chown", &inode))
        return -1;
    int rc = inode_chown(&pool->fs, api_cred(pool), inode, uid, gid);
    inode_put(&pool->fs, inode);
    return api_result(rc, "chown", path);
}

int udax_chown(struct udax_pool *pool, const char *path, uid_t uid, gid_t gid)
{
    return udax_fchownat(pool, AT_FDCWD, path, uid, gid, 0);
}

int udax_lchown(struct udax_pool *pool, const char *path, uid_t uid, gid_t gid)
{
    return udax_fchownat(pool, AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

int udax_fchown(struct udax_pool *pool, int fd, uid_t uid, gid_t gid)
{
    struct open_file *file = api_get_file(pool, fd, "fchown");
    if (!file)
        return -1;
    int rc = inode_chown(&pool->fs, api_cred(pool), file->inode, uid, gid);
    open_file_put(pool, file);
    return api_result(rc, "fchown", NULL);
}

int udax_utimensat(struct udax_pool *pool, int dirfd, const char *path, const struct timespec times[2], int flags)
{
    /* Nothing to change: Linux returns at once, before it looks at the path or the flags. */
    if (times && times[0].tv_nsec == UTIME_OMIT && times[1].tv_nsec == UTIME_OMIT)
        return 0;
    struct inode *inode;
    if (api_lookup_at(pool, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, "utimensat", &inode))
        return -1;
    int rc = inode_utimens(&pool->fs, api_cred(pool), inode, times);
    inode_put(&pool->fs, inode);
    return api_result(rc, "utimensat", path);
}

int udax_futimens(struct udax_pool *pool, int fd, const struct timespec times[2])
{
    struct open_file *file = api_get_file(pool, fd, "futimens");
    if (!file)
        return -1;
    int rc = inode_utimens(&pool->fs, api_cred(pool), file->inode, times);
    open_file_put(pool, file);
    return api_result(rc, "futimens", NULL);
}

int udax_faccessat(struct udax_pool *pool, int dirfd, const char *path, int mode, int flags)
{
    /* The real and effective ids of a udax credential are the same, so AT_EACCESS changes nothing. */
    struct inode *inode;
    if (api_lookup_at(pool, dirfd, path, flags & ~AT_EACCESS, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, "access",
                      &inode))
        return -1;
    int rc = inode_access(api_cred(pool), inode, mode);
    inode_put(&pool->fs, inode);
    return api_result(rc, "access", path);
}

int udax_access(struct udax_pool *pool, const char *path, int mode)
{
    return udax_faccessat(pool, AT_FDCWD, path, mode, 0);
}
