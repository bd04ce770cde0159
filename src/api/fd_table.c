/* fd_table.c: descriptor slots in chunks that never move, read without a lock, and descriptions that are never freed while the table lives. */
#include "fd_table.h"
#include "udax.h"
#include "util/seqcount.h"
#include "util/hooks.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

static_assert(FD_CHUNK_SLOTS * FD_MAX_CHUNKS == UDAX_OPEN_MAX, "the table holds the descriptors udax.h promises");

void fd_table_init(struct fd_table *table, fd_put_fn put, void *put_arg)
{
    *table = (struct fd_table){.put = put, .put_arg = put_arg};
    mutex_init(&table->alloc_lock, LOCK_LEAF);
}

static struct fd_slot *slot_of(struct fd_table *table, int fd)
{
    if (fd < 0 || fd >= FD_CHUNK_SLOTS * FD_MAX_CHUNKS)
        return NULL;
    struct fd_slot *chunk = __atomic_load_n(&table->chunks[fd / FD_CHUNK_SLOTS], __ATOMIC_ACQUIRE);
    return chunk ? &chunk[fd % FD_CHUNK_SLOTS] : NULL;
}

void fd_table_destroy(struct fd_table *table)
{
    for (int c = 0; c < FD_MAX_CHUNKS && table->chunks[c]; c++) {
        for (int s = 0; s < FD_CHUNK_SLOTS; s++) {
            struct open_file *file = table->chunks[c][s].file;
            if (file)
                table->put(table->put_arg, file);
        }
        free(table->chunks[c]);
    }
    while (table->free_files) {
        struct open_file *file = table->free_files;
        table->free_files = file->next_free;
        free(file);
    }
    mutex_destroy(&table->alloc_lock);
}

/*
 * The free descriptions are a Treiber stack: closes push without a lock, and
 * only opens pop, under alloc_lock, one at a time, so no description leaves
 * and comes back while a pop looks at it. liburcu's lock-free stack would
 * serve, but its atomics are inline assembly that ThreadSanitizer cannot see.
 */
