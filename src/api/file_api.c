/* file_api.c: the descriptor calls of udax.h: open, reopen, close, read, write, seek, sync, truncate, fallocate, copy_file_range, stat. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file/file.h"
#include "handle.h"
#include "inode/attr_change.h"
#include "inode/namei.h"
#include "udax.h"
#include "util/error.h"
#include "util/hooks.h"
#include "util/inject_bug.h"
#include "util/rcu.h"
#include "window/window.h"

void open_file_put(struct udax_pool *pool, struct open_file *file)
{
    if (__atomic_sub_fetch(&file->refs, 1, __ATOMIC_ACQ_REL))
        return;
    fd_file_closing(file);
    if (inode_is_regular(file->inode))
        file_sync(&pool->fs, file->inode);
    inode_put(&pool->fs, file->inode);
    fd_file_free(&pool->fds, file);
}

struct open_file *api_get_path_file(struct udax_pool *pool, int fd, const char *call)
{
    struct open_file *file = pool ? fd_get(&pool->fds, fd) : NULL;
    if (!file)
        udax_fail(EBADF, "%s: bad file descriptor %d", call, fd);
    return file;
}

struct open_file *api_get_file(struct udax_pool *pool, int fd, const char *call)
{
    struct open_file *file = api_get_path_file(pool, fd, call);
    if (file && (file->flags & O_PATH)) {
        open_file_put(pool, file);
        udax_fail(EBADF, "%s: descriptor %d is an O_PATH descriptor", call, fd);
        return NULL;
    }
    return file;
}

int api_at_begin(struct udax_pool *pool, int dirfd, const char *path, bool empty_path, const char *call,
                 struct at_start *at)
{
    *at = (struct at_start){0};
    if (!pool || !path)
        return udax_fail(EFAULT, "%s: null argument", call);
    if (dirfd == AT_FDCWD || path[0] == '/')
        return 0;
    at->file = api_get_path_file(pool, dirfd, call);
    if (!at->file)
        return -1;
    at->inode = at->file->inode;
    if (!inode_is_dir(at->inode) && !(empty_path && !*path)) {
        api_at_end(pool, at);
        return udax_fail(*path ? ENOTDIR : ENOENT, "%s: descriptor %d is not a directory", call, dirfd);
    }
    return 0;
}

void api_at_end(struct udax_pool *pool, struct at_start *at)
{
    if (at->file)
        open_file_put(pool, at->file);
    *at = (struct at_start){0};
}

static bool readable(const struct open_file *file)
{
    return (file->flags & O_ACCMODE) != O_WRONLY;
}

static bool writable(const struct open_file *file)
{
    return (file->flags & O_ACCMODE) != O_RDONLY;
}

/* open(2)'s flags that udax knows; the others are refused rather than ignored. */
#define KNOWN_OPEN_FLAGS                                                                                               \
    (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC | O_NOCTTY |     \
     O_NONBLOCK | O_SYNC | O_DSYNC | O_NOATIME | O_LARGEFILE | O_DIRECT)

