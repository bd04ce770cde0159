/* dir_ops.c: the FUSE operations on directories: opendir, readdir, readdirplus, releasedir, fsyncdir. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "udax_fuse.h"

static struct dir_handle *dir_handle_of(const struct fuse_file_info *fi)
{
    return (struct dir_handle *)(uintptr_t)fi->fh;
}

/* Takes handle off the mount's list of open directories; the lock is never held across a udax call. */
static void forget_handle(struct mount *mount, struct dir_handle *handle)
{
    pthread_mutex_lock(&mount->dirs_lock);
    handle->prev->next = handle->next;
    handle->next->prev = handle->prev;
    pthread_mutex_unlock(&mount->dirs_lock);
}

static void dir_opendir(fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *fi)
{
    struct mount *mount = begin_request(req);
    struct dir_handle *handle = calloc(1, sizeof(*handle));
    if (!handle) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    int fd = udax_reopen(mount->pool, node_of(mount, nodeid)->fd, O_RDONLY | O_DIRECTORY);
    handle->stream = fd < 0 ? NULL : udax_fdopendir(mount->pool, fd);
    if (!handle->stream) {
        int saved = errno;
        if (fd >= 0)
            udax_close(mount->pool, fd);
        free(handle);
        fuse_reply_err(req, saved);
        return;
    }
    pthread_mutex_lock(&mount->dirs_lock);
    handle->next = mount->dirs.next;
    handle->prev = &mount->dirs;
    handle->next->prev = handle;
    mount->dirs.next = handle;
    pthread_mutex_unlock(&mount->dirs_lock);
    fi->fh = (uint64_t)(uintptr_t)handle;
    if (fuse_reply_open(req, fi)) {
        forget_handle(mount, handle);
        udax_closedir(mount->pool, handle->stream);
        free(handle);
    }
}

/* Puts the stream where the kernel asks to go on from: offsets are the cookies of udax_telldir, 0 the start. */
static void position_stream(struct mount *mount, struct dir_handle *handle, off_t offset)
{
    if (offset == handle->next_offset)
        return;
    if (offset == 0)
        udax_rewinddir(mount->pool, handle->stream);
    else
        udax_seekdir(mount->pool, handle->stream, (long)offset);
    handle->next_offset = offset;
}

/*
 * Adds one name to a readdirplus reply, with its inode looked up; "." and "..",
 * and names the lookup fails on (unlinked since, or not searchable by the
 * caller), go without attributes, which the kernel takes as "look it up when
 * needed". Returns the bytes it took, or more than room when it did not fit,
 * having then taken no reference.
 */
static size_t add_plus_entry(fuse_req_t req, struct mount *mount, fuse_ino_t nodeid, const struct dirent *entry,
                             char *buffer, size_t room)
{
    struct fuse_entry_param param = {.attr_timeout = mount->attr_timeout, .entry_timeout = mount->entry_timeout};
    bool dot = !strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..");
    int fd = dot ? -1 : udax_openat(mount->pool, node_of(mount, nodeid)->fd, entry->d_name, O_PATH | O_NOFOLLOW);
    if (fd >= 0)
        param.ino = take_node_of_fd(mount, fd, &param.attr);
    if (!param.ino) {
        param.attr = (struct stat){.st_ino = entry->d_ino, .st_mode = (mode_t)DTTOIF(entry->d_type)};
        param.attr_timeout = param.entry_timeout = 0;
    }
    size_t size = fuse_add_direntry_plus(req, buffer, room, entry->d_name, &param, entry->d_off);
    if (size > room && param.ino)
        node_table_forget(mount, param.ino, 1);
    return size;
}

static void read_directory(fuse_req_t req, fuse_ino_t nodeid, size_t size, off_t offset, struct fuse_file_info *fi,
                           bool plus)
{
    struct mount *mount = begin_request(req);
    struct dir_handle *handle = dir_handle_of(fi);
    char *buffer = malloc(size ? size : 1);
    if (!buffer) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    position_stream(mount, handle, offset);
    size_t used = 0;
    int error = 0;
    for (;;) {
        errno = 0;
        struct dirent *entry = udax_readdir(mount->pool, handle->stream);
        if (!entry) {
            error = errno;
            break;
        }
        size_t room = size - used;
        size_t taken;
        if (plus) {
            taken = add_plus_entry(req, mount, nodeid, entry, buffer + used, room);
        } else {
            struct stat attr = {.st_ino = entry->d_ino, .st_mode = (mode_t)DTTOIF(entry->d_type)};
            taken = fuse_add_direntry(req, buffer + used, room, entry->d_name, &attr, entry->d_off);
        }
        if (taken > room) {
            /* The entry waits for the next call: go back to just before it. */
            udax_seekdir(mount->pool, handle->stream, (long)handle->next_offset);
            break;
        }
        used += taken;
        handle->next_offset = entry->d_off;
    }
    /* Entries already added carry references the kernel must get; an error waits for the next call. */
    if (error && !used)
        fuse_reply_err(req, error);
    else
        fuse_reply_buf(req, buffer, used);
    free(buffer);
}

static void dir_readdir(fuse_req_t req, fuse_ino_t nodeid, size_t size, off_t offset, struct fuse_file_info *fi)
{
    read_directory(req, nodeid, size, offset, fi, false);
}

static void dir_readdirplus(fuse_req_t req, fuse_ino_t nodeid, size_t size, off_t offset, struct fuse_file_info *fi)
{
    read_directory(req, nodeid, size, offset, fi, true);
}

static void dir_releasedir(fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *fi)
{
    (void)nodeid;
    struct mount *mount = begin_request_without_groups(req);
    struct dir_handle *handle = dir_handle_of(fi);
    forget_handle(mount, handle);
    udax_closedir(mount->pool, handle->stream);
    free(handle);
    fuse_reply_err(req, 0);
}

/* Directory changes are durable when their call returns. */
static void dir_fsyncdir(fuse_req_t req, fuse_ino_t nodeid, int datasync, struct fuse_file_info *fi)
{
    (void)nodeid;
    (void)datasync;
    (void)fi;
    fuse_reply_err(req, 0);
}

void dir_handles_close_all(struct mount *mount)
{
    for (;;) {
        pthread_mutex_lock(&mount->dirs_lock);
        struct dir_handle *handle = mount->dirs.next == &mount->dirs ? NULL : mount->dirs.next;
        pthread_mutex_unlock(&mount->dirs_lock);
        if (!handle)
            return;
        forget_handle(mount, handle);
        udax_closedir(mount->pool, handle->stream);
        free(handle);
    }
}

void dir_ops_fill(struct fuse_lowlevel_ops *ops)
{
    ops->opendir = dir_opendir;
    ops->readdir = dir_readdir;
    ops->readdirplus = dir_readdirplus;
    ops->releasedir = dir_releasedir;
    ops->fsyncdir = dir_fsyncdir;
}
