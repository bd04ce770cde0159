/* dir_index.c: the names of one directory in a JudyL array keyed by seeded hash and collision slot. */
#include "dir_index.h"

#include <Judy.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define HASH_MASK ((UINT64_C(1) << DIR_HASH_BITS) - 1)

/*
 * Random per process, so that nobody can prepare names that share a hash
 * and fill its slots. Keys therefore mean nothing in another process.
 */
static uint64_t seed;
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;
static uint64_t (*hash_override)(const char *name, size_t len);

/* Without getrandom the seed is still unlikely to be guessed, which is all that collisions need. */
static void pick_seed(void)
{
    ssize_t got;
    do
        got = getrandom(&seed, sizeof(seed), 0);
    while (got < 0 && errno == EINTR);
    if (got == (ssize_t)sizeof(seed))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed = XXH3_64bits_withSeed(&ts, sizeof(ts), (uint64_t)getpid() ^ (uint64_t)(uintptr_t)&ts);
}

static uint64_t name_hash(const char *name, size_t len)
{
    uint64_t (*hash)(const char *, size_t) = __atomic_load_n(&hash_override, __ATOMIC_ACQUIRE);
    if (__builtin_expect(hash != NULL, 0))
        return hash(name, len) & HASH_MASK;
    pthread_once(&seed_once, pick_seed);
    return XXH3_64bits_withSeed(name, len, seed) & HASH_MASK;
}

void dir_index_override_hash(uint64_t (*hash)(const char *name, size_t len))
{
    __atomic_store_n(&hash_override, hash, __ATOMIC_RELEASE);
}

static struct dir_name *at_or_after(const struct dir_index *index, Word_t *key)
{
    PWord_t slot = (PWord_t)JudyLFirst(index->names, key, NULL);
    return slot && slot != PJERR ? (struct dir_name *)*slot : NULL;
}

static struct dir_name *after(const struct dir_index *index, Word_t *key)
{
    PWord_t slot = (PWord_t)JudyLNext(index->names, key, NULL);
    return slot && slot != PJERR ? (struct dir_name *)*slot : NULL;
}

static bool same_name(const struct dir_name *n, const char *name, size_t len)
{
    return n->len == len && !memcmp(n->name, name, len);
}

/* The names of one hash are its few keys from hash << DIR_SLOT_BITS on. */
static struct dir_name *find_hashed(const struct dir_index *index, uint64_t hash, const char *name, size_t len)
{
    Word_t key = hash << DIR_SLOT_BITS;
    for (struct dir_name *n = at_or_after(index, &key); n && dir_key_hash(key) == hash; n = after(index, &key))
        if (same_name(n, name, len))
            return n;
    return NULL;
}

struct dir_name *dir_index_find(const struct dir_index *index, const char *name, size_t len)
{
    if (!index->names)
        return NULL;
    return find_hashed(index, name_hash(name, len), name, len);
}

/* The smallest slot of hash that no name holds, or DIR_SLOTS when all are held. */
static unsigned free_slot(const struct dir_index *index, uint64_t hash)
{
    Word_t key = hash << DIR_SLOT_BITS;
    unsigned slot = 0;
    for (struct dir_name *n = at_or_after(index, &key); n && dir_key_hash(key) == hash && dir_key_slot(key) == slot;
         n = after(index, &key))
        slot++;
    return slot;
}

/* After a miss: inserts name in the smallest slot of its hash that no name holds. */
static int insert(struct dir_index *index, uint64_t hash, const char *name, size_t len, uint64_t ino, uint8_t file_type)
{
    /* 128 names on one 55-bit hash cannot happen unless the seeded hash is broken. */
    unsigned slot = free_slot(index, hash);
    if (slot == DIR_SLOTS)
        return ENOSPC;
    struct dir_name *n = malloc(sizeof(*n) + len);
    if (!n)
        return ENOMEM;
    *n = (struct dir_name){.key = hash << DIR_SLOT_BITS | slot, .ino = ino, .file_type = file_type,
                           .len = (uint8_t)len};
    memcpy(n->name, name, len);
    PWord_t value = (PWord_t)JudyLIns(&index->names, (Word_t)n->key, NULL);
    if (value == PJERR) {
        free(n);
        return ENOMEM;
    }
    *value = (Word_t)n;
    index->count++;
    index->subdirs += file_type == DT_DIR;
    return 0;
}

int dir_index_put(struct dir_index *index, const char *name, size_t len, uint64_t ino, uint8_t file_type)
{
    uint64_t hash = name_hash(name, len);
    struct dir_name *n = find_hashed(index, hash, name, len);
    if (!n)
        return insert(index, hash, name, len, ino, file_type);
    index->subdirs -= n->file_type == DT_DIR;
    index->subdirs += file_type == DT_DIR;
    n->ino = ino;
    n->file_type = file_type;
    return 0;
}

int dir_index_add(struct dir_index *index, const char *name, size_t len, uint64_t ino, uint8_t file_type)
{
    return insert(index, name_hash(name, len), name, len, ino, file_type);
}

static void drop(struct dir_index *index, struct dir_name *n)
{
    JudyLDel(&index->names, (Word_t)n->key, NULL);
    index->count--;
    index->subdirs -= n->file_type == DT_DIR;
    free(n);
}

void dir_index_remove_key(struct dir_index *index, uint64_t key)
{
    PWord_t value = (PWord_t)JudyLGet(index->names, (Word_t)key, NULL);
    if (value && value != PJERR)
        drop(index, (struct dir_name *)*value);
}

void dir_index_remove(struct dir_index *index, const char *name, size_t len)
{
    struct dir_name *n = dir_index_find(index, name, len);
    if (n)
        drop(index, n);
}

void dir_index_clear(struct dir_index *index)
{
    Word_t key = 0;
    for (struct dir_name *n = at_or_after(index, &key); n; n = after(index, &key))
        free(n);
    JudyLFreeArray(&index->names, NULL);
    *index = (struct dir_index){0};
}

/* JudyLFirst is a JudyLGet and, on a miss, a JudyLNext: one search instead of two when a key stands before. */
struct dir_name *dir_index_next(const struct dir_index *index, uint64_t from_key)
{
    Word_t key = (Word_t)from_key;
    if (!key)
        return at_or_after(index, &key);
    key--;
    return after(index, &key);
}

int dir_index_each(const struct dir_index *index, int (*visit)(void *arg, const struct dir_name *name), void *arg)
{
    Word_t key = 0;
    for (struct dir_name *n = at_or_after(index, &key); n; n = after(index, &key)) {
        int rc = visit(arg, n);
        if (rc)
            return rc;
    }
    return 0;
}