/* The checks of open's flags alone, before any lookup; *flags becomes what the descriptor keeps. 0, or -1 with errno set. */
static int check_open_flags(int *flags, const char *call, const char *name)
{
    if (*flags & ~KNOWN_OPEN_FLAGS)
        return udax_fail(EINVAL, "%s %s: unknown flags %#x", call, name, (unsigned)(*flags & ~KNOWN_OPEN_FLAGS));
    if ((*flags & O_ACCMODE) == O_ACCMODE && !(*flags & O_PATH))
        return udax_fail(EINVAL, "%s %s: invalid access mode", call, name);
    /* As on Linux, O_PATH keeps only O_DIRECTORY and O_NOFOLLOW; the descriptor can name the file, not use it. */
    if (*flags & O_PATH)
        *flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    /* As on Linux since 6.4: open creates only regular files, so the pair can only fail, after a create. */
    if ((*flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
        return udax_fail(EINVAL, "%s %s: O_CREAT with O_DIRECTORY", call, name);
    return 0;
}

/*
 * What open and reopen do once they hold the inode and it has passed
 * namei_open_existing (or was just created): O_NOATIME's ownership, O_TRUNC,
 * and a new descriptor. Takes over the reference on inode; call and name
 * head a failure's message.
 */
static int open_inode(struct udax_pool *pool, const struct cred *cred, struct inode *inode, int flags,
                      const char *call, const char *name)
{
    int rc = 0;
    if (flags & O_NOATIME) {
        inode_lock(inode);
        rc = cred_owns(cred, &inode->attr) ? 0 : EPERM;
        inode_unlock(inode);
    }
    /* Linux truncates for O_RDONLY too (POSIX leaves it open); may_open has asked for write permission. */
    if (!rc && (flags & O_TRUNC) && inode_is_regular(inode)) {
        rc = inode_drop_setid(&pool->fs, cred, inode);
        if (!rc)
            rc = file_truncate(&pool->fs, inode, 0);
    }
    int fd = rc ? -1 : fd_open(&pool->fds, inode, flags);
    if (fd < 0) {
        rc = rc ? rc : errno;
        inode_put(&pool->fs, inode);
        return api_result(rc, call, name);
    }
    return fd;
}

static int open_at(struct udax_pool *pool, struct inode *start, const char *path, int flags, mode_t mode)
{
    if (check_open_flags(&flags, "open", path))
        return -1;
    const struct cred *cred = api_cred(pool);
    struct inode *inode;
    int rc = namei_open(&pool->fs, cred, start, path, flags, mode, &inode);
    if (rc)
        return api_result(rc, "open", path);
    return open_inode(pool, cred, inode, flags, "open", path);
}

int udax_reopen(struct udax_pool *pool, int fd, int flags)
{
    char name[32];
    snprintf(name, sizeof(name), "of descriptor %d", fd);
    if (check_open_flags(&flags, "reopen", name))
        return -1;
    struct open_file *from = api_get_path_file(pool, fd, "reopen");
    if (!from)
        return -1;
    /* No walk: the descriptor names the inode, as /proc/self/fd/N's magic link does. */
    struct inode *inode = from->inode;
    inode_get(inode);
    open_file_put(pool, from);
    const struct cred *cred = api_cred(pool);
    int rc = namei_open_existing(cred, inode, flags);
    if (rc) {
        inode_put(&pool->fs, inode);
        return api_result(rc, "reopen", name);
    }
    return open_inode(pool, cred, inode, flags, "reopen", name);
}

static mode_t mode_argument(int flags, va_list ap)
{
    return flags & O_CREAT ? (mode_t)va_arg(ap, int) : 0;
}

int udax_open(struct udax_pool *pool, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_argument(flags, ap);
    va_end(ap);
    if (!pool || !path)
        return udax_fail(EFAULT, "open: null argument");
    return open_at(pool, NULL, path, flags, mode);
}

int udax_openat(struct udax_pool *pool, int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_argument(flags, ap);
    va_end(ap);
    struct at_start at;
    if (api_at_begin(pool, dirfd, path, false, "openat", &at))
        return -1;
    int rc = open_at(pool, at.inode, path, flags, mode);
    api_at_end(pool, &at);
    return rc;
}

int udax_close(struct udax_pool *pool, int fd)
{
    struct open_file *file = pool ? fd_remove(&pool->fds, fd) : NULL;
    if (!file)
        return udax_fail(EBADF, "close: bad file descriptor %d", fd);
    open_file_put(pool, file);
    return 0;
}

static ssize_t transfer(struct udax_pool *pool, struct open_file *file, const struct iovec *iov, int iovcnt,
                        uint64_t offset, bool write, uint64_t *end)
{
    /* The access mode first: a directory is open read-only, so writing to it is EBADF, as POSIX lists for write. */
    if (write ? !writable(file) : !readable(file))
        return udax_fail(EBADF, "%s: descriptor not open for %s", write ? "write" : "read",
                         write ? "writing" : "reading");
    if (inode_is_dir(file->inode))
        return udax_fail(EISDIR, "%s: is a directory", write ? "write" : "read");
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    /* As on Linux, a write of no bytes changes nothing, set-ID bits included. The flag spares most writes the call. */
    bool may_drop = write && total && __atomic_load_n(&file->inode->setid, __ATOMIC_RELAXED);
    int dropped = may_drop ? inode_drop_setid(&pool->fs, api_cred(pool), file->inode) : 0;
    if (dropped)
        return udax_fail(dropped, "write: %s", strerror(dropped));
    ssize_t rc = write ? file_write(&pool->fs, file->inode, iov, iovcnt, offset, file->flags & O_APPEND, end)
                       : file_read(&pool->fs, file->inode, iov, iovcnt, offset, file->flags & O_NOATIME);
    if (rc < 0)
        return udax_fail((int)-rc, "%s: %s", write ? "write" : "read", strerror((int)-rc));
    if (!write)
        *end = offset + (uint64_t)rc;
    return rc;
}

static int check_iov(const struct iovec *iov, int iovcnt)
{
    if (iovcnt < 0 || iovcnt > IOV_MAX || (iovcnt && !iov))
        return udax_fail(EINVAL, "invalid iovec count %d", iovcnt);
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > SSIZE_MAX - total)
            return udax_fail(EINVAL, "iovec lengths overflow");
        total += iov[i].iov_len;
    }
    return 0;
}

