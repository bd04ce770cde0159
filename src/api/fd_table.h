/* fd_table.h: udax file descriptors: open file descriptions in a table whose lookups take no lock. */
#ifndef UDAX_FD_TABLE_H
#define UDAX_FD_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "inode/inode.h"
#include "util/locks.h"

/*
 * Descriptions are never given back to malloc while their table lives: a
 * lookup that read a slot just before a close may still count a reference on
 * one that has since been freed or opened anew, and must find memory that is
 * a description (see fd_get).
 */
struct open_file {
    struct inode *inode;
    int flags;
    uint32_t refs;         /* the table's and each call's in flight; atomic; 0 while free */
    uint32_t gen;          /* odd from the fall of refs to 0 until the next open: see fd_peek; atomic */
    struct mutex position_lock;
    uint64_t position;
    struct open_file *next_free; /* the table's free list */
} __attribute__((aligned(CACHE_LINE_SIZE)));

#define FD_CHUNK_SLOTS 1024
#define FD_MAX_CHUNKS 1024

struct fd_slot {
    struct open_file *file; /* atomic */
};

/* Drops a reference on file; the last one closes the description and gives it to fd_file_free. */
typedef void (*fd_put_fn)(void *arg, struct open_file *file);

struct fd_table {
    struct mutex alloc_lock; /* leaf: installing descriptors, and taking free descriptions */
    struct fd_slot *chunks[FD_MAX_CHUNKS];
    int lowest_free_hint; /* no free descriptor is lower; opens raise it under alloc_lock, closes lower it; atomic */
    struct open_file *free_files; /* pushed without a lock, popped under alloc_lock; atomic */
    fd_put_fn put;
    void *put_arg;
};

void fd_table_init(struct fd_table *table, fd_put_fn put, void *put_arg);
/* Closes every descriptor still open, through put, and frees the descriptions. */
void fd_table_destroy(struct fd_table *table);
/*
 * A new description of inode, at the lowest free descriptor, holding the
 * table's reference and the caller's on inode; -1 with EMFILE or ENOMEM, and
 * the caller keeps its reference then.
 */
int fd_open(struct fd_table *table, struct inode *inode, int flags);
/* Takes back a description whose last reference has gone. */
void fd_file_free(struct fd_table *table, struct open_file *file);
/* Takes a reference on the file behind fd, or NULL. */
struct open_file *fd_get(struct fd_table *table, int fd);
/* Empties fd and returns the table's reference, or NULL if fd was not open. */
struct open_file *fd_remove(struct fd_table *table, int fd);
/*
 * For a lockless reader inside a read-side section (util/rcu.h): the
 * description fd names, without a reference, and its generation, even. Its
 * fields, and the inode it holds, are what fd named as long as
 * fd_file_unchanged says so; the inode stays allocated until the section ends.
 */
struct open_file *fd_peek(struct fd_table *table, int fd, uint32_t *gen);
bool fd_file_unchanged(const struct open_file *file, uint32_t gen);
/* The count of file fell to 0: before it lets go of its inode, so that fd_peek's readers see it. */
void fd_file_closing(struct open_file *file);

#endif
