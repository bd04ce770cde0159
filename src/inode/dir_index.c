/* dir_index.c: the name hash table of one directory, resized to keep chains short. */
#include "dir_index.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static uint64_t name_hash(const char *name, size_t len)
{
    return XXH3_64bits(name, len);
}

void dir_index_clear(struct dir_index *index)
{
    for (size_t b = 0; b < index->bucket_count; b++) {
        for (struct dir_name *n = index->buckets[b], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    }
    free(index->buckets);
    *index = (struct dir_index){0};
}

static struct dir_name **slot_of(const struct dir_index *index, const char *name, size_t len, uint64_t hash)
{
    struct dir_name **link = &index->buckets[hash & (index->bucket_count - 1)];
    while (*link && !((*link)->hash == hash && (*link)->len == len && !memcmp((*link)->name, name, len)))
        link = &(*link)->next;
    return link;
}

struct dir_name *dir_index_find(const struct dir_index *index, const char *name, size_t len)
{
    if (!index->bucket_count)
        return NULL;
    return *slot_of(index, name, len, name_hash(name, len));
}

static int grow(struct dir_index *index)
{
    size_t count = index->bucket_count ? index->bucket_count * 2 : 8;
    struct dir_name **buckets = calloc(count, sizeof(*buckets));
    if (!buckets)
        return ENOMEM;
    for (size_t b = 0; b < index->bucket_count; b++) {
        for (struct dir_name *n = index->buckets[b], *next; n; n = next) {
            next = n->next;
            n->next = buckets[n->hash & (count - 1)];
            buckets[n->hash & (count - 1)] = n;
        }
    }
    free(index->buckets);
    index->buckets = buckets;
    index->bucket_count = count;
    return 0;
}

int dir_index_put(struct dir_index *index, const char *name, size_t len, uint64_t ino, uint8_t file_type)
{
    if (index->count >= index->bucket_count && grow(index))
        return ENOMEM;
    uint64_t hash = name_hash(name, len);
    struct dir_name **link = slot_of(index, name, len, hash);
    if (*link) {
        index->subdirs -= (*link)->file_type == DT_DIR;
        index->subdirs += file_type == DT_DIR;
        (*link)->ino = ino;
        (*link)->file_type = file_type;
        return 0;
    }
    struct dir_name *n = malloc(sizeof(*n) + len);
    if (!n)
        return ENOMEM;
    *n = (struct dir_name){.hash = hash, .ino = ino, .file_type = file_type, .len = (uint8_t)len};
    memcpy(n->name, name, len);
    *link = n;
    index->count++;
    index->subdirs += file_type == DT_DIR;
    return 0;
}

void dir_index_remove(struct dir_index *index, const char *name, size_t len)
{
    if (!index->bucket_count)
        return;
    struct dir_name **link = slot_of(index, name, len, name_hash(name, len));
    struct dir_name *n = *link;
    if (!n)
        return;
    *link = n->next;
    index->count--;
    index->subdirs -= n->file_type == DT_DIR;
    free(n);
}

int dir_index_each(const struct dir_index *index, int (*visit)(void *arg, const struct dir_name *name), void *arg)
{
    for (size_t b = 0; b < index->bucket_count; b++) {
        for (const struct dir_name *n = index->buckets[b]; n; n = n->next) {
            int rc = visit(arg, n);
            if (rc)
                return rc;
        }
    }
    return 0;
}