/*
 * Open O_WRONLY | O_APPEND: only appends and lseek move the position. An
 * append stores the end it leaves under the inode's exclusive IOLOCK
 * (file_write), and lseek reads and moves the position under IOLOCK shared,
 * so these appends need no position lock (docs/locking.md).
 */
static bool append_only(const struct open_file *file)
{
    return (file->flags & (O_ACCMODE | O_APPEND)) == (O_WRONLY | O_APPEND);
}

/* Atomic: appends through an append-only description store it without the position lock. */
static uint64_t position_of(const struct open_file *file)
{
    return __atomic_load_n(&file->position, __ATOMIC_RELAXED);
}

static void set_position(struct open_file *file, uint64_t position)
{
    __atomic_store_n(&file->position, position, __ATOMIC_RELAXED);
}

/*
 * Inside a read-side section, for the lockless calls: the regular file that
 * held names, when the caller holds a reference on held, or else that fd
 * names, with the description's generation; and the description's flags.
 * NULL, when it is open with the access mode refused_mode or O_PATH, sends
 * the call to the locked path, which gives any error. Inlined, so that its
 * three out parameters stay in registers: stores on the lockless paths queue
 * behind the one that misses (docs/bench.md).
 */
static inline __attribute__((always_inline)) struct inode *lockless_target(struct udax_pool *pool, int fd,
                                                                           struct open_file *held, int refused_mode,
                                                                           struct open_file **file, uint32_t *gen,
                                                                           int *flags)
{
    *file = held ? held : fd_peek(&pool->fds, fd, gen);
    if (!*file)
        return NULL;
    *flags = __atomic_load_n(&(*file)->flags, __ATOMIC_RELAXED);
    struct inode *inode = __atomic_load_n(&(*file)->inode, __ATOMIC_RELAXED);
    return (*flags & O_ACCMODE) != refused_mode && !(*flags & O_PATH) && inode_is_regular(inode) ? inode : NULL;
}

/* Whether the description a lockless call found is still the one it names: always, when the caller holds it. */
static bool lockless_target_unchanged(const struct open_file *held, struct open_file *file, uint32_t gen)
{
    return held || fd_file_unchanged(file, gen);
}

/*
 * pread with neither a lock nor a reference (docs/locking.md, "Lockless reads
 * and overwrites"), or on held, a description the caller holds: false when
 * it cannot vouch for what it copied, and the locked path reads again.
 * Inlined into each caller: the call, and the tests of held that a
 * constant folds away, cost udax_pread 36 instructions more than its 357.
 */
