/* udax.h: the public API of libudax, the only header an application includes. */
#ifndef UDAX_H
#define UDAX_H

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>

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

int udax_open(struct udax_pool *pool, const char *path, int flags, ...);
int udax_openat(struct udax_pool *pool, int dirfd, const char *path, int flags, ...);
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
int udax_stat(struct udax_pool *pool, const char *path, struct stat *st);
int udax_fstat(struct udax_pool *pool, int fd, struct stat *st);
int udax_mkdir(struct udax_pool *pool, const char *path, mode_t mode);
int udax_rmdir(struct udax_pool *pool, const char *path);
int udax_unlink(struct udax_pool *pool, const char *path);
int udax_rename(struct udax_pool *pool, const char *oldpath, const char *newpath);
UDAX_DIR *udax_opendir(struct udax_pool *pool, const char *path);
struct dirent *udax_readdir(struct udax_pool *pool, UDAX_DIR *dir);
int udax_closedir(struct udax_pool *pool, UDAX_DIR *dir);
int udax_statvfs(struct udax_pool *pool, struct statvfs *st);

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
