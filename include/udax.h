/* udax.h: the public API of libudax, the only header an application includes. */
#ifndef UDAX_H
#define UDAX_H

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udax_pool;
typedef struct udax_dir UDAX_DIR;

/* How writes reach the pool: strict makes every write atomic (copy-on-write),
 * fast overwrites allocated blocks in place as ext4-DAX does. */
enum udax_data_mode {
    UDAX_DATA_STRICT = 0,
    UDAX_DATA_FAST = 1,
};

struct udax_mkfs_options {
    enum udax_data_mode data_mode;
    /* Number of inodes; 0 picks one per 8 KiB of pool. */
    uint64_t inode_count;
};

struct udax_open_options {
    /* Reserved for later use; must be zero. */
    uint64_t flags;
    /*
     * Budget of live mapped ranges of udax_mmap (each is a kernel VMA, and
     * vm.max_map_count is finite); idle ranges are reclaimed beyond it.
     * 0 takes UDAX_WINDOW_RANGES from the environment, or 16384.
     */
    uint64_t window_ranges;
};

/* Smallest pool that mkfs accepts. */
#define UDAX_MIN_POOL_SIZE (8ULL << 20)

int udax_pool_create(const char *path, uint64_t size, const struct udax_mkfs_options *opts);
struct udax_pool *udax_pool_open(const char *path, const struct udax_open_options *opts);
int udax_pool_close(struct udax_pool *pool);

/* A human-readable reason for the last failure of a udax call in this thread. */
const char *udax_last_error(void);

struct udax_pool_info {
    char uuid[37];
    char medium[64];           /* what the pool lives on and how it is persisted */
    enum udax_data_mode data_mode;
    uint32_t format_version;
    uint64_t pool_size;
    uint64_t block_size;
    uint64_t block_count;
    uint64_t data_blocks;
    uint64_t free_blocks;
    uint64_t inode_count;
    uint64_t inodes_used;
    uint64_t files;
    uint64_t directories;
    uint64_t log_pages;
    uint64_t journal_slots;
    uint64_t created_time;     /* seconds since the epoch */
};
int udax_pool_info(struct udax_pool *pool, struct udax_pool_info *info);

/* Descriptors a pool has open at once, at most: an open beyond them fails with EMFILE. */
#define UDAX_OPEN_MAX 1048576

int udax_open(struct udax_pool *pool, const char *path, int flags, ...);
int udax_openat(struct udax_pool *pool, int dirfd, const char *path, int flags, ...);
/*
 * Opens anew, with flags, the file that fd names (any descriptor, O_PATH ones
 * included), as open("/proc/self/fd/N", flags) does on Linux: how a server
 * holding an O_PATH descriptor per inode opens a file by inode. No path is
 * walked, so no search permission is needed; the rest of open's checks apply,
 * with the caller's credentials: the access mode's permission, O_DIRECTORY
 * (ENOTDIR), O_CREAT|O_EXCL (EEXIST; O_CREAT alone opens the file as it is,
 * or is EISDIR on a directory), a symlink (ELOOP unless O_PATH), FIFOs,
 * sockets and devices (ENXIO), O_TRUNC, O_NOATIME (ownership). The new
 * descriptor has its own position; with O_PATH it is an O_PATH descriptor.
 * O_NOFOLLOW changes nothing, as no name is followed (Linux's magic link,
 * itself a symlink, would make it ELOOP).
 */
int udax_reopen(struct udax_pool *pool, int fd, int flags);
int udax_close(struct udax_pool *pool, int fd);
ssize_t udax_read(struct udax_pool *pool, int fd, void *buf, size_t count);
ssize_t udax_write(struct udax_pool *pool, int fd, const void *buf, size_t count);
ssize_t udax_pread(struct udax_pool *pool, int fd, void *buf, size_t count, off_t offset);
ssize_t udax_pwrite(struct udax_pool *pool, int fd, const void *buf, size_t count, off_t offset);
ssize_t udax_readv(struct udax_pool *pool, int fd, const struct iovec *iov, int iovcnt);
ssize_t udax_writev(struct udax_pool *pool, int fd, const struct iovec *iov, int iovcnt);
off_t udax_lseek(struct udax_pool *pool, int fd, off_t offset, int whence);
int udax_fsync(struct udax_pool *pool, int fd);
int udax_fdatasync(struct udax_pool *pool, int fd);
int udax_ftruncate(struct udax_pool *pool, int fd, off_t length);
int udax_truncate(struct udax_pool *pool, const char *path, off_t length);
int udax_fallocate(struct udax_pool *pool, int fd, int mode, off_t offset, off_t len);
/*
 * copy_file_range(2): copies up to len bytes from fd_in to fd_out, stopping
 * at the end of fd_in; returns the bytes copied, 0 at the end. A NULL offset
 * pointer uses and advances that descriptor's position; a non-NULL one is
 * used and advanced instead, and the position is left alone. Linux's errors:
 * flags other than 0, a negative offset and overlapping ranges of one file
 * are EINVAL; EBADF when fd_in is not open for reading, or fd_out not for
 * writing or with O_APPEND; EISDIR for directories; EOVERFLOW when an offset
 * plus len wraps (Linux adds them unsigned, so an offset of -1 and a len of 1
 * do); EFBIG when the out offset is at the largest file size (a copy that
 * would pass it stops there). fd_out's set-ID bits drop as for a write, and
 * the copy is durable on return. The bytes are copied, through a buffer of at
 * most 4 MiB, not shared as a reflink would: fd_out gets blocks of its own,
 * and a hole of fd_in becomes zeros written there.
 */
