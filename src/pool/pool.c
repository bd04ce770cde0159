/* pool.c: formatting, opening and closing a pool, and the exclusive open lock. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "superblock.h"
#include "udax.h"
#include "util/error.h"

static int device_size(int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return udax_fail(errno, "fstat: %s", strerror(errno));
    if (S_ISREG(st.st_mode)) {
        *size = (uint64_t)st.st_size;
        return 0;
    }
    if (!S_ISCHR(st.st_mode))
        return udax_fail(EINVAL, "not a regular file or a device-DAX node");
    struct pmem2_source *source;
    size_t bytes;
    if (pmem2_source_from_fd(&source, fd) || pmem2_source_size(source, &bytes))
        return udax_fail(EINVAL, "cannot size the device: %s", pmem2_errormsg());
    pmem2_source_delete(&source);
    *size = bytes;
    return 0;
}

/*
 * An open file description lock: the kernel drops it when the holder dies,
 * and a second open in the same process conflicts, unlike a POSIX lock.
 */
static int take_open_lock(int fd, const char *path)
{
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    if (fcntl(fd, F_OFD_SETLK, &lock) == 0)
        return 0;
    if (errno != EAGAIN && errno != EACCES)
        return udax_fail(errno, "%s: cannot lock: %s", path, strerror(errno));
    struct udax_owner owner = {0};
    if (pread(fd, &owner, sizeof(owner), UDAX_OWNER_OFFSET) != (ssize_t)sizeof(owner))
        owner.pid = 0;
    return udax_fail(EBUSY, "%s: pool is already open by pid %llu", path, (unsigned long long)owner.pid);
}

static void record_owner(struct pool *pool)
{
    struct udax_owner *owner = pool_addr(pool, UDAX_OWNER_OFFSET);
    persist_store_word(&pool->pm, &owner->pid, (uint64_t)getpid());
}

static void fill_geometry(struct udax_super *sb, const struct pool_geometry *geometry, uint64_t size)
{
    memset(sb, 0, sizeof(*sb));
    sb->magic = UDAX_MAGIC;
    sb->version = UDAX_FORMAT_VERSION;
    sb->block_size = UDAX_BLOCK_SIZE;
    if (getrandom(sb->uuid, sizeof(sb->uuid), 0) != sizeof(sb->uuid)) {
        uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        memcpy(sb->uuid, &seed, sizeof(seed));
    }
    sb->uuid[6] = (uint8_t)((sb->uuid[6] & 0x0f) | 0x40);
    sb->uuid[8] = (uint8_t)((sb->uuid[8] & 0x3f) | 0x80);
    sb->pool_size = size & ~(UDAX_BLOCK_SIZE - 1);
    sb->block_count = sb->pool_size >> UDAX_BLOCK_SHIFT;
    sb->inode_count = geometry->inode_count ? geometry->inode_count : sb->pool_size / 8192;
    if (sb->inode_count < 64)
        sb->inode_count = 64;
    sb->journal_block = UDAX_JOURNAL_BLOCK;
    sb->journal_slots = 16;
    sb->inode_table_block = sb->journal_block + sb->journal_slots;
    sb->inode_table_blocks = (sb->inode_count * sizeof(struct udax_inode_rec) + UDAX_BLOCK_SIZE - 1) >> UDAX_BLOCK_SHIFT;
    uint64_t first_free = sb->inode_table_block + sb->inode_table_blocks;
    sb->data_block = (first_free + UDAX_BLOCKS_PER_HUGE - 1) & ~(UDAX_BLOCKS_PER_HUGE - 1);
    sb->data_mode = geometry->data_mode;
    sb->created_time = (uint64_t)time(NULL);
    sb->root_ino = UDAX_ROOT_INO;
    superblock_seal(sb);
}

static int check_pool_size(const char *path, uint64_t size)
{
    if (size >= UDAX_MIN_POOL_BYTES)
        return 0;
    return udax_fail(EINVAL, "%s: a pool needs at least %llu bytes, got %llu", path,
                     (unsigned long long)UDAX_MIN_POOL_BYTES, (unsigned long long)size);
}

