/* pool_api.c: the pool calls of udax.h: create, open, close, info, statvfs, fsck. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dax/dax.h"
#include "handle.h"
#include "inode/fsck.h"
#include "udax.h"
#include "util/error.h"

int api_result(int rc, const char *call, const char *path)
{
    if (!rc)
        return 0;
    if (path)
        return udax_fail(rc, "%s %s: %s", call, path, strerror(rc));
    return udax_fail(rc, "%s: %s", call, strerror(rc));
}

int udax_pool_create(const char *path, uint64_t size, const struct udax_mkfs_options *opts)
{
    struct udax_mkfs_options defaults = {0};
    if (!opts)
        opts = &defaults;
    if (!path)
        return udax_fail(EINVAL, "mkfs: no path");
    if (opts->data_mode != UDAX_DATA_STRICT && opts->data_mode != UDAX_DATA_FAST)
        return udax_fail(EINVAL, "mkfs: unknown data mode %d", (int)opts->data_mode);
    struct pool_geometry geometry = {size, opts->inode_count, (uint32_t)opts->data_mode};
    if (pool_format(path, &geometry))
        return -1;
    struct fs fs;
    if (fs_open(&fs, path, NULL))
        return -1;
    fs_close(&fs);
    return 0;
}

/* The budget of live mapped ranges: the open options, else UDAX_WINDOW_RANGES, else the default. 0 when invalid. */
static uint64_t window_budget(const struct udax_open_options *opts)
{
    if (opts && opts->window_ranges)
        return opts->window_ranges;
    const char *env = getenv("UDAX_WINDOW_RANGES");
    if (!env)
        return WINDOW_DEFAULT_RANGES;
    char *end;
    errno = 0;
    unsigned long long ranges = strtoull(env, &end, 10);
    return errno || end == env || *end || env[0] == '-' ? 0 : ranges;
}

static void put_file(void *arg, struct open_file *file)
{
    open_file_put(arg, file);
}

struct udax_pool *udax_pool_open(const char *path, const struct udax_open_options *opts)
{
    if (!path) {
        udax_fail(EINVAL, "open: no path");
        return NULL;
    }
    if (opts && opts->flags) {
        udax_fail(EINVAL, "open: unknown option flags %#llx", (unsigned long long)opts->flags);
        return NULL;
    }
    uint64_t budget = window_budget(opts);
    if (!budget) {
        udax_fail(EINVAL, "open: UDAX_WINDOW_RANGES=%s is not a positive number", getenv("UDAX_WINDOW_RANGES"));
        return NULL;
    }
    struct udax_pool *pool = calloc(1, sizeof(*pool));
    if (!pool) {
        udax_fail(ENOMEM, "open: out of memory");
        return NULL;
    }
    if (fs_open(&pool->fs, path, NULL)) {
        int saved = errno;
        free(pool);
        errno = saved;
        return NULL;
    }
    pool->fs.mapping_ops = &dax_mapping_ops;
    if (api_cred_init(pool)) {
        api_cred_destroy(pool);
        fs_close(&pool->fs);
        free(pool);
        udax_fail(ENOMEM, "open: out of memory");
        return NULL;
    }
    if (window_open(&pool->window, &pool->fs, budget)) {
        api_cred_destroy(pool);
        fs_close(&pool->fs);
        free(pool);
        udax_fail(ENOMEM, "open: out of memory");
        return NULL;
    }
    fd_table_init(&pool->fds, put_file, pool);
    return pool;
}

int udax_pool_close(struct udax_pool *pool)
{
    if (!pool)
        return udax_fail(EINVAL, "close: no pool");
    fd_table_destroy(&pool->fds);
    window_close(pool->window);
    api_cred_destroy(pool);
    fs_close(&pool->fs);
    free(pool);
    return 0;
}

static uint64_t free_inodes(const struct fs *fs)
{
    uint64_t used = __atomic_load_n(&fs->files, __ATOMIC_RELAXED) + __atomic_load_n(&fs->directories, __ATOMIC_RELAXED);
    return fs->pool.sb.inode_count - 1 - used;
}

int udax_pool_info(struct udax_pool *pool, struct udax_pool_info *info)
{
    if (!pool || !info)
        return udax_fail(EINVAL, "info: no pool");
    struct fs *fs = &pool->fs;
    const struct udax_super *sb = &fs->pool.sb;
    memset(info, 0, sizeof(*info));
    const uint8_t *u = sb->uuid;
    snprintf(info->uuid, sizeof(info->uuid),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4],
             u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    snprintf(info->medium, sizeof(info->medium), "%s", fs->pool.pm.medium);
    info->data_mode = (enum udax_data_mode)sb->data_mode;
    info->format_version = sb->version;
    info->pool_size = sb->pool_size;
    info->block_size = sb->block_size;
    info->block_count = sb->block_count;
    info->data_blocks = fs->alloc.block_count;
    info->free_blocks = alloc_free_blocks(&fs->alloc);
    info->inode_count = sb->inode_count;
    info->files = __atomic_load_n(&fs->files, __ATOMIC_RELAXED);
    info->directories = __atomic_load_n(&fs->directories, __ATOMIC_RELAXED);
    info->inodes_used = info->files + info->directories;
    info->journal_slots = sb->journal_slots;
    info->created_time = sb->created_time;
    info->log_pages = __atomic_load_n(&fs->log_pages, __ATOMIC_RELAXED);
    return 0;
}

int udax_statvfs(struct udax_pool *pool, struct statvfs *st)
{
    if (!pool || !st)
        return udax_fail(EFAULT, "statvfs: null argument");
    struct fs *fs = &pool->fs;
    memset(st, 0, sizeof(*st));
    st->f_bsize = UDAX_BLOCK_SIZE;
    st->f_frsize = UDAX_BLOCK_SIZE;
    st->f_blocks = fs->alloc.block_count;
    st->f_bfree = alloc_free_blocks(&fs->alloc);
    st->f_bavail = st->f_bfree;
    st->f_files = fs->pool.sb.inode_count - 1;
    st->f_ffree = free_inodes(fs);
    st->f_favail = st->f_ffree;
    memcpy(&st->f_fsid, fs->pool.sb.uuid, sizeof(st->f_fsid));
    st->f_namemax = UDAX_NAME_MAX;
    return 0;
}

int udax_fsck(const char *path, const struct udax_fsck_options *opts, struct udax_fsck_result *result)
{
    if (!path)
        return udax_fail(EINVAL, "fsck: no path"), UDAX_FSCK_FAILED;
    return fs_fsck(path, opts, result);
}
