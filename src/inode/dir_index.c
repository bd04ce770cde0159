/* dir_index.c: the names of one directory in a JudyL array keyed by seeded hash, names of one hash chained by slot. */
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

/*
 * One JudyL descent per lookup: the array is keyed by hash alone, and the
 * rare names that share a hash hang off the first in slot order.
 */
static struct dir_name **chain_of(const struct dir_index *index, uint64_t hash)
{
    PWord_t value = (PWord_t)JudyLGet(index->names, (Word_t)hash, NULL);
    return value && value != PJERR ? (struct dir_name **)value : NULL;
}

/* The first chain whose hash is >= *hash, which is set to it; NULL when none. */
static struct dir_name *chain_at_or_after(const struct dir_index *index, Word_t *hash)
{
    PWord_t value = (PWord_t)JudyLFirst(index->names, hash, NULL);
    return value && value != PJERR ? (struct dir_name *)*value : NULL;
}

static struct dir_name *chain_after(const struct dir_index *index, Word_t *hash)
{
    PWord_t value = (PWord_t)JudyLNext(index->names, hash, NULL);
    return value && value != PJERR ? (struct dir_name *)*value : NULL;
}

static bool same_name(const struct dir_name *n, const char *name, size_t len)
{
    return n->len == len && !memcmp(n->name, name, len);
}

static struct dir_name *find_hashed(const struct dir_index *index, uint64_t hash, const char *name, size_t len)
{
    struct dir_name **chain = chain_of(index, hash);
    for (struct dir_name *n = chain ? *chain : NULL; n; n = n->next_slot)
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

/* After a miss: inserts name in the smallest slot of its hash that no name holds. */
static int insert(struct dir_index *index, uint64_t hash, const char *name, size_t len, uint64_t ino, uint8_t file_type)
{
    struct dir_name *n = malloc(sizeof(*n) + len);
    if (!n)
        return ENOMEM;
    PWord_t value = (PWord_t)JudyLIns(&index->names, (Word_t)hash, NULL);
    if (value == PJERR) {
        free(n);
        return ENOMEM;
    }
    struct dir_name **link = (struct dir_name **)value;
    unsigned slot = 0;
    for (; *link && dir_key_slot((*link)->key) == slot; link = &(*link)->next_slot)
        slot++;
    /* 128 names on one 55-bit hash cannot happen unless the seeded hash is broken. */
    if (slot == DIR_SLOTS) {
        free(n);
        return ENOSPC;
    }
    *n = (struct dir_name){.key = hash << DIR_SLOT_BITS | slot, .next_slot = *link, .ino = ino,
                           .file_type = file_type, .len = (uint8_t)len};
    memcpy(n->name, name, len);
    *link = n;
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

/* Unchains the name at *link of chain, and drops its hash from the array once the chain is empty. */
static void drop(struct dir_index *index, struct dir_name **chain, struct dir_name **link)
{
    struct dir_name *n = *link;
    *link = n->next_slot;
    if (!*chain)
        JudyLDel(&index->names, (Word_t)dir_key_hash(n->key), NULL);
    index->count--;
    index->subdirs -= n->file_type == DT_DIR;
    free(n);
}

void dir_index_remove_key(struct dir_index *index, uint64_t key)
{
    struct dir_name **chain = chain_of(index, dir_key_hash(key));
    if (!chain)
        return;
    for (struct dir_name **link = chain; *link; link = &(*link)->next_slot)
        if ((*link)->key == key) {
            drop(index, chain, link);
            return;
        }
}

void dir_index_remove(struct dir_index *index, const char *name, size_t len)
{
    if (!index->names)
        return;
    struct dir_name **chain = chain_of(index, name_hash(name, len));
    if (!chain)
        return;
    for (struct dir_name **link = chain; *link; link = &(*link)->next_slot)
        if (same_name(*link, name, len)) {
            drop(index, chain, link);
            return;
        }
}

void dir_index_clear(struct dir_index *index)
{
    Word_t hash = 0;
    for (struct dir_name *n = chain_at_or_after(index, &hash); n; n = chain_after(index, &hash))
        while (n) {
            struct dir_name *next = n->next_slot;
            free(n);
            n = next;
        }
    JudyLFreeArray(&index->names, NULL);
    *index = (struct dir_index){0};
}

struct dir_name *dir_index_next(const struct dir_index *index, uint64_t from_key)
{
    Word_t hash = (Word_t)dir_key_hash(from_key);
    struct dir_name *n = chain_at_or_after(index, &hash);
    if (n && hash == dir_key_hash(from_key)) {
        while (n && n->key < from_key)
            n = n->next_slot;
        if (!n)
            n = chain_after(index, &hash);
    }
    return n;
}

struct dir_name *dir_index_after(const struct dir_index *index, const struct dir_name *name)
{
    if (name->next_slot)
        return name->next_slot;
    Word_t hash = (Word_t)dir_key_hash(name->key);
    return chain_after(index, &hash);
}

int dir_index_each(const struct dir_index *index, int (*visit)(void *arg, const struct dir_name *name), void *arg)
{
    Word_t hash = 0;
    for (struct dir_name *n = chain_at_or_after(index, &hash); n; n = chain_after(index, &hash))
        while (n) {
            /* Fetched first: visit may remove n, and with it the chain; the walk goes on from hash. */
            struct dir_name *next = n->next_slot;
            int rc = visit(arg, n);
            if (rc)
                return rc;
            n = next;
        }
    return 0;
}