ssize_t udax_copy_file_range(struct udax_pool *pool, int fd_in, off_t *off_in, int fd_out, off_t *off_out,
                             size_t len, unsigned int flags);

/*
 * Who a call acts as: its permission checks, the owner of what it creates,
 * and the umask applied to new modes. uid 0 bypasses the checks as root does
 * on Linux. Until udax_set_cred, a pool handle acts with the credentials of
 * the process that opened it (effective ids, groups, umask).
 */
#define UDAX_MAX_GROUPS 65536
struct udax_cred {
    uid_t uid;
    gid_t gid;
    mode_t umask;
    size_t group_count; /* supplementary groups, at most UDAX_MAX_GROUPS */
    const gid_t *groups;
};
/* Every later call on pool acts with a copy of cred. */
int udax_set_cred(struct udax_pool *pool, const struct udax_cred *cred);
/*
 * The calling thread's later calls on pool act with a copy of cred instead,
 * until it sets another or NULL: a server acting for many users sets it per
 * request. One pool per thread at a time.
 */
int udax_set_thread_cred(struct udax_pool *pool, const struct udax_cred *cred);

/*
 * Paths resolve from the pool's root: it has no working directory, so a
 * relative path with AT_FDCWD starts there too. The *at calls take a
 * directory descriptor (O_PATH ones included) and the AT_* flags of their
 * Linux namesakes. Symlinks are followed as on Linux, at most 40 per walk.
 */
