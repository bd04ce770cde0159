/* dir_index.c: the names of one directory in a key-ordered linear-probing hash table of seeded hashes and collision slots. */
#include "dir_index.h"

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

#define DIR_KEY_BITS (DIR_HASH_BITS + DIR_SLOT_BITS)
#define FIRST_HOME_BITS 3
#define SPILL_BUCKETS 16

static size_t home_of(const struct dir_index *index, uint64_t key)
{
    return (size_t)(key >> (DIR_KEY_BITS - index->home_bits));
}

static size_t home_count(const struct dir_index *index)
{
    return (size_t)1 << index->home_bits;
}

/* The first bucket whose key is >= key, or the empty bucket where such a key would go, or bucket_count. */
static size_t lower_bound(const struct dir_index *index, uint64_t key)
{
    size_t i = home_of(index, key);
    while (i < index->bucket_count && index->buckets[i].name && index->buckets[i].key < key)
        i++;
    return i;
}

/* The first bucket at or after i that holds a name, or bucket_count. */
static size_t next_held(const struct dir_index *index, size_t i)
{
    while (i < index->bucket_count && !index->buckets[i].name)
        i++;
    return i;
}

static bool same_name(const struct dir_name *n, const char *name, size_t len)
{
    return n->len == len && !memcmp(n->name, name, len);
}

/* The bucket of name, whose keys are the few from hash << DIR_SLOT_BITS on, or bucket_count. */
static size_t find_bucket(const struct dir_index *index, uint64_t hash, const char *name, size_t len)
{
    for (size_t i = lower_bound(index, hash << DIR_SLOT_BITS);
         i < index->bucket_count && index->buckets[i].name && dir_key_hash(index->buckets[i].key) == hash; i++)
        if (same_name(index->buckets[i].name, name, len))
            return i;
    return index->bucket_count;
}

struct dir_name *dir_index_find(const struct dir_index *index, const char *name, size_t len)
{
    if (!index->buckets)
        return NULL;
    size_t i = find_bucket(index, name_hash(name, len), name, len);
    return i < index->bucket_count ? index->buckets[i].name : NULL;
}

/* Lengthens *buckets from *count to larger buckets, the new ones empty. */
static int extend_buckets(struct dir_bucket **buckets, size_t *count, size_t larger)
{
    struct dir_bucket *more = realloc(*buckets, larger * sizeof(*more));
    if (!more)
        return ENOMEM;
    memset(more + *count, 0, (larger - *count) * sizeof(*more));
    *buckets = more;
    *count = larger;
    return 0;
}

/*
 * Lays the names out again over 2^home_bits home buckets. Keys keep their
 * order, so each name goes at its home or right after the one before it;
 * the spill grows when the last homes overflow, as names on one hash can.
 */
static int rebuild(struct dir_index *index, unsigned home_bits)
{
    size_t homes = (size_t)1 << home_bits;
    size_t capacity = homes + SPILL_BUCKETS;
    struct dir_bucket *buckets = calloc(capacity, sizeof(*buckets));
    if (!buckets)
        return ENOMEM;
    struct dir_index grown = {.buckets = buckets, .home_bits = home_bits, .bucket_count = capacity};
    size_t next = 0;
    for (size_t i = 0; i < index->bucket_count; i++) {
        if (!index->buckets[i].name)
            continue;
        size_t at = home_of(&grown, index->buckets[i].key);
        if (at < next)
            at = next;
        if (at >= capacity && extend_buckets(&buckets, &capacity, capacity + capacity / 2)) {
            free(buckets);
            return ENOMEM;
        }
        buckets[at] = index->buckets[i];
        next = at + 1;
    }
    free(index->buckets);
    index->buckets = buckets;
    index->home_bits = home_bits;
    index->bucket_count = capacity;
    return 0;
}

/* Room for one more name: home buckets stay at least twice the names. */
static int make_room(struct dir_index *index)
{
    if (!index->buckets)
        return rebuild(index, FIRST_HOME_BITS);
    if (2 * (index->count + 1) <= home_count(index))
        return 0;
    return rebuild(index, index->home_bits + 1);
}

