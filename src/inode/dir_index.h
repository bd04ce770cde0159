/* dir_index.h: a directory's DRAM name index, a chained hash table from name to inode. */
#ifndef UDAX_DIR_INDEX_H
#define UDAX_DIR_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct dir_name {
    struct dir_name *next;
    uint64_t hash;
    uint64_t ino;
    uint8_t file_type;
    uint8_t len;
    char name[];
};

struct dir_index {
    struct dir_name **buckets;
    size_t bucket_count; /* a power of two, or 0 */
    size_t count;
    size_t subdirs;
};

void dir_index_clear(struct dir_index *index);
struct dir_name *dir_index_find(const struct dir_index *index, const char *name, size_t len);
/* Adds or replaces name; 0 or ENOMEM. */
int dir_index_put(struct dir_index *index, const char *name, size_t len, uint64_t ino, uint8_t file_type);
void dir_index_remove(struct dir_index *index, const char *name, size_t len);

/* Visits every name; stops early when visit returns nonzero, and returns that. */
int dir_index_each(const struct dir_index *index, int (*visit)(void *arg, const struct dir_name *name), void *arg);

#endif