static inline __attribute__((always_inline)) bool pread_lockless(struct udax_pool *pool, int fd,
                                                                 struct open_file *held, void *buf, size_t count,
                                                                 off_t offset, ssize_t *done)
{
    if (offset < 0)
        return false;
    struct lockless_read read = {0};
    struct open_file *file;
    uint32_t gen = 0;
    int flags;
    LOCKLESS_READS_BEGIN();
    rcu_section_begin();
    struct inode *inode = lockless_target(pool, fd, held, O_WRONLY, &file, &gen, &flags);
    bool planned = inode &&
                   file_read_lockless_plan(&pool->fs, inode, count, (uint64_t)offset, flags & O_NOATIME, &read);
    /*
     * Most buffers are plain memory, and their copy stays in the section: a
     * read bound by its copy pays for every instruction between two copies
     * (docs/bench.md). A test's hook may park the thread, which a section
     * must not do.
     */
    bool copy_in_section = !window_span_overlaps(buf, read.count) && !hooks_present();
    if (planned && copy_in_section && read.count)
        memcpy(buf, read.source, read.count);
    planned = planned && lockless_target_unchanged(held, file, gen) &&
              (!copy_in_section || file_read_lockless_stands(inode, &read));
    rcu_section_end();
    if (planned && !copy_in_section) {
        hook_point("pread_lockless_planned", pool, (uint64_t)fd);
        /* Outside the section: buf may be a udax mapping, whose fault may wait for a grace period. */
        if (read.count)
            memcpy(buf, read.source, read.count);
        rcu_section_begin();
        planned = lockless_target_unchanged(held, file, gen) && file_read_lockless_stands(inode, &read);
        rcu_section_end();
    }
    LOCKLESS_READS_END();
    *done = (ssize_t)read.count;
    return planned;
}

/*
 * pwrite over bytes already in the file, in fast mode, with neither a lock
 * nor a reference, or on held, a description the caller holds; false: the
 * locked path writes. Inlined into each caller, as pread_lockless is.
 */
static inline __attribute__((always_inline)) bool pwrite_lockless(struct udax_pool *pool, int fd,
                                                                  struct open_file *held, const void *buf,
                                                                  size_t count, off_t offset)
{
    if (offset < 0)
        return false;
    struct lockless_write write;
    struct open_file *file;
    uint32_t gen = 0;
    int flags;
    LOCKLESS_READS_BEGIN();
    rcu_section_begin();
    struct inode *inode = lockless_target(pool, fd, held, O_RDONLY, &file, &gen, &flags);
    bool planned = inode && !(flags & O_APPEND) &&
                   file_write_lockless_plan(&pool->fs, inode, count, (uint64_t)offset, &write);
    /* After the announcement: a close that this check misses waits for the write before it frees the inode. */
    if (planned && !lockless_target_unchanged(held, file, gen)) {
        file_write_lockless_cancel();
        planned = false;
    }
    rcu_section_end();
    LOCKLESS_READS_END();
    if (planned) {
        hook_point("pwrite_lockless_planned", pool, (uint64_t)fd);
        file_write_lockless_copy(&pool->fs, &write, buf, count);
    }
    return planned;
}

/*
 * One buffer at the position, which the caller holds the position lock of,
 * through the lockless path that pread and pwrite take, on the description
 * the caller holds: false, and the locked path moves it.
 */
static bool lockless_at_position(struct udax_pool *pool, int fd, struct open_file *file, const struct iovec *iov,
                                 bool write, uint64_t *end)
{
    ssize_t done = (ssize_t)iov->iov_len;
    bool moved = write ? pwrite_lockless(pool, fd, file, iov->iov_base, iov->iov_len, (off_t)*end)
                       : pread_lockless(pool, fd, file, iov->iov_base, iov->iov_len, (off_t)*end, &done);
    if (moved)
        *end += (uint64_t)done;
    return moved;
}

/* read, write, readv, writev: at the file position, which moves under the position lock. */
static ssize_t positioned(struct udax_pool *pool, int fd, const struct iovec *iov, int iovcnt, bool write)
{
    if (check_iov(iov, iovcnt))
        return -1;
    struct open_file *file = api_get_file(pool, fd, write ? "write" : "read");
    if (!file)
        return -1;
    ssize_t rc;
    if (write && append_only(file)) {
        rc = transfer(pool, file, iov, iovcnt, 0, true, &file->position);
    } else {
        mutex_lock(&file->position_lock, 0);
        uint64_t start = position_of(file), end = start;
        if (iovcnt == 1 && lockless_at_position(pool, fd, file, iov, write, &end))
            rc = (ssize_t)(end - start);
        else
            rc = transfer(pool, file, iov, iovcnt, start, write, &end);
        if (rc >= 0)
            set_position(file, end);
        mutex_unlock(&file->position_lock);
    }
    open_file_put(pool, file);
    return rc;
}