int udax_stat(struct udax_pool *pool, const char *path, struct stat *st);
int udax_lstat(struct udax_pool *pool, const char *path, struct stat *st);
int udax_fstat(struct udax_pool *pool, int fd, struct stat *st);
int udax_fstatat(struct udax_pool *pool, int dirfd, const char *path, struct stat *st, int flags);
/* Adds the birth time (STATX_BTIME) to what stat gives; mask is accepted and every field is filled. */
struct statx;
int udax_statx(struct udax_pool *pool, int dirfd, const char *path, int flags, unsigned mask, struct statx *stx);
int udax_mkdir(struct udax_pool *pool, const char *path, mode_t mode);
int udax_mkdirat(struct udax_pool *pool, int dirfd, const char *path, mode_t mode);
/* Regular files, FIFOs and sockets; character and block devices for root. udax_open refuses all but regular files with ENXIO. */
int udax_mknod(struct udax_pool *pool, const char *path, mode_t mode, dev_t dev);
int udax_mknodat(struct udax_pool *pool, int dirfd, const char *path, mode_t mode, dev_t dev);
int udax_symlink(struct udax_pool *pool, const char *target, const char *path);
int udax_symlinkat(struct udax_pool *pool, const char *target, int dirfd, const char *path);
ssize_t udax_readlink(struct udax_pool *pool, const char *path, char *buf, size_t size);
ssize_t udax_readlinkat(struct udax_pool *pool, int dirfd, const char *path, char *buf, size_t size);
/* At most 65000 names per file (EMLINK); directories cannot be linked (EPERM). */
int udax_link(struct udax_pool *pool, const char *oldpath, const char *newpath);
int udax_linkat(struct udax_pool *pool, int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                int flags);
int udax_rmdir(struct udax_pool *pool, const char *path);
int udax_unlink(struct udax_pool *pool, const char *path);
int udax_unlinkat(struct udax_pool *pool, int dirfd, const char *path, int flags);
int udax_rename(struct udax_pool *pool, const char *oldpath, const char *newpath);
int udax_renameat(struct udax_pool *pool, int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
/* flags: RENAME_NOREPLACE or RENAME_EXCHANGE (<linux/fs.h>). */
int udax_renameat2(struct udax_pool *pool, int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                   unsigned flags);

int udax_chmod(struct udax_pool *pool, const char *path, mode_t mode);
int udax_fchmod(struct udax_pool *pool, int fd, mode_t mode);
/* flags, as Linux's fchmodat2 has them: AT_SYMLINK_NOFOLLOW (a symlink's mode is EOPNOTSUPP) and AT_EMPTY_PATH. */
int udax_fchmodat(struct udax_pool *pool, int dirfd, const char *path, mode_t mode, int flags);
int udax_chown(struct udax_pool *pool, const char *path, uid_t uid, gid_t gid);
int udax_lchown(struct udax_pool *pool, const char *path, uid_t uid, gid_t gid);
int udax_fchown(struct udax_pool *pool, int fd, uid_t uid, gid_t gid);
int udax_fchownat(struct udax_pool *pool, int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
/* Nanosecond times; UTIME_NOW and UTIME_OMIT as utimensat(2) has them. */
int udax_utimensat(struct udax_pool *pool, int dirfd, const char *path, const struct timespec times[2], int flags);
int udax_futimens(struct udax_pool *pool, int fd, const struct timespec times[2]);
int udax_access(struct udax_pool *pool, const char *path, int mode);
int udax_faccessat(struct udax_pool *pool, int dirfd, const char *path, int mode, int flags);

/*
 * Extended attributes, as their Linux namesakes: names in the user.,
 * trusted. and security. namespaces (others, system. included, fail with
 * EOPNOTSUPP; POSIX ACLs are not enforced), with Linux's permission rules
 * and errors. A name is 1 to 255 bytes (ERANGE); a value above 65536
 * bytes is E2BIG, and name and value together must fit one log entry, 4016
 * bytes, or the call fails with ENOSPC, as ext4 does when an attribute does
 * not fit its block. set flags: XATTR_CREATE, XATTR_REPLACE
 * (<sys/xattr.h>). A set or remove changes ctime in the same commit. The *at
 * forms take AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH (with an O_PATH
 * descriptor too); the l- forms do not follow a final symlink; the f- forms
 * refuse O_PATH descriptors with EBADF.
 */
ssize_t udax_getxattr(struct udax_pool *pool, const char *path, const char *name, void *value, size_t size);
ssize_t udax_lgetxattr(struct udax_pool *pool, const char *path, const char *name, void *value, size_t size);
ssize_t udax_fgetxattr(struct udax_pool *pool, int fd, const char *name, void *value, size_t size);
ssize_t udax_getxattrat(struct udax_pool *pool, int dirfd, const char *path, int at_flags, const char *name,
                        void *value, size_t size);
int udax_setxattr(struct udax_pool *pool, const char *path, const char *name, const void *value, size_t size,
                  int flags);
int udax_lsetxattr(struct udax_pool *pool, const char *path, const char *name, const void *value, size_t size,
                   int flags);
int udax_fsetxattr(struct udax_pool *pool, int fd, const char *name, const void *value, size_t size, int flags);
int udax_setxattrat(struct udax_pool *pool, int dirfd, const char *path, int at_flags, const char *name,
                    const void *value, size_t size, int flags);
/* The names the caller may see (trusted. ones only for root), each followed by a NUL. */
ssize_t udax_listxattr(struct udax_pool *pool, const char *path, char *list, size_t size);
ssize_t udax_llistxattr(struct udax_pool *pool, const char *path, char *list, size_t size);
ssize_t udax_flistxattr(struct udax_pool *pool, int fd, char *list, size_t size);
ssize_t udax_listxattrat(struct udax_pool *pool, int dirfd, const char *path, int at_flags, char *list, size_t size);
int udax_removexattr(struct udax_pool *pool, const char *path, const char *name);
int udax_lremovexattr(struct udax_pool *pool, const char *path, const char *name);
int udax_fremovexattr(struct udax_pool *pool, int fd, const char *name);
int udax_removexattrat(struct udax_pool *pool, int dirfd, const char *path, int at_flags, const char *name);

/*
 * Directory streams. A stream reads the directory as it is at each call, not
 * a copy taken at opendir: a name that exists for the whole life of the
 * stream is returned exactly once, whatever is created or unlinked meanwhile;
 * a name created or unlinked meanwhile may or may not be returned. "." and
 * ".." come first. The dirent returned is overwritten by the next call on the
 * same stream, and its d_off is what udax_telldir returns right after it.
 * Close every stream before its pool.
 */
UDAX_DIR *udax_opendir(struct udax_pool *pool, const char *path);
/* A stream over the directory open at fd, which the stream takes over: udax_closedir closes it. */
UDAX_DIR *udax_fdopendir(struct udax_pool *pool, int fd);
struct dirent *udax_readdir(struct udax_pool *pool, UDAX_DIR *dir);
int udax_closedir(struct udax_pool *pool, UDAX_DIR *dir);
/*
 * The stream's position, a cookie for udax_seekdir: it stays valid across
 * creates and unlinks in the directory, on any stream of that directory, for
 * the life of the process (not across processes). -1 with EBADF when dir is
 * NULL.
 */
long udax_telldir(struct udax_pool *pool, UDAX_DIR *dir);
/* Goes back (or forward) to a position that udax_telldir returned: the names read after it are read again. */
void udax_seekdir(struct udax_pool *pool, UDAX_DIR *dir, long loc);
/* Starts the stream over from ".". */
void udax_rewinddir(struct udax_pool *pool, UDAX_DIR *dir);
int udax_statvfs(struct udax_pool *pool, struct statvfs *st);

/*
 * Direct access. udax_mmap maps [offset, offset+length) of an open file: the
 * pages are the pool's own memory, put into place by page faults (through
 * userfaultfd) 2 MiB at a time where the file's blocks allow, 4 KiB otherwise.
 * MAP_SHARED (or MAP_SHARED_VALIDATE) only: MAP_PRIVATE fails with EINVAL.
 * Also accepted: MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_NORESERVE.
 * Stores are visible to udax_pread at once, and udax_pwrite to the mapping;
 * udax_msync (or fsync) makes them durable. Touching a page past the end of
 * the file raises SIGBUS, with si_code SI_QUEUE and si_addr the address.
 * Returns MAP_FAILED with errno set on failure.
 */
void *udax_mmap(struct udax_pool *pool, void *addr, size_t length, int prot, int flags, int fd, off_t offset);
int udax_munmap(struct udax_pool *pool, void *addr, size_t length);
int udax_msync(struct udax_pool *pool, void *addr, size_t length, int flags);
int udax_mprotect(struct udax_pool *pool, void *addr, size_t length, int prot);
/* MADV_WILLNEED, MADV_DONTNEED; MADV_NORMAL, MADV_RANDOM and MADV_SEQUENTIAL are accepted and change nothing. */
int udax_madvise(struct udax_pool *pool, void *addr, size_t length, int advice);

/*
 * Pins the pages behind [addr, addr+length) of one udax mapping for zero-copy
 * I/O, faulting them in (for writing with UDAX_PIN_WRITE). Truncate and punch
 * hole wait until they are unpinned, so the blocks cannot be freed while the
 * I/O runs. Pinned pages are never reclaimed from the window.
 */
#define UDAX_PIN_WRITE 0x1
int udax_pin(struct udax_pool *pool, void *addr, size_t length, int flags);
int udax_unpin(struct udax_pool *pool, void *addr, size_t length);

struct udax_window_stats {
    uint64_t budget;      /* live ranges allowed */
    uint64_t live;        /* ranges mapped now */
    uint64_t faults;      /* faults that mapped a range */
    uint64_t huge_faults; /* of which 2 MiB */
    uint64_t backoffs;    /* faults that found no free range and waited for reclaim */
    uint64_t reclaimed;   /* ranges reclaimed */
    uint64_t over_budget; /* ranges mapped beyond the budget because every live one was pinned or busy */
};
int udax_window_stats(struct udax_pool *pool, struct udax_window_stats *stats);

/* fsck(8) exit codes. */
enum udax_fsck_status {
    UDAX_FSCK_CLEAN = 0,
    UDAX_FSCK_CORRECTED = 1,
    UDAX_FSCK_UNCORRECTED = 4,
    UDAX_FSCK_FAILED = 8,
};

struct udax_fsck_options {
    int repair;
    /* Called once for every problem found; NULL prints nothing. */
    void (*report)(void *arg, const char *problem);
    void *report_arg;
};

struct udax_fsck_result {
    uint64_t problems;
    uint64_t repaired;
    uint64_t inodes_checked;
    uint64_t blocks_checked;
};

/* Checks the pool at path, which must not be open; returns an udax_fsck_status. */
int udax_fsck(const char *path, const struct udax_fsck_options *opts, struct udax_fsck_result *result);

#ifdef __cplusplus
}
#endif

#endif
