/* entry_ops.c: the FUSE operations on names: lookup, forget, create, mknod, mkdir, symlink, link, unlink, rmdir, rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "udax_fuse.h"

static int parent_fd(struct mount *mount, fuse_ino_t parent)
{
    return node_of(mount, parent)->fd;
}

static void entry_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    reply_entry_of_name(req, begin_request(req), parent, name);
}

static void entry_forget(fuse_req_t req, fuse_ino_t nodeid, uint64_t count)
{
    node_table_forget(fuse_req_userdata(req), nodeid, count);
    fuse_reply_none(req);
}

static void entry_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    struct mount *mount = fuse_req_userdata(req);
    for (size_t i = 0; i < count; i++)
        node_table_forget(mount, forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

/* After a call that made name in parent: replies with its entry, or the call's error. */
static void reply_made(fuse_req_t req, struct mount *mount, int rc, fuse_ino_t parent, const char *name)
{
    if (rc)
        reply_errno(req);
    else
        reply_entry_of_name(req, mount, parent, name);
}

static void entry_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    struct mount *mount = begin_request(req);
    reply_made(req, mount, udax_mknodat(mount->pool, parent_fd(mount, parent), name, mode, rdev), parent, name);
}

static void entry_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    struct mount *mount = begin_request(req);
    reply_made(req, mount, udax_mkdirat(mount->pool, parent_fd(mount, parent), name, mode), parent, name);
}

static void entry_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
    struct mount *mount = begin_request(req);
    reply_made(req, mount, udax_symlinkat(mount->pool, target, parent_fd(mount, parent), name), parent, name);
}

static void entry_link(fuse_req_t req, fuse_ino_t nodeid, fuse_ino_t new_parent, const char *new_name)
{
    struct mount *mount = begin_request(req);
    int rc = udax_linkat(mount->pool, node_of(mount, nodeid)->fd, "", parent_fd(mount, new_parent), new_name,
                         AT_EMPTY_PATH);
    reply_made(req, mount, rc, new_parent, new_name);
}

static void entry_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct mount *mount = begin_request(req);
    fuse_reply_err(req, udax_unlinkat(mount->pool, parent_fd(mount, parent), name, 0) ? errno : 0);
}

static void entry_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct mount *mount = begin_request(req);
    fuse_reply_err(req, udax_unlinkat(mount->pool, parent_fd(mount, parent), name, AT_REMOVEDIR) ? errno : 0);
}

static void entry_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t new_parent,
                         const char *new_name, unsigned int flags)
{
    struct mount *mount = begin_request(req);
    int rc = udax_renameat2(mount->pool, parent_fd(mount, parent), name, parent_fd(mount, new_parent), new_name, flags);
    fuse_reply_err(req, rc ? errno : 0);
}

static void entry_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
    struct mount *mount = begin_request(req);
    int fd = udax_openat(mount->pool, parent_fd(mount, parent), name, (fi->flags & POOL_OPEN_FLAGS) | O_CREAT,
                         mode);
    if (fd < 0) {
        reply_errno(req);
        return;
    }
    int node_fd = udax_reopen(mount->pool, fd, O_PATH);
    if (node_fd < 0) {
        int saved = errno;
        udax_close(mount->pool, fd);
        fuse_reply_err(req, saved);
        return;
    }
    fi->fh = (uint64_t)fd;
    fi->keep_cache = 1;
    reply_entry_of_fd(req, mount, node_fd, fi);
}

void entry_ops_fill(struct fuse_lowlevel_ops *ops)
{
    ops->lookup = entry_lookup;
    ops->forget = entry_forget;
    ops->forget_multi = entry_forget_multi;
    ops->mknod = entry_mknod;
    ops->mkdir = entry_mkdir;
    ops->symlink = entry_symlink;
    ops->link = entry_link;
    ops->unlink = entry_unlink;
    ops->rmdir = entry_rmdir;
    ops->rename = entry_rename;
    ops->create = entry_create;
}
