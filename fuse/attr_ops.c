/* attr_ops.c: the FUSE operations on an inode's attributes: getattr, setattr, readlink, access, statfs and xattrs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>

#include "udax_fuse.h"

static void attr_getattr(fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *fi)
{
    (void)fi;
    struct mount *mount = begin_request_without_groups(req);
    struct stat attr;
    if (stat_node_fd(mount, node_of(mount, nodeid)->fd, &attr))
        reply_errno(req);
    else
        fuse_reply_attr(req, &attr, mount->attr_timeout);
}

/* The size change of a setattr: through the caller's open file, or else by opening the inode for writing as truncate(2) does. */
static int set_size(struct mount *mount, struct node *node, off_t size, struct fuse_file_info *fi)
{
    if (fi)
        return udax_ftruncate(mount->pool, (int)fi->fh, size);
    int fd = udax_reopen(mount->pool, node->fd, O_WRONLY);
    if (fd < 0)
        return -1;
    int rc = udax_ftruncate(mount->pool, fd, size);
    int saved = errno;
    udax_close(mount->pool, fd);
    errno = saved;
    return rc;
}

static struct timespec time_to_set(const struct timespec *given, int valid, int set_flag, int now_flag)
{
    if (valid & now_flag)
        return (struct timespec){.tv_nsec = UTIME_NOW};
    if (valid & set_flag)
        return *given;
    return (struct timespec){.tv_nsec = UTIME_OMIT};
}

static int set_attributes(struct mount *mount, struct node *node, const struct stat *attr, int valid,
                          struct fuse_file_info *fi)
{
    if ((valid & FUSE_SET_ATTR_MODE) &&
        udax_fchmodat(mount->pool, node->fd, "", attr->st_mode & 07777, AT_EMPTY_PATH))
        return -1;
    if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
        uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
        gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;
        if (udax_fchownat(mount->pool, node->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
            return -1;
    }
    if ((valid & FUSE_SET_ATTR_SIZE) && set_size(mount, node, attr->st_size, fi))
        return -1;
    if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)) {
        struct timespec times[2] = {
            time_to_set(&attr->st_atim, valid, FUSE_SET_ATTR_ATIME, FUSE_SET_ATTR_ATIME_NOW),
            time_to_set(&attr->st_mtim, valid, FUSE_SET_ATTR_MTIME, FUSE_SET_ATTR_MTIME_NOW),
        };
        if (udax_utimensat(mount->pool, node->fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
            return -1;
    }
    return 0;
}

static void attr_setattr(fuse_req_t req, fuse_ino_t nodeid, struct stat *attr, int valid, struct fuse_file_info *fi)
{
    struct mount *mount = begin_request(req);
    struct node *node = node_of(mount, nodeid);
    struct stat now;
    if (set_attributes(mount, node, attr, valid, fi) || stat_node_fd(mount, node->fd, &now))
        reply_errno(req);
    else
        fuse_reply_attr(req, &now, mount->attr_timeout);
}

static void attr_readlink(fuse_req_t req, fuse_ino_t nodeid)
{
    struct mount *mount = begin_request(req);
    char target[PATH_MAX + 1];
    ssize_t length = udax_readlinkat(mount->pool, node_of(mount, nodeid)->fd, "", target, sizeof(target) - 1);
    if (length < 0) {
        reply_errno(req);
        return;
    }
    target[length] = '\0';
    fuse_reply_readlink(req, target);
}

static void attr_access(fuse_req_t req, fuse_ino_t nodeid, int mask)
{
    struct mount *mount = begin_request(req);
    int rc = udax_faccessat(mount->pool, node_of(mount, nodeid)->fd, "", mask, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
    fuse_reply_err(req, rc ? errno : 0);
}

static void attr_statfs(fuse_req_t req, fuse_ino_t nodeid)
{
    (void)nodeid;
    struct mount *mount = begin_request_without_groups(req);
    struct statvfs st;
    if (udax_statvfs(mount->pool, &st))
        reply_errno(req);
    else
        fuse_reply_statfs(req, &st);
}

/* The *xattrat calls name the inode itself: the node's descriptor with an empty path, not following a symlink. */
#define NODE_AT_FLAGS (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)

static void attr_setxattr(fuse_req_t req, fuse_ino_t nodeid, const char *name, const char *value, size_t size,
                          int flags)
{
    struct mount *mount = begin_request(req);
    int rc = udax_setxattrat(mount->pool, node_of(mount, nodeid)->fd, "", NODE_AT_FLAGS, name, value, size, flags);
    fuse_reply_err(req, rc ? errno : 0);
}

/* Replies to a getxattr or listxattr: with the length alone when the caller asked for it (size 0), else with the bytes. */
static void reply_xattr_bytes(fuse_req_t req, ssize_t length, const char *bytes, size_t size)
{
    if (length < 0)
        reply_errno(req);
    else if (!size)
        fuse_reply_xattr(req, (size_t)length);
    else
        fuse_reply_buf(req, bytes, (size_t)length);
}

static void attr_getxattr(fuse_req_t req, fuse_ino_t nodeid, const char *name, size_t size)
{
    struct mount *mount = begin_request(req);
    char *value = size ? malloc(size) : NULL;
    if (size && !value) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ssize_t length = udax_getxattrat(mount->pool, node_of(mount, nodeid)->fd, "", NODE_AT_FLAGS, name, value, size);
    reply_xattr_bytes(req, length, value, size);
    free(value);
}

static void attr_listxattr(fuse_req_t req, fuse_ino_t nodeid, size_t size)
{
    struct mount *mount = begin_request(req);
    char *list = size ? malloc(size) : NULL;
    if (size && !list) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ssize_t length = udax_listxattrat(mount->pool, node_of(mount, nodeid)->fd, "", NODE_AT_FLAGS, list, size);
    reply_xattr_bytes(req, length, list, size);
    free(list);
}

static void attr_removexattr(fuse_req_t req, fuse_ino_t nodeid, const char *name)
{
    struct mount *mount = begin_request(req);
    int rc = udax_removexattrat(mount->pool, node_of(mount, nodeid)->fd, "", NODE_AT_FLAGS, name);
    fuse_reply_err(req, rc ? errno : 0);
}

void attr_ops_fill(struct fuse_lowlevel_ops *ops)
{
    ops->getattr = attr_getattr;
    ops->setattr = attr_setattr;
    ops->readlink = attr_readlink;
    ops->access = attr_access;
    ops->statfs = attr_statfs;
    ops->setxattr = attr_setxattr;
    ops->getxattr = attr_getxattr;
    ops->listxattr = attr_listxattr;
    ops->removexattr = attr_removexattr;
}