static ssize_t at_offset(struct udax_pool *pool, int fd, const struct iovec *iov, off_t offset, bool write)
{
    struct open_file *file = api_get_file(pool, fd, write ? "pwrite" : "pread");
    if (!file)
        return -1;
    uint64_t end;
    ssize_t rc = offset < 0 ? udax_fail(EINVAL, "negative offset") : transfer(pool, file, iov, 1, (uint64_t)offset, write, &end);
    open_file_put(pool, file);
    return rc;
}

static size_t clamp_count(size_t count)
{
    return count > SSIZE_MAX ? SSIZE_MAX : count;
}

ssize_t udax_read(struct udax_pool *pool, int fd, void *buf, size_t count)
{
    struct iovec iov = {buf, clamp_count(count)};
    return positioned(pool, fd, &iov, 1, false);
}

ssize_t udax_write(struct udax_pool *pool, int fd, const void *buf, size_t count)
{
    struct iovec iov = {(void *)buf, clamp_count(count)};
    return positioned(pool, fd, &iov, 1, true);
}

ssize_t udax_readv(struct udax_pool *pool, int fd, const struct iovec *iov, int iovcnt)
{
    return positioned(pool, fd, iov, iovcnt, false);
}

ssize_t udax_writev(struct udax_pool *pool, int fd, const struct iovec *iov, int iovcnt)
{
    return positioned(pool, fd, iov, iovcnt, true);
}

ssize_t udax_pread(struct udax_pool *pool, int fd, void *buf, size_t count, off_t offset)
{
    ssize_t done;
    if (pool && pread_lockless(pool, fd, NULL, buf, clamp_count(count), offset, &done))
        return done;
    struct iovec iov = {buf, clamp_count(count)};
    return at_offset(pool, fd, &iov, offset, false);
}

ssize_t udax_pwrite(struct udax_pool *pool, int fd, const void *buf, size_t count, off_t offset)
{
    if (pool && pwrite_lockless(pool, fd, NULL, buf, clamp_count(count), offset))
        return (ssize_t)clamp_count(count);
    struct iovec iov = {(void *)buf, clamp_count(count)};
    return at_offset(pool, fd, &iov, offset, true);
}

off_t udax_lseek(struct udax_pool *pool, int fd, off_t offset, int whence)
{
    struct open_file *file = api_get_file(pool, fd, "lseek");
    if (!file)
        return -1;
    mutex_lock(&file->position_lock, 0);
    /* IOLOCK shared: no append moves the position or the size until this one has moved it. */
    bool appends_excluded = !BUG_INJECTED(BUG_APPEND_POSITION);
    if (appends_excluded)
        rwlock_read(&file->inode->iolock, file->inode->ino);
    int64_t base = 0;
    int rc = 0;
    switch (whence) {
    case SEEK_SET:
        break;
    case SEEK_CUR:
        base = (int64_t)position_of(file);
        break;
    case SEEK_END:
        inode_lock(file->inode);
        base = (int64_t)inode_stat_size(file->inode);
        inode_unlock(file->inode);
        break;
    case SEEK_DATA:
    case SEEK_HOLE: {
        int64_t found = offset < 0 ? -ENXIO : file_seek_data(&pool->fs, file->inode, (uint64_t)offset, whence);
        if (found < 0)
            rc = (int)-found;
        else
            offset = found;
        break;
    }
    default:
        rc = EINVAL;
    }
    off_t result = -1;
    if (!rc && ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0))
        rc = offset > 0 ? EOVERFLOW : EINVAL;
    if (!rc) {
        result = base + offset;
        hook_point("lseek_moving", file, (uint64_t)fd);
        set_position(file, (uint64_t)result);
    }
    if (appends_excluded)
        rwlock_unlock(&file->inode->iolock);
    mutex_unlock(&file->position_lock);
    open_file_put(pool, file);
    return rc ? api_result(rc, "lseek", NULL) : result;
}

