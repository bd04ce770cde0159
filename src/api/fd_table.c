/* fd_table.c: descriptor slots in chunks that never move, each slot with its own lock. */
#include "fd_table.h"

#include <errno.h>
#include <stdlib.h>

void fd_table_init(struct fd_table *table)
{
    *table = (struct fd_table){0};
    mutex_init(&table->alloc_lock, LOCK_LEAF);
}

static struct fd_slot *slot_of(struct fd_table *table, int fd)
{
    if (fd < 0 || fd >= FD_CHUNK_SLOTS * FD_MAX_CHUNKS)
        return NULL;
    struct fd_slot *chunk = __atomic_load_n(&table->chunks[fd / FD_CHUNK_SLOTS], __ATOMIC_ACQUIRE);
    return chunk ? &chunk[fd % FD_CHUNK_SLOTS] : NULL;
}

void fd_table_destroy(struct fd_table *table, void (*release)(void *arg, struct open_file *file), void *arg)
{
    for (int c = 0; c < FD_MAX_CHUNKS && table->chunks[c]; c++) {
        for (int s = 0; s < FD_CHUNK_SLOTS; s++) {
            struct fd_slot *slot = &table->chunks[c][s];
            if (slot->file)
                release(arg, slot->file);
            mutex_destroy(&slot->lock);
        }
        free(table->chunks[c]);
    }
    mutex_destroy(&table->alloc_lock);
}

int fd_install(struct fd_table *table, struct open_file *file)
{
    mutex_lock(&table->alloc_lock, 0);
    for (int fd = table->lowest_free_hint; fd < FD_CHUNK_SLOTS * FD_MAX_CHUNKS; fd++) {
        int c = fd / FD_CHUNK_SLOTS;
        if (!table->chunks[c]) {
            struct fd_slot *chunk = calloc_cache_aligned(FD_CHUNK_SLOTS, sizeof(*chunk));
            if (!chunk) {
                mutex_unlock(&table->alloc_lock);
                errno = ENOMEM;
                return -1;
            }
            for (int s = 0; s < FD_CHUNK_SLOTS; s++)
                mutex_init(&chunk[s].lock, LOCK_LEAF);
            __atomic_store_n(&table->chunks[c], chunk, __ATOMIC_RELEASE);
        }
        struct fd_slot *slot = &table->chunks[c][fd % FD_CHUNK_SLOTS];
        if (__atomic_load_n(&slot->file, __ATOMIC_ACQUIRE))
            continue;
        __atomic_store_n(&slot->file, file, __ATOMIC_RELEASE);
        table->lowest_free_hint = fd + 1;
        mutex_unlock(&table->alloc_lock);
        return fd;
    }
    mutex_unlock(&table->alloc_lock);
    errno = EMFILE;
    return -1;
}

struct open_file *fd_get(struct fd_table *table, int fd)
{
    struct fd_slot *slot = slot_of(table, fd);
    if (!slot)
        return NULL;
    mutex_lock(&slot->lock, 0);
    struct open_file *file = slot->file;
    if (file)
        __atomic_fetch_add(&file->refs, 1, __ATOMIC_ACQUIRE);
    mutex_unlock(&slot->lock);
    return file;
}

struct open_file *fd_remove(struct fd_table *table, int fd)
{
    struct fd_slot *slot = slot_of(table, fd);
    if (!slot)
        return NULL;
    mutex_lock(&slot->lock, 0);
    struct open_file *file = slot->file;
    __atomic_store_n(&slot->file, NULL, __ATOMIC_RELEASE);
    mutex_unlock(&slot->lock);
    if (file) {
        mutex_lock(&table->alloc_lock, 0);
        if (fd < table->lowest_free_hint)
            table->lowest_free_hint = fd;
        mutex_unlock(&table->alloc_lock);
    }
    return file;
}
