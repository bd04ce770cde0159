/* dir_index.h: a directory's DRAM name index, ordered by keys that stay fixed while a name exists. */
#ifndef UDAX_DIR_INDEX_H
#define UDAX_DIR_INDEX_H

#include <stddef.h>
#include <stdint.h>

/*
 * A key is a seeded 55-bit hash of the name, shifted left by 7, plus a slot
 * that tells apart names whose hashes collide. 55 + 7 bits leave a key, and
 * a readdir position a few past it, within a positive long.
 */
#define DIR_HASH_BITS 55
#define DIR_SLOT_BITS 7
#define DIR_SLOTS (1u << DIR_SLOT_BITS)

static inline uint64_t dir_key_hash(uint64_t key)
{
    return key >> DIR_SLOT_BITS;
}

static inline unsigned dir_key_slot(uint64_t key)
{
    return (unsigned)(key & (DIR_SLOTS - 1));
}

struct dir_name {
    uint64_t key;
    uint64_t ino;
    uint8_t file_type;
    uint8_t len;
    char name[];
};

struct dir_bucket {
    uint64_t key;
    struct dir_name *name; /* NULL: the bucket is empty */
};

/*
 * A linear-probing hash table whose buckets hold their keys in increasing
 * order: a key's home bucket is its top bits, and a name goes at or after its
 * home, before every larger key. A lookup takes one cache miss for the
 * bucket, and walking the keys in order is walking the buckets.
 */
struct dir_index {
    struct dir_bucket *buckets;
    unsigned home_bits;   /* 2^home_bits home buckets */
    size_t bucket_count;  /* the home buckets and the spill past the last of them */
    size_t count;
    size_t subdirs;
};

void dir_index_clear(struct dir_index *index);
struct dir_name *dir_index_find(const struct dir_index *index, const char *name, size_t len);
/*
 * Adds or replaces name; a name replaced keeps its key. 0, ENOMEM, or
 * ENOSPC when every slot of its hash is taken.
 */
int dir_index_put(struct dir_index *index, const char *name, size_t len, uint64_t ino, uint8_t file_type);
/* dir_index_put for a name known to be absent, which saves looking for it. */
int dir_index_add(struct dir_index *index, const char *name, size_t len, uint64_t ino, uint8_t file_type);
void dir_index_remove(struct dir_index *index, const char *name, size_t len);
/* Removes the name that holds key, found under the same lock, which saves looking for it again. */
void dir_index_remove_key(struct dir_index *index, uint64_t key);

/* The name with the smallest key >= from_key, or NULL. */
struct dir_name *dir_index_next(const struct dir_index *index, uint64_t from_key);

/* The name with the next key after name's, or NULL. */
struct dir_name *dir_index_after(const struct dir_index *index, const struct dir_name *name);

/*
 * Visits every name in key order; stops early when visit returns nonzero,
 * and returns that. visit may remove the name it is given.
 */
int dir_index_each(const struct dir_index *index, int (*visit)(void *arg, const struct dir_name *name), void *arg);

/*
 * Tests only: replaces the seeded hash (NULL restores it), so that a test can
 * make names collide, which the seeded hash makes infeasible. Only the low
 * DIR_HASH_BITS bits of what hash returns are used.
 */
void dir_index_override_hash(uint64_t (*hash)(const char *name, size_t len));

#endif
