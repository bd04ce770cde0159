/* file_ops.c: the FUSE operations on open files: open, read, write, flush, release, fsync, fallocate, lseek, copy_file_range. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "udax_fuse.h"

static int file_fd(const struct fuse_file_info *fi)
{
    return (int)fi->fh;
}

static void file_open(fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *fi)
{
    struct mount *mount = begin_request(req);
    int fd = udax_reopen(mount->pool, node_of(mount, nodeid)->fd, fi->flags & POOL_OPEN_FLAGS & ~(O_CREAT | O_EXCL));
    if (fd < 0) {
        reply_errno(req);
        return;
    }
    fi->fh = (uint64_t)fd;
    /* Every change of the pool passes through this mount, so what the kernel cached of a file is still true at the next open. */
    fi->keep_cache = 1;
    if (fuse_reply_open(req, fi))
        udax_close(mount->pool, fd);
}

static void file_read(fuse_req_t req, fuse_ino_t nodeid, size_t size, off_t offset, struct fuse_file_info *fi)
{
    (void)nodeid;
    struct mount *mount = begin_request_without_groups(req);
    char *buffer = malloc(size ? size : 1);
    if (!buffer) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ssize_t length = udax_pread(mount->pool, file_fd(fi), buffer, size, offset);
    if (length < 0)
        reply_errno(req);
    else
        fuse_reply_buf(req, buffer, (size_t)length);
    free(buffer);
}

static void file_write(fuse_req_t req, fuse_ino_t nodeid, const char *bytes, size_t size, off_t offset,
                       struct fuse_file_info *fi)
{
    (void)nodeid;
    struct mount *mount = begin_request(req);
    ssize_t length = udax_pwrite(mount->pool, file_fd(fi), bytes, size, offset);
    if (length < 0)
        reply_errno(req);
    else
        fuse_reply_write(req, (size_t)length);
}

/* Every udax call is durable when it returns: a close(2) has nothing left to push. */
static void file_flush(fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *fi)
{
    (void)nodeid;
    (void)fi;
    fuse_reply_err(req, 0);
}

static void file_release(fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *fi)
{
    (void)nodeid;
    struct mount *mount = begin_request_without_groups(req);
    fuse_reply_err(req, udax_close(mount->pool, file_fd(fi)) ? errno : 0);
}

static void file_fsync(fuse_req_t req, fuse_ino_t nodeid, int datasync, struct fuse_file_info *fi)
{
    (void)nodeid;
    struct mount *mount = begin_request_without_groups(req);
    int rc = datasync ? udax_fdatasync(mount->pool, file_fd(fi)) : udax_fsync(mount->pool, file_fd(fi));
    fuse_reply_err(req, rc ? errno : 0);
}

static void file_fallocate(fuse_req_t req, fuse_ino_t nodeid, int mode, off_t offset, off_t length,
                           struct fuse_file_info *fi)
{
    (void)nodeid;
    struct mount *mount = begin_request(req);
    fuse_reply_err(req, udax_fallocate(mount->pool, file_fd(fi), mode, offset, length) ? errno : 0);
}

static void file_lseek(fuse_req_t req, fuse_ino_t nodeid, off_t offset, int whence, struct fuse_file_info *fi)
{
    (void)nodeid;
    struct mount *mount = begin_request_without_groups(req);
    off_t position = udax_lseek(mount->pool, file_fd(fi), offset, whence);
    if (position < 0)
        reply_errno(req);
    else
        fuse_reply_lseek(req, position);
}

static void file_copy_file_range(fuse_req_t req, fuse_ino_t nodeid_in, off_t offset_in, struct fuse_file_info *fi_in,
                                 fuse_ino_t nodeid_out, off_t offset_out, struct fuse_file_info *fi_out, size_t length,
                                 int flags)
{
    (void)nodeid_in;
    (void)nodeid_out;
    struct mount *mount = begin_request(req);
    ssize_t copied = udax_copy_file_range(mount->pool, file_fd(fi_in), &offset_in, file_fd(fi_out), &offset_out,
                                          length, (unsigned int)flags);
    if (copied < 0)
        reply_errno(req);
    else
        fuse_reply_write(req, (size_t)copied);
}

void file_ops_fill(struct fuse_lowlevel_ops *ops)
{
    ops->open = file_open;
    ops->read = file_read;
    ops->write = file_write;
    ops->flush = file_flush;
    ops->release = file_release;
    ops->fsync = file_fsync;
    ops->fallocate = file_fallocate;
    ops->lseek = file_lseek;
    ops->copy_file_range = file_copy_file_range;
}