int udax_fsync(struct udax_pool *pool, int fd)
{
    struct open_file *file = api_get_file(pool, fd, "fsync");
    if (!file)
        return -1;
    int rc = inode_is_dir(file->inode) ? 0 : file_sync(&pool->fs, file->inode);
    open_file_put(pool, file);
    return api_result(rc, "fsync", NULL);
}

int udax_fdatasync(struct udax_pool *pool, int fd)
{
    return udax_fsync(pool, fd);
}

int udax_ftruncate(struct udax_pool *pool, int fd, off_t length)
{
    struct open_file *file = api_get_file(pool, fd, "ftruncate");
    if (!file)
        return -1;
    int rc;
    if (length < 0 || !inode_is_regular(file->inode) || !writable(file))
        rc = EINVAL;
    else
        rc = inode_drop_setid(&pool->fs, api_cred(pool), file->inode);
    if (!rc)
        rc = file_truncate(&pool->fs, file->inode, (uint64_t)length);
    open_file_put(pool, file);
    return api_result(rc, "ftruncate", NULL);
}

int udax_fallocate(struct udax_pool *pool, int fd, int mode, off_t offset, off_t len)
{
    struct open_file *file = api_get_file(pool, fd, "fallocate");
    if (!file)
        return -1;
    int rc;
    if (offset < 0 || len <= 0)
        rc = EINVAL;
    else if (!writable(file))
        rc = EBADF;
    else if (inode_is_dir(file->inode))
        rc = EISDIR;
    else
        rc = file_fallocate(&pool->fs, file->inode, mode, (uint64_t)offset, (uint64_t)len);
    open_file_put(pool, file);
    return api_result(rc, "fallocate", NULL);
}

/* copy_file_range goes through a DRAM buffer of at most this many bytes at a time. */
#define COPY_CHUNK ((size_t)4 << 20)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Copies count bytes, which lie within in's size, chunk by chunk: each a read, then a write that drops set-ID bits. */
static ssize_t copy_chunks(struct udax_pool *pool, struct open_file *in, uint64_t pos_in, struct open_file *out,
                           uint64_t pos_out, uint64_t count)
{
    size_t chunk = (size_t)min_u64(count, COPY_CHUNK);
    char *buf = malloc(chunk);
    if (!buf)
        return udax_fail(ENOMEM, "copy_file_range: out of memory");
    uint64_t done = 0;
    int rc = 0;
    while (!rc && done < count) {
        struct iovec iov = {buf, (size_t)min_u64(count - done, chunk)};
        ssize_t got = file_read(&pool->fs, in->inode, &iov, 1, pos_in + done, in->flags & O_NOATIME);
        /* 0: the source shrank meanwhile, and the copy ends at its new end. */
        if (got <= 0) {
            rc = (int)-got;
            break;
        }
        iov.iov_len = (size_t)got;
        rc = inode_drop_setid(&pool->fs, api_cred(pool), out->inode);
        uint64_t end;
        ssize_t put = rc ? 0 : file_write(&pool->fs, out->inode, &iov, 1, pos_out + done, false, &end);
        if (put < 0)
            rc = (int)-put;
        else
            done += (uint64_t)put;
    }
    free(buf);
    /* As a write that fails part way, a copy that did something reports that, and leaves the error to the next call. */
    return done ? (ssize_t)done : api_result(rc, "copy_file_range", NULL);
}

/*
 * copy_file_range's checks, in the order of Linux's generic_copy_file_checks
 * and rw_verify_area, whose errno a caller sees when several apply; then the
 * copy, cut at the end of the source and at the largest file size.
 */