int pool_format(const char *path, const struct pool_geometry *geometry)
{
    /* A size given is checked before the file is touched; a device's own size once it is known. */
    if (geometry->pool_size && check_pool_size(path, geometry->pool_size))
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return udax_fail(errno, "%s: %s", path, strerror(errno));
    int rc = take_open_lock(fd, path);
    uint64_t size = geometry->pool_size;
    struct stat st;
    if (!rc && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && size) {
        if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)size) != 0)
            rc = udax_fail(errno, "%s: cannot size the pool to %llu bytes: %s", path, (unsigned long long)size,
                           strerror(errno));
        /*
         * Memory for every block now: a store to a hole that tmpfs has no room
         * for would kill the process with SIGBUS, and allocating and zeroing
         * a page at its first store would cost every first write a fault.
         */
        else if (fallocate(fd, 0, 0, (off_t)size) != 0 && errno != EOPNOTSUPP)
            rc = udax_fail(errno, "%s: cannot reserve %llu bytes for the pool: %s", path, (unsigned long long)size,
                           strerror(errno));
    }
    if (!rc && !size) {
        rc = device_size(fd, &size);
        if (!rc)
            rc = check_pool_size(path, size);
    }
    struct udax_super sb;
    if (!rc) {
        fill_geometry(&sb, geometry, size);
        if (sb.data_block + UDAX_BLOCKS_PER_HUGE > sb.block_count)
            rc = udax_fail(EINVAL, "%s: %llu inodes leave no room for data", path,
                           (unsigned long long)sb.inode_count);
    }
    if (rc) {
        close(fd);
        return rc;
    }
    struct pool pool = {.fd = fd, .sb = sb};
    rc = persist_map(&pool.pm, fd, sb.pool_size);
    if (rc) {
        close(fd);
        return udax_fail(rc, "%s: cannot map the pool: %s", path, strerror(rc));
    }
    pool.base = pool.pm.base;
    persist_zero(&pool.pm, pool_block(&pool, 0), sb.data_block << UDAX_BLOCK_SHIFT);
    persist_fence(&pool.pm);
    pool_write_superblocks(&pool);
    persist_unmap(&pool.pm);
    close(fd);
    return 0;
}

void pool_write_superblocks(struct pool *pool)
{
    superblock_seal(&pool->sb);
    void *backup = pool_block(pool, UDAX_SUPER_BACKUP_BLOCK);
    persist_copy(&pool->pm, backup, &pool->sb, sizeof(pool->sb));
    persist_fence(&pool->pm);
    void *primary = pool_block(pool, UDAX_SUPER_PRIMARY_BLOCK);
    persist_copy(&pool->pm, primary, &pool->sb, sizeof(pool->sb));
    persist_fence(&pool->pm);
    pool->primary_super_damaged = false;
}

int pool_open(struct pool *pool, const char *path)
{
    memset(pool, 0, sizeof(*pool));
    pool->fd = open(path, O_RDWR | O_CLOEXEC);
    if (pool->fd < 0)
        return udax_fail(errno, "%s: %s", path, strerror(errno));
    uint64_t size;
    int rc = take_open_lock(pool->fd, path);
    if (!rc)
        rc = device_size(pool->fd, &size);
    if (!rc && size < UDAX_BLOCK_SIZE)
        rc = udax_fail(EINVAL, "%s: not a udax pool (only %llu bytes)", path, (unsigned long long)size);
    if (rc)
        goto fail;
    rc = persist_map(&pool->pm, pool->fd, size);
    if (rc) {
        rc = udax_fail(rc, "%s: cannot map the pool: %s", path, strerror(rc));
        goto fail;
    }
    pool->base = pool->pm.base;
    if (superblock_choose(pool->base, size, &pool->sb, &pool->primary_super_damaged)) {
        rc = udax_fail(errno, "%s: %s", path, udax_last_error());
        persist_unmap(&pool->pm);
        goto fail;
    }
    pool->inode_table = pool_block(pool, pool->sb.inode_table_block);
    pool->journal = pool_block(pool, pool->sb.journal_block);
    record_owner(pool);
    return 0;
fail:
    close(pool->fd);
    pool->fd = -1;
    return rc;
}

void pool_close(struct pool *pool)
{
    struct udax_owner *owner = pool_addr(pool, UDAX_OWNER_OFFSET);
    persist_store_word(&pool->pm, &owner->pid, 0);
    persist_unmap(&pool->pm);
    close(pool->fd);
    pool->fd = -1;
}
