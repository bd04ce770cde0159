/* request.c: what every FUSE request handler does: act as the caller, reply with entries and errors, log. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "udax_fuse.h"

/* Most callers belong to few groups; a larger list takes the heap for that request. */
#define INLINE_GROUPS 32

/* Acts as the caller of req, with its supplementary groups only when the call may check permissions against them. */
static struct mount *act_as_caller(fuse_req_t req, bool with_groups)
{
    struct mount *mount = fuse_req_userdata(req);
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    struct udax_cred cred = {.uid = ctx->uid, .gid = ctx->gid, .umask = ctx->umask};
    gid_t inline_groups[INLINE_GROUPS];
    gid_t *groups = NULL;
    /* Root passes every check, so its groups are not worth reading /proc for. */
    if (with_groups && ctx->uid != 0) {
        int count = fuse_req_getgroups(req, INLINE_GROUPS, inline_groups);
        if (count > 0 && count <= INLINE_GROUPS) {
            cred.groups = inline_groups;
            cred.group_count = (size_t)count;
        } else if (count > INLINE_GROUPS && (groups = malloc(sizeof(*groups) * (size_t)count))) {
            /* The caller may have changed its groups in between: a list that no longer fits is not used. */
            int again = fuse_req_getgroups(req, count, groups);
            if (again > 0 && again <= count) {
                cred.groups = groups;
                cred.group_count = (size_t)again;
            }
        }
    }
    /* Without groups the caller is refused what only a group would grant: never more than it may do. */
    udax_set_thread_cred(mount->pool, &cred);
    free(groups);
    return mount;
}

struct mount *begin_request(fuse_req_t req)
{
    return act_as_caller(req, true);
}

struct mount *begin_request_without_groups(fuse_req_t req)
{
    return act_as_caller(req, false);
}

void reply_errno(fuse_req_t req)
{
    fuse_reply_err(req, errno ? errno : EIO);
}

int stat_node_fd(struct mount *mount, int fd, struct stat *attr)
{
    return udax_fstatat(mount->pool, fd, "", attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

fuse_ino_t take_node_of_fd(struct mount *mount, int fd, struct stat *attr)
{
    if (stat_node_fd(mount, fd, attr)) {
        int saved = errno;
        udax_close(mount->pool, fd);
        errno = saved;
        return 0;
    }
    fuse_ino_t nodeid = node_table_take(mount, fd, attr->st_ino);
    if (!nodeid)
        errno = ENOMEM;
    return nodeid;
}

void reply_entry_of_fd(fuse_req_t req, struct mount *mount, int fd, struct fuse_file_info *fi)
{
    struct fuse_entry_param entry = {.attr_timeout = mount->attr_timeout, .entry_timeout = mount->entry_timeout};
    entry.ino = take_node_of_fd(mount, fd, &entry.attr);
    int error = entry.ino ? 0 : errno;
    /* An interrupted request does not reach the kernel, which then holds no reference to forget nor file to release. */
    if (!error && (fi ? fuse_reply_create(req, &entry, fi) : fuse_reply_entry(req, &entry)) == 0)
        return;
    if (entry.ino)
        node_table_forget(mount, entry.ino, 1);
    if (fi)
        udax_close(mount->pool, (int)fi->fh);
    if (error)
        fuse_reply_err(req, error);
}

void reply_entry_of_name(fuse_req_t req, struct mount *mount, fuse_ino_t parent, const char *name)
{
    int fd = udax_openat(mount->pool, node_of(mount, parent)->fd, name, O_PATH | O_NOFOLLOW);
    if (fd >= 0) {
        reply_entry_of_fd(req, mount, fd, NULL);
        return;
    }
    if (errno != ENOENT) {
        reply_errno(req);
        return;
    }
    /* A negative entry: the kernel remembers the absence for the entry timeout, and forgets it when it makes the name. */
    struct fuse_entry_param entry = {.attr_timeout = mount->attr_timeout, .entry_timeout = mount->entry_timeout};
    fuse_reply_entry(req, &entry);
}

static bool log_to_syslog;

void mount_log_to_syslog(void)
{
    openlog("udax", LOG_PID, LOG_DAEMON);
    log_to_syslog = true;
}

void mount_log(int priority, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (log_to_syslog) {
        vsyslog(priority, fmt, ap);
    } else {
        fputs("udax mount: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}
