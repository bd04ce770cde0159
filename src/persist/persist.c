/* persist.c: maps the pool through libpmem2 and chooses how its medium is made durable. */
#include "persist.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int pmem2_errno(int rc)
{
    return rc == -ENOMEM || rc == -EINVAL || rc == -EACCES || rc == -ENOENT ? -rc : EIO;
}

/*
 * A device-DAX node is left to pmem2_map_new. A regular file is mapped here
 * so that the medium decides the flush method: with MAP_SYNC the file system
 * is DAX and cache-line flushes persist; any other file is in a page cache in
 * front of a block device and only msync makes it durable.
 *
 * A tmpfs file lives in the page cache, which is its medium, and the CPU
 * caches are coherent with it: a store that has executed reaches the page
 * cache even if the process dies the next instant, and nothing short of the
 * kernel dying loses the page cache, which takes tmpfs with it. The caches are
 * thus inside the persistence domain, as on an eADR platform, which libpmem2
 * calls byte granularity: flushes are empty and copies small enough to stay in
 * the cache use ordinary stores. DESIGN.md section 5 asks for cache-line
 * flushes here; docs/guarantees.md says why udax departs from it.
 */
static int map_regular_file(struct persist *p, int fd, size_t size, enum pmem2_granularity *granularity)
{
    void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
    if (addr != MAP_FAILED) {
        *granularity = PMEM2_GRANULARITY_CACHE_LINE;
        snprintf(p->medium, sizeof(p->medium), "fsdax file (cache-line flush)");
    } else {
        addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (addr == MAP_FAILED)
            return errno;
        struct statfs fs;
        if (fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
            *granularity = PMEM2_GRANULARITY_BYTE;
            p->map_ahead = true;
            p->stores_persist = true;
            snprintf(p->medium, sizeof(p->medium), "dram via tmpfs (caches persistent, no flush)");
        } else {
            *granularity = PMEM2_GRANULARITY_PAGE;
            snprintf(p->medium, sizeof(p->medium), "page-cache file (msync)");
        }
    }
    int rc = pmem2_map_from_existing(&p->map, p->source, addr, size, *granularity);
    if (rc) {
        munmap(addr, size);
        return pmem2_errno(rc);
    }
    p->own_mapping = true;
    return 0;
}

static int map_device_dax(struct persist *p, size_t size)
{
    struct pmem2_config *config;
    int rc = pmem2_config_new(&config);
    if (rc)
        return pmem2_errno(rc);
    pmem2_config_set_required_store_granularity(config, PMEM2_GRANULARITY_PAGE);
    pmem2_config_set_length(config, size);
    rc = pmem2_map_new(&p->map, config, p->source);
    pmem2_config_delete(&config);
    if (rc)
        return pmem2_errno(rc);
    snprintf(p->medium, sizeof(p->medium), "device-dax (cache-line flush)");
    return 0;
}

int persist_map(struct persist *p, int fd, size_t size)
{
    memset(p, 0, sizeof(*p));
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno;
    int rc = pmem2_source_from_fd(&p->source, fd);
    if (rc)
        return pmem2_errno(rc);
    enum pmem2_granularity granularity;
    rc = S_ISCHR(st.st_mode) ? map_device_dax(p, size) : map_regular_file(p, fd, size, &granularity);
    if (rc) {
        pmem2_source_delete(&p->source);
        return rc;
    }
    p->base = pmem2_map_get_address(p->map);
    p->size = size;
    p->flush = pmem2_get_flush_fn(p->map);
    p->drain = pmem2_get_drain_fn(p->map);
    p->memcpy = pmem2_get_memcpy_fn(p->map);
    p->memset = pmem2_get_memset_fn(p->map);
    /*
     * Where a flush is needed, a non-temporal store is the cheapest way to
     * the medium at every size. Where the caches persist, a small copy is
     * cheaper through them; a large one would read every line it overwrites.
     */
    p->temporal_copy_below = pmem2_map_get_store_granularity(p->map) == PMEM2_GRANULARITY_BYTE ? 256 : 0;
    return 0;
}

/*
 * The first store to each 4 KiB page of a tmpfs pool in a process takes a
 * page fault, about 1.6 µs on this project's machines, where populating the
 * page tables of 2 MiB at once costs 0.17 µs a page. Kernels before 5.14
 * refuse the advice, and the faults then happen as before.
 */
void persist_map_ahead(const struct persist *p, void *addr, size_t len)
{
    if (p->map_ahead)
        madvise(addr, len, MADV_POPULATE_WRITE);
}

void persist_unmap(struct persist *p)
{
    if (!p->map)
        return;
    pmem2_map_delete(&p->map);
    if (p->own_mapping)
        munmap(p->base, p->size);
    pmem2_source_delete(&p->source);
    p->base = NULL;
}