void fd_file_free(struct fd_table *table, struct open_file *file)
{
    mutex_destroy(&file->position_lock);
    struct open_file *head = __atomic_load_n(&table->free_files, __ATOMIC_RELAXED);
    do
        file->next_free = head;
    while (!__atomic_compare_exchange_n(&table->free_files, &head, file, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* Under alloc_lock: the lowest empty slot, at or after from, and its number; NULL with errno set. */
static struct fd_slot *lowest_free_slot(struct fd_table *table, int from, int *fd_out)
{
    for (int fd = from; fd < FD_CHUNK_SLOTS * FD_MAX_CHUNKS; fd++) {
        int c = fd / FD_CHUNK_SLOTS;
        if (!table->chunks[c]) {
            struct fd_slot *chunk = calloc(FD_CHUNK_SLOTS, sizeof(*chunk));
            if (!chunk) {
                errno = ENOMEM;
                return NULL;
            }
            __atomic_store_n(&table->chunks[c], chunk, __ATOMIC_RELEASE);
        }
        struct fd_slot *slot = &table->chunks[c][fd % FD_CHUNK_SLOTS];
        /* Only opens fill a slot, and they run under alloc_lock: an empty slot stays empty until this one fills it. */
        if (!__atomic_load_n(&slot->file, __ATOMIC_ACQUIRE)) {
            *fd_out = fd;
            return slot;
        }
    }
    errno = EMFILE;
    return NULL;
}

/* Under alloc_lock, which makes this the only pop: a description from the free list, or a new one; NULL with errno set. */
static struct open_file *take_description(struct fd_table *table, bool *reused)
{
    struct open_file *file = __atomic_load_n(&table->free_files, __ATOMIC_ACQUIRE);
    while (file && !__atomic_compare_exchange_n(&table->free_files, &file, file->next_free, true, __ATOMIC_ACQUIRE,
                                                __ATOMIC_ACQUIRE))
        ;
    *reused = file;
    if (file)
        return file;
    file = calloc_cache_aligned(1, sizeof(*file));
    if (!file)
        errno = ENOMEM;
    return file;
}

int fd_open(struct fd_table *table, struct inode *inode, int flags)
{
    int fd = -1;
    bool reused = false;
    mutex_lock(&table->alloc_lock, 0);
    /* Acquire: a close that lowered the hint emptied its slot before, and the search must find it empty. */
    int hint = __atomic_load_n(&table->lowest_free_hint, __ATOMIC_ACQUIRE);
    struct fd_slot *slot = lowest_free_slot(table, hint, &fd);
    struct open_file *file = slot ? take_description(table, &reused) : NULL;
    if (file) {
        /* Every field but refs and gen, which a late lookup may be reading: it counts nothing while it is 0. */
        file->inode = inode;
        file->flags = flags;
        file->position = 0;
        mutex_init(&file->position_lock, LOCK_FILE_POSITION);
        if (reused)
            seq_write_end(&file->gen);
        __atomic_store_n(&file->refs, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&slot->file, file, __ATOMIC_RELEASE);
        /* Unless a close lowered the hint meanwhile: its descriptor is free and below this one. */
        __atomic_compare_exchange_n(&table->lowest_free_hint, &hint, fd + 1, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
    }
    mutex_unlock(&table->alloc_lock);
    return file ? fd : -1;
}

/*
 * Without a lock, a close may empty the slot and free its description at any
 * instant: the reference counts only if it is taken while the count is not
 * 0 (a description being freed is left alone) and the slot still holds the
 * same description afterwards. A description freed and opened anew meanwhile
 * is either the one the slot now holds, which is what a later lookup would
 * find, or another, whose reference goes back.
 */
struct open_file *fd_get(struct fd_table *table, int fd)
{
    struct fd_slot *slot = slot_of(table, fd);
    if (!slot)
        return NULL;
    for (;;) {
        struct open_file *file = __atomic_load_n(&slot->file, __ATOMIC_ACQUIRE);
        if (!file)
            return NULL;
        hook_point("fd_get_loaded", table, (uint64_t)fd);
        uint32_t refs = __atomic_load_n(&file->refs, __ATOMIC_ACQUIRE);
        while (refs && !__atomic_compare_exchange_n(&file->refs, &refs, refs + 1, true, __ATOMIC_SEQ_CST,
                                                    __ATOMIC_ACQUIRE))
            ;
        /* 0: its close emptied the slot before the count fell, and the next load sees that. */
        if (!refs)
            continue;
        if (__atomic_load_n(&slot->file, __ATOMIC_SEQ_CST) == file)
            return file;
        table->put(table->put_arg, file);
    }
}

struct open_file *fd_remove(struct fd_table *table, int fd)
{
    struct fd_slot *slot = slot_of(table, fd);
    if (!slot)
        return NULL;
    struct open_file *file = __atomic_exchange_n(&slot->file, NULL, __ATOMIC_SEQ_CST);
    if (file) {
        int hint = __atomic_load_n(&table->lowest_free_hint, __ATOMIC_RELAXED);
        while (fd < hint && !__atomic_compare_exchange_n(&table->lowest_free_hint, &hint, fd, true, __ATOMIC_RELEASE,
                                                         __ATOMIC_RELAXED))
            ;
    }
    return file;
}

struct open_file *fd_peek(struct fd_table *table, int fd, uint32_t *gen)
{
    struct fd_slot *slot = slot_of(table, fd);
    struct open_file *file = slot ? __atomic_load_n(&slot->file, __ATOMIC_ACQUIRE) : NULL;
    if (!file)
        return NULL;
    *gen = __atomic_load_n(&file->gen, __ATOMIC_ACQUIRE);
    return *gen % 2 ? NULL : file;
}

bool fd_file_unchanged(const struct open_file *file, uint32_t gen)
{
    return seq_unchanged(&file->gen, gen);
}

void fd_file_closing(struct open_file *file)
{
    seq_write_begin(&file->gen);
}