/* Shifts the buckets from at up to the next empty one right by one, growing the spill when there is none. */
static int open_bucket(struct dir_index *index, size_t at)
{
    size_t empty = at;
    while (empty < index->bucket_count && index->buckets[empty].name)
        empty++;
    if (empty == index->bucket_count &&
        extend_buckets(&index->buckets, &index->bucket_count, index->bucket_count + SPILL_BUCKETS))
        return ENOMEM;
    memmove(&index->buckets[at + 1], &index->buckets[at], (empty - at) * sizeof(index->buckets[0]));
    return 0;
}

/* After a miss: inserts name in the smallest slot of its hash that no name holds. */
static int insert(struct dir_index *index, uint64_t hash, const char *name, size_t len, uint64_t ino, uint8_t file_type)
{
    int rc = make_room(index);
    if (rc)
        return rc;
    size_t at = lower_bound(index, hash << DIR_SLOT_BITS);
    unsigned slot = 0;
    while (at < index->bucket_count && index->buckets[at].name && index->buckets[at].key == (hash << DIR_SLOT_BITS | slot)) {
        at++;
        slot++;
    }
    /* 128 names on one 55-bit hash cannot happen unless the seeded hash is broken. */
    if (slot == DIR_SLOTS)
        return ENOSPC;
    struct dir_name *n = malloc(sizeof(*n) + len);
    if (!n)
        return ENOMEM;
    if ((at == index->bucket_count || index->buckets[at].name) && open_bucket(index, at)) {
        free(n);
        return ENOMEM;
    }
    *n = (struct dir_name){.key = hash << DIR_SLOT_BITS | slot, .ino = ino, .file_type = file_type, .len = (uint8_t)len};
    memcpy(n->name, name, len);
    index->buckets[at] = (struct dir_bucket){n->key, n};
    index->count++;
    index->subdirs += file_type == DT_DIR;
    return 0;
}

int dir_index_put(struct dir_index *index, const char *name, size_t len, uint64_t ino, uint8_t file_type)
{
    uint64_t hash = name_hash(name, len);
    struct dir_name *n = dir_index_find(index, name, len);
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

/* Empties bucket i and pulls back the names after it that sit past their home, so that no lookup stops short. */
static void drop(struct dir_index *index, size_t i)
{
    struct dir_name *n = index->buckets[i].name;
    index->count--;
    index->subdirs -= n->file_type == DT_DIR;
    free(n);
    size_t hole = i;
    for (size_t j = i + 1; j < index->bucket_count && index->buckets[j].name &&
                           home_of(index, index->buckets[j].key) <= hole;
         j++) {
        index->buckets[hole] = index->buckets[j];
        hole = j;
    }
    index->buckets[hole] = (struct dir_bucket){0};
    /* A shrunk table is only an economy: when memory for it is short, the larger one stays. */
    if (index->home_bits > FIRST_HOME_BITS && 8 * index->count < home_count(index))
        rebuild(index, index->home_bits - 1);
}

void dir_index_remove_key(struct dir_index *index, uint64_t key)
{
    if (!index->buckets)
        return;
    size_t i = lower_bound(index, key);
    if (i < index->bucket_count && index->buckets[i].name && index->buckets[i].key == key)
        drop(index, i);
}

void dir_index_remove(struct dir_index *index, const char *name, size_t len)
{
    if (!index->buckets)
        return;
    size_t i = find_bucket(index, name_hash(name, len), name, len);
    if (i < index->bucket_count)
        drop(index, i);
}

void dir_index_clear(struct dir_index *index)
{
    for (size_t i = 0; i < index->bucket_count; i++)
        free(index->buckets[i].name);
    free(index->buckets);
    *index = (struct dir_index){0};
}

struct dir_name *dir_index_next(const struct dir_index *index, uint64_t from_key)
{
    if (!index->buckets || from_key >> DIR_KEY_BITS)
        return NULL;
    size_t i = next_held(index, lower_bound(index, from_key));
    return i < index->bucket_count ? index->buckets[i].name : NULL;
}

struct dir_name *dir_index_after(const struct dir_index *index, const struct dir_name *name)
{
    return dir_index_next(index, name->key + 1);
}

int dir_index_each(const struct dir_index *index, int (*visit)(void *arg, const struct dir_name *name), void *arg)
{
    /* By key, not by bucket: visit may remove the name, which pulls the next one back into its bucket. */
    for (struct dir_name *n = dir_index_next(index, 0); n;) {
        uint64_t key = n->key;
        int rc = visit(arg, n);
        if (rc)
            return rc;
        n = dir_index_next(index, key + 1);
    }
    return 0;
}
