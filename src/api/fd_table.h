/* fd_table.h: udax file descriptors: open file descriptions in a table whose lookups take no pool-wide lock. */
#ifndef UDAX_FD_TABLE_H
#define UDAX_FD_TABLE_H

#include <stdint.h>

#include "inode/inode.h"
#include "util/locks.h"

struct open_file {
    struct inode *inode;
    int flags;
    uint32_t refs;         /* the table's and each call's in flight; atomic */
    struct mutex position_lock;
    uint64_t position;
};

#define FD_CHUNK_SLOTS 1024
#define FD_MAX_CHUNKS 1024

struct fd_slot {
    struct mutex lock; /* leaf: guards file against a racing close */
    struct open_file *file;
} __attribute__((aligned(CACHE_LINE_SIZE)));

struct fd_table {
    struct mutex alloc_lock; /* leaf: installing and freeing descriptors */
    struct fd_slot *chunks[FD_MAX_CHUNKS];
    int lowest_free_hint;
};

void fd_table_init(struct fd_table *table);
/* Closes every descriptor still open, through release. */
void fd_table_destroy(struct fd_table *table, void (*release)(void *arg, struct open_file *file), void *arg);
/* Installs file at the lowest free descriptor; -1 with EMFILE or ENOMEM. */
int fd_install(struct fd_table *table, struct open_file *file);
/* Takes a reference on the file behind fd, or NULL. */
struct open_file *fd_get(struct fd_table *table, int fd);
/* Empties fd and returns the table's reference, or NULL if fd was not open. */
struct open_file *fd_remove(struct fd_table *table, int fd);

#endif