static ssize_t copy_range(struct udax_pool *pool, struct open_file *in, off_t pos_in, struct open_file *out,
                          off_t pos_out, size_t len)
{
    struct inode *src = in->inode, *dst = out->inode;
    /* Only regular files and directories open for I/O, so Linux's EINVAL for other types cannot arise. */
    if (inode_is_dir(src) || inode_is_dir(dst))
        return udax_fail(EISDIR, "copy_file_range: is a directory");
    if (!readable(in))
        return udax_fail(EBADF, "copy_file_range: source not open for reading");
    if (!writable(out) || (out->flags & O_APPEND))
        return udax_fail(EBADF, "copy_file_range: target not open for writing, or open with O_APPEND");
    /* Linux adds offset and length unsigned: a negative offset is EOVERFLOW when the sum wraps, else EINVAL below. */
    if ((uint64_t)pos_in + len < (uint64_t)pos_in || (uint64_t)pos_out + len < (uint64_t)pos_out)
        return udax_fail(EOVERFLOW, "copy_file_range: offset and length overflow");
    inode_lock(src);
    uint64_t size = src->attr.size;
    inode_unlock(src);
    uint64_t count = pos_in >= 0 && (uint64_t)pos_in < size ? min_u64(len, size - (uint64_t)pos_in) : 0;
    /* udax's largest file size, which Linux calls s_maxbytes: a copy may end there, not start there. */
    if (pos_out == INT64_MAX)
        return udax_fail(EFBIG, "copy_file_range: target offset at the largest file size");
    if (pos_in < 0 || pos_out < 0)
        return udax_fail(EINVAL, "copy_file_range: negative offset");
    count = min_u64(count, (uint64_t)(INT64_MAX - pos_out));
    if (src == dst && (uint64_t)pos_out + count > (uint64_t)pos_in && (uint64_t)pos_out < (uint64_t)pos_in + count)
        return udax_fail(EINVAL, "copy_file_range: overlapping ranges of one file");
    return count ? copy_chunks(pool, in, (uint64_t)pos_in, out, (uint64_t)pos_out, count) : 0;
}

/*
 * Takes the position locks of a and b (either may be NULL, or both the same)
 * in address order: two copies between the same descriptors in opposite
 * directions take them in the same order.
 */
static void lock_positions(struct open_file *a, struct open_file *b)
{
    if (a && b && (uintptr_t)b < (uintptr_t)a) {
        struct open_file *lower = b;
        b = a;
        a = lower;
    }
    if (a)
        mutex_lock(&a->position_lock, (uintptr_t)a);
    if (b && b != a)
        mutex_lock(&b->position_lock, (uintptr_t)b);
}

static void unlock_positions(struct open_file *a, struct open_file *b)
{
    if (a)
        mutex_unlock(&a->position_lock);
    if (b && b != a)
        mutex_unlock(&b->position_lock);
}

ssize_t udax_copy_file_range(struct udax_pool *pool, int fd_in, off_t *off_in, int fd_out, off_t *off_out,
                             size_t len, unsigned int flags)
{
    if (flags)
        return udax_fail(EINVAL, "copy_file_range: unknown flags %#x", flags);
    struct open_file *in = api_get_file(pool, fd_in, "copy_file_range");
    if (!in)
        return -1;
    struct open_file *out = api_get_file(pool, fd_out, "copy_file_range");
    if (!out) {
        open_file_put(pool, in);
        return -1;
    }
    /* A position that stands in for a NULL offset moves with the copy under its lock, as read's does. */
    struct open_file *in_moves = off_in ? NULL : in, *out_moves = off_out ? NULL : out;
    lock_positions(in_moves, out_moves);
    off_t pos_in = off_in ? *off_in : (off_t)position_of(in);
    off_t pos_out = off_out ? *off_out : (off_t)position_of(out);
    ssize_t rc = copy_range(pool, in, pos_in, out, pos_out, len);
    if (rc > 0) {
        if (off_in)
            *off_in = pos_in + rc;
        else
            set_position(in, (uint64_t)(pos_in + rc));
        if (off_out)
            *off_out = pos_out + rc;
        else
            set_position(out, (uint64_t)(pos_out + rc));
    }
    unlock_positions(in_moves, out_moves);
    open_file_put(pool, out);
    open_file_put(pool, in);
    return rc;
}

int udax_fstat(struct udax_pool *pool, int fd, struct stat *st)
{
    if (!st)
        return udax_fail(EFAULT, "fstat: null argument");
    struct open_file *file = api_get_path_file(pool, fd, "fstat");
    if (!file)
        return -1;
    inode_lock(file->inode);
    inode_to_stat(&pool->fs, file->inode, st);
    inode_unlock(file->inode);
    open_file_put(pool, file);
    return 0;
}
