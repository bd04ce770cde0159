/* map_api.c: the direct-access calls of udax.h: mmap, munmap, msync, mprotect, madvise, pins and window statistics. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "handle.h"
#include "udax.h"
#include "util/error.h"

void *udax_mmap(struct udax_pool *pool, void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    struct open_file *file = api_get_file(pool, fd, "mmap");
    if (!file)
        return MAP_FAILED;
    int rc = 0;
    int access = file->flags & O_ACCMODE;
    if (inode_is_dir(file->inode))
        rc = udax_fail(ENODEV, "mmap: a directory cannot be mapped");
    else if (access == O_WRONLY || ((prot & PROT_WRITE) && access != O_RDWR && (flags & MAP_TYPE) != MAP_PRIVATE))
        rc = udax_fail(EACCES, "mmap: the file is not open for %s", access == O_WRONLY ? "reading" : "writing");
    else if (offset < 0)
        rc = udax_fail(EINVAL, "mmap: negative offset");
    void *mapped = MAP_FAILED;
    if (!rc && window_map(pool->window, file->inode, addr, length, prot, flags, (uint64_t)offset, &mapped))
        mapped = MAP_FAILED;
    open_file_put(pool, file);
    return mapped;
}

int udax_munmap(struct udax_pool *pool, void *addr, size_t length)
{
    if (!pool)
        return udax_fail(EINVAL, "munmap: no pool");
    return api_result(window_unmap(pool->window, addr, length), "munmap", NULL);
}

int udax_msync(struct udax_pool *pool, void *addr, size_t length, int flags)
{
    if (!pool)
        return udax_fail(EINVAL, "msync: no pool");
    int kind = flags & (MS_ASYNC | MS_SYNC);
    if ((flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) || kind == (MS_ASYNC | MS_SYNC))
        return udax_fail(EINVAL, "msync: invalid flags %#x", flags);
    /* MS_ASYNC too writes back at once: it costs a flush, and there is no later. */
    return api_result(window_sync(pool->window, addr, length), "msync", NULL);
}

int udax_mprotect(struct udax_pool *pool, void *addr, size_t length, int prot)
{
    if (!pool)
        return udax_fail(EINVAL, "mprotect: no pool");
    return api_result(window_protect(pool->window, addr, length, prot), "mprotect", NULL);
}

int udax_madvise(struct udax_pool *pool, void *addr, size_t length, int advice)
{
    if (!pool)
        return udax_fail(EINVAL, "madvise: no pool");
    return api_result(window_advise(pool->window, addr, length, advice), "madvise", NULL);
}

int udax_pin(struct udax_pool *pool, void *addr, size_t length, int flags)
{
    if (!pool)
        return udax_fail(EINVAL, "pin: no pool");
    if (flags & ~UDAX_PIN_WRITE)
        return udax_fail(EINVAL, "pin: unknown flags %#x", flags);
    return api_result(window_pin(pool->window, addr, length, flags & UDAX_PIN_WRITE), "pin", NULL);
}

int udax_unpin(struct udax_pool *pool, void *addr, size_t length)
{
    if (!pool)
        return udax_fail(EINVAL, "unpin: no pool");
    return api_result(window_unpin(pool->window, addr, length), "unpin", NULL);
}

int udax_window_stats(struct udax_pool *pool, struct udax_window_stats *stats)
{
    if (!pool || !stats)
        return udax_fail(EINVAL, "window stats: null argument");
    struct window_stats st;
    window_get_stats(pool->window, &st);
    *stats = (struct udax_window_stats){st.budget,   st.live,      st.faults,     st.huge_faults,
                                        st.backoffs, st.reclaimed, st.over_budget};
    return 0;
}
