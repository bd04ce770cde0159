/* test_dir_index.c: unit tests of a directory's name index: lookups, collision slots, key order and stable keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <xxhash.h>

#include "inode/dir_index.h"
#include "test_pool.h"

static void put_or_fail(struct dir_index *index, const char *name, uint64_t ino, uint8_t file_type)
{
    assert_int_equal(dir_index_put(index, name, strlen(name), ino, file_type), 0);
}

static const struct dir_name *find(const struct dir_index *index, const char *name)
{
    return dir_index_find(index, name, strlen(name));
}

static void test_empty_index_finds_nothing(void **state)
{
    (void)state;
    struct dir_index index = {0};
    assert_null(find(&index, "a"));
    dir_index_remove(&index, "a", 1);
    assert_int_equal(index.count, 0);
    assert_int_equal(index.subdirs, 0);
    dir_index_clear(&index);
}

static void test_put_find_remove(void **state)
{
    (void)state;
    struct dir_index index = {0};
    put_or_fail(&index, "alpha", 2, DT_REG);
    put_or_fail(&index, "beta", 3, DT_DIR);

    const struct dir_name *alpha = find(&index, "alpha");
    assert_non_null(alpha);
    assert_int_equal(alpha->ino, 2);
    assert_int_equal(alpha->file_type, DT_REG);
    assert_int_equal(alpha->len, 5);
    assert_memory_equal(alpha->name, "alpha", 5);
    assert_int_equal(find(&index, "beta")->ino, 3);
    assert_int_equal(index.count, 2);

    dir_index_remove(&index, "alpha", 5);
    assert_null(find(&index, "alpha"));
    assert_non_null(find(&index, "beta"));
    assert_int_equal(index.count, 1);

    dir_index_remove(&index, "alpha", 5);
    assert_int_equal(index.count, 1);
    dir_index_clear(&index);
}

static void test_names_compare_by_length_and_bytes(void **state)
{
    (void)state;
    struct dir_index index = {0};
    put_or_fail(&index, "ab", 2, DT_REG);
    assert_null(find(&index, "a"));
    assert_null(find(&index, "abc"));
    assert_null(find(&index, "aB"));
    const struct dir_name *prefix = dir_index_find(&index, "abc", 2);
    assert_non_null(prefix);
    assert_int_equal(prefix->ino, 2);
    dir_index_clear(&index);
}

static void test_longest_name_is_kept_whole(void **state)
{
    (void)state;
    struct dir_index index = {0};
    char name[255];
    for (size_t i = 0; i < sizeof(name); i++)
        name[i] = (char)('a' + i % 26);
    assert_int_equal(dir_index_put(&index, name, sizeof(name), 7, DT_REG), 0);
    const struct dir_name *found = dir_index_find(&index, name, sizeof(name));
    assert_non_null(found);
    assert_int_equal(found->len, 255);
    assert_memory_equal(found->name, name, sizeof(name));
    assert_null(dir_index_find(&index, name, sizeof(name) - 1));
    dir_index_clear(&index);
}

static void test_put_of_an_existing_name_replaces_it(void **state)
{
    (void)state;
    struct dir_index index = {0};
    put_or_fail(&index, "x", 5, DT_REG);
    put_or_fail(&index, "x", 6, DT_DIR);
    assert_int_equal(index.count, 1);
    assert_int_equal(index.subdirs, 1);
    assert_int_equal(find(&index, "x")->ino, 6);
    assert_int_equal(find(&index, "x")->file_type, DT_DIR);

    put_or_fail(&index, "x", 7, DT_REG);
    assert_int_equal(index.count, 1);
    assert_int_equal(index.subdirs, 0);
    assert_int_equal(find(&index, "x")->ino, 7);
    dir_index_clear(&index);
}

static void test_subdirs_counts_directories_only(void **state)
{
    (void)state;
    struct dir_index index = {0};
    put_or_fail(&index, "d1", 2, DT_DIR);
    put_or_fail(&index, "f1", 3, DT_REG);
    put_or_fail(&index, "d2", 4, DT_DIR);
    put_or_fail(&index, "f2", 5, DT_REG);
    assert_int_equal(index.count, 4);
    assert_int_equal(index.subdirs, 2);

    dir_index_remove(&index, "f1", 2);
    assert_int_equal(index.subdirs, 2);
    dir_index_remove(&index, "d1", 2);
    assert_int_equal(index.subdirs, 1);
    dir_index_remove(&index, "d1", 2);
    assert_int_equal(index.subdirs, 1);
    dir_index_remove(&index, "d2", 2);
    assert_int_equal(index.subdirs, 0);
    assert_int_equal(index.count, 1);
    dir_index_clear(&index);
}

#define MANY_NAMES 10000
#define MILLION 1000000

static int format_name(char *buffer, size_t size, unsigned i)
{
    return snprintf(buffer, size, "entry-%u", i);
}

/* Puts the names format_name gives 0 to count-1, regular files of inode 100 onwards. */
static void put_numbered_names(struct dir_index *index, unsigned count)
{
    char name[32];
    for (unsigned i = 0; i < count; i++) {
        int len = format_name(name, sizeof(name), i);
        assert_int_equal(dir_index_put(index, name, (size_t)len, 100 + i, DT_REG), 0);
    }
}

static void test_a_million_names(void **state)
{
    (void)state;
    struct dir_index index = {0};
    char name[32];
    for (unsigned i = 0; i < MILLION; i++) {
        int len = format_name(name, sizeof(name), i);
        assert_int_equal(dir_index_put(&index, name, (size_t)len, 100 + i, i % 10 ? DT_REG : DT_DIR), 0);
    }
    assert_int_equal(index.count, MILLION);
    assert_int_equal(index.subdirs, MILLION / 10);

    for (unsigned i = 0; i < MILLION; i++) {
        int len = format_name(name, sizeof(name), i);
        const struct dir_name *found = dir_index_find(&index, name, (size_t)len);
        assert_non_null(found);
        assert_int_equal(found->ino, 100 + i);
    }
    for (unsigned i = 0; i < MILLION; i += 2) {
        int len = format_name(name, sizeof(name), i);
        dir_index_remove(&index, name, (size_t)len);
    }
    assert_int_equal(index.count, MILLION / 2);
    assert_int_equal(index.subdirs, 0);
    for (unsigned i = 0; i < MILLION; i++) {
        int len = format_name(name, sizeof(name), i);
        const struct dir_name *found = dir_index_find(&index, name, (size_t)len);
        if (i % 2) {
            assert_non_null(found);
            assert_int_equal(found->ino, 100 + i);
        } else {
            assert_null(found);
        }
    }
    dir_index_clear(&index);
    assert_int_equal(index.count, 0);
    assert_null(index.buckets);
}

/* Names that start with 'c' all share one hash; the rest keep the real one. */
#define SHARED_HASH 0x1234

static uint64_t collide_c_names(const char *name, size_t len)
{
    return len && name[0] == 'c' ? SHARED_HASH : XXH3_64bits(name, len);
}

static int restore_hash(void **state)
{
    (void)state;
    dir_index_override_hash(NULL);
    return 0;
}

static uint64_t key_of(const struct dir_index *index, const char *name)
{
    const struct dir_name *n = find(index, name);
    assert_non_null(n);
    return n->key;
}

static void test_colliding_names_take_the_smallest_free_slots(void **state)
{
    (void)state;
    dir_index_override_hash(collide_c_names);
    struct dir_index index = {0};
    char name[32];
    for (unsigned i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "c%u", i);
        put_or_fail(&index, name, 100 + i, DT_REG);
    }
    put_or_fail(&index, "other", 99, DT_REG);
    for (unsigned i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "c%u", i);
        uint64_t key = key_of(&index, name);
        assert_int_equal(dir_key_hash(key), SHARED_HASH);
        assert_int_equal(dir_key_slot(key), i);
        assert_int_equal(find(&index, name)->ino, 100 + i);
    }
    assert_int_not_equal(dir_key_hash(key_of(&index, "other")), SHARED_HASH);
    assert_null(find(&index, "c10"));

    dir_index_remove(&index, "c3", 2);
    dir_index_remove(&index, "c7", 2);
    assert_null(find(&index, "c3"));
    assert_null(find(&index, "c7"));
    assert_int_equal(dir_key_slot(key_of(&index, "c8")), 8);
    put_or_fail(&index, "cx", 200, DT_REG);
    put_or_fail(&index, "cy", 201, DT_DIR);
    put_or_fail(&index, "cz", 202, DT_REG);
    assert_int_equal(dir_key_slot(key_of(&index, "cx")), 3);
    assert_int_equal(dir_key_slot(key_of(&index, "cy")), 7);
    assert_int_equal(dir_key_slot(key_of(&index, "cz")), 10);
    assert_int_equal(index.count, 12);
    assert_int_equal(index.subdirs, 1);

    const char *all[] = {"c0", "c1", "c2", "c4", "c5", "c6", "c8", "c9", "cx", "cy", "cz", "other"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        assert_non_null(find(&index, all[i]));
        dir_index_remove(&index, all[i], strlen(all[i]));
        assert_null(find(&index, all[i]));
    }
    assert_int_equal(index.count, 0);
    assert_int_equal(index.subdirs, 0);
    assert_null(dir_index_next(&index, 0));
    dir_index_clear(&index);
}

/* add and remove_key skip the search that put and remove make, and must leave the index as those would. */
static void test_add_and_remove_by_key_keep_slots_and_counts(void **state)
{
    (void)state;
    dir_index_override_hash(collide_c_names);
    struct dir_index index = {0};
    assert_int_equal(dir_index_add(&index, "c0", 2, 10, DT_REG), 0);
    assert_int_equal(dir_index_add(&index, "c1", 2, 11, DT_DIR), 0);
    assert_int_equal(dir_index_add(&index, "c2", 2, 12, DT_REG), 0);
    assert_int_equal(dir_key_slot(key_of(&index, "c2")), 2);
    assert_int_equal(index.count, 3);
    assert_int_equal(index.subdirs, 1);

    dir_index_remove_key(&index, key_of(&index, "c1"));
    assert_null(find(&index, "c1"));
    assert_int_equal(find(&index, "c0")->ino, 10);
    assert_int_equal(find(&index, "c2")->ino, 12);
    assert_int_equal(index.count, 2);
    assert_int_equal(index.subdirs, 0);

    assert_int_equal(dir_index_add(&index, "c3", 2, 13, DT_REG), 0);
    assert_int_equal(dir_key_slot(key_of(&index, "c3")), 1);
    dir_index_remove_key(&index, (uint64_t)SHARED_HASH << DIR_SLOT_BITS | 9);
    assert_int_equal(index.count, 3);
    dir_index_clear(&index);
}

static void test_a_hash_with_every_slot_taken_refuses_more_names(void **state)
{
    (void)state;
    dir_index_override_hash(collide_c_names);
    struct dir_index index = {0};
    char name[32];
    for (unsigned i = 0; i < DIR_SLOTS; i++) {
        int len = snprintf(name, sizeof(name), "c%u", i);
        assert_int_equal(dir_index_put(&index, name, (size_t)len, 100 + i, DT_REG), 0);
    }
    assert_int_equal(dir_index_put(&index, "cfull", 5, 1, DT_REG), ENOSPC);
    assert_null(find(&index, "cfull"));
    assert_int_equal(index.count, DIR_SLOTS);
    put_or_fail(&index, "c5", 555, DT_DIR);
    assert_int_equal(find(&index, "c5")->ino, 555);
    assert_int_equal(index.count, DIR_SLOTS);
    put_or_fail(&index, "elsewhere", 7, DT_REG);
    dir_index_remove(&index, "c64", 3);
    put_or_fail(&index, "cfull", 1, DT_REG);
    assert_int_equal(dir_key_slot(key_of(&index, "cfull")), 64);
    dir_index_clear(&index);
}

/* 64 hashes for every name, so that churn keeps filling and freeing slots beside the names that stay. */
static uint64_t narrow_hash(const char *name, size_t len)
{
    return XXH3_64bits(name, len) % 64;
}

#define KEPT 500
#define CHURNED 2000

static void churn_around_kept_names(bool narrow)
{
    dir_index_override_hash(narrow ? narrow_hash : NULL);
    struct dir_index index = {0};
    char name[32];
    uint64_t keys[KEPT];
    const struct dir_name *objects[KEPT];
    for (unsigned i = 0; i < KEPT; i++) {
        snprintf(name, sizeof(name), "kept-%u", i);
        put_or_fail(&index, name, 1 + i, DT_REG);
        if (i % 5 == 0) {
            snprintf(name, sizeof(name), "churn-%u", i);
            put_or_fail(&index, name, 1, DT_REG);
        }
    }
    for (unsigned i = 0; i < KEPT; i++) {
        snprintf(name, sizeof(name), "kept-%u", i);
        objects[i] = find(&index, name);
        keys[i] = objects[i]->key;
    }
    uint64_t random = 12345;
    for (unsigned op = 0; op < 100000; op++) {
        random = random * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned which = (unsigned)(random >> 33);
        if (which % 7 == 0) {
            snprintf(name, sizeof(name), "kept-%u", which % KEPT);
            put_or_fail(&index, name, op, which % 2 ? DT_REG : DT_DIR);
            continue;
        }
        int len = snprintf(name, sizeof(name), "churn-%u", which % CHURNED);
        if (which % 2)
            assert_int_equal(dir_index_put(&index, name, (size_t)len, op, DT_REG), 0);
        else
            dir_index_remove(&index, name, (size_t)len);
    }
    for (unsigned i = 0; i < KEPT; i++) {
        snprintf(name, sizeof(name), "kept-%u", i);
        assert_ptr_equal(find(&index, name), objects[i]);
        assert_int_equal(find(&index, name)->key, keys[i]);
    }
    dir_index_clear(&index);
}

static void test_keys_of_names_that_stay_never_change(void **state)
{
    (void)state;
    churn_around_kept_names(false);
    churn_around_kept_names(true);
}

static void test_next_finds_the_first_name_at_or_after_a_key(void **state)
{
    (void)state;
    struct dir_index index = {0};
    put_numbered_names(&index, 1000);
    size_t seen = 0;
    uint64_t previous = 0;
    for (const struct dir_name *n = dir_index_next(&index, 0); n; n = dir_index_after(&index, n)) {
        assert_true(seen == 0 || n->key > previous);
        assert_ptr_equal(dir_index_next(&index, n->key), n);
        if (seen)
            assert_ptr_equal(dir_index_next(&index, previous + 1), n);
        previous = n->key;
        seen++;
    }
    assert_int_equal(seen, 1000);
    assert_null(dir_index_next(&index, previous + 1));
    dir_index_clear(&index);
}

struct visit_record {
    unsigned *visits; /* indexed by ino - 100 */
    unsigned total;
    unsigned stop_after;
};

static int count_visit(void *arg, const struct dir_name *name)
{
    struct visit_record *record = arg;
    assert_true(name->ino >= 100 && name->ino < 100 + MANY_NAMES);
    char expected[32];
    int len = format_name(expected, sizeof(expected), (unsigned)(name->ino - 100));
    assert_int_equal(name->len, len);
    assert_memory_equal(name->name, expected, (size_t)len);
    record->visits[name->ino - 100]++;
    record->total++;
    return record->stop_after && record->total == record->stop_after ? 42 : 0;
}

static void test_each_visits_every_name_exactly_once(void **state)
{
    (void)state;
    struct dir_index index = {0};
    char name[32];
    put_numbered_names(&index, MANY_NAMES);
    for (unsigned i = 0; i < MANY_NAMES; i += 3) {
        int len = format_name(name, sizeof(name), i);
        dir_index_remove(&index, name, (size_t)len);
    }
    unsigned *visits = calloc(MANY_NAMES, sizeof(*visits));
    assert_non_null(visits);
    struct visit_record record = {.visits = visits};

    assert_int_equal(dir_index_each(&index, count_visit, &record), 0);

    assert_int_equal(record.total, index.count);
    for (unsigned i = 0; i < MANY_NAMES; i++)
        assert_int_equal(visits[i], i % 3 ? 1 : 0);
    free(visits);
    dir_index_clear(&index);
}

static void test_each_stops_when_the_visitor_asks(void **state)
{
    (void)state;
    struct dir_index index = {0};
    unsigned visits[50] = {0};
    put_numbered_names(&index, 50);
    struct visit_record record = {.visits = visits, .stop_after = 7};
    assert_int_equal(dir_index_each(&index, count_visit, &record), 42);
    assert_int_equal(record.total, 7);
    dir_index_clear(&index);
}

struct removing_visit {
    struct dir_index *index;
    uint64_t previous_key;
    unsigned total;
};

static int remove_visited(void *arg, const struct dir_name *name)
{
    struct removing_visit *v = arg;
    assert_true(v->total == 0 || name->key > v->previous_key);
    v->previous_key = name->key;
    v->total++;
    char copy[256];
    memcpy(copy, name->name, name->len);
    dir_index_remove(v->index, copy, name->len);
    return 0;
}

static void test_each_goes_in_key_order_and_lets_the_visitor_remove_each_name(void **state)
{
    (void)state;
    struct dir_index index = {0};
    put_numbered_names(&index, MANY_NAMES);
    struct removing_visit v = {.index = &index};
    assert_int_equal(dir_index_each(&index, remove_visited, &v), 0);
    assert_int_equal(v.total, MANY_NAMES);
    assert_int_equal(index.count, 0);
    assert_null(dir_index_next(&index, 0));
    dir_index_clear(&index);
}

/* Hashes crowded into a few values at both ends of the key space: long runs of buckets, and spill past the last home. */
static uint64_t crowded_hash(const char *name, size_t len)
{
    uint64_t h = XXH3_64bits(name, len) % 24;
    return h < 12 ? h : ((UINT64_C(1) << DIR_HASH_BITS) - 1) - (h - 12);
}

#define MODEL_NAMES 600

/* Every name the model holds is found under the key it had when added, and next() walks exactly them in key order. */
static void assert_matches_model(const struct dir_index *index, const bool *held, const uint64_t *keys)
{
    size_t expected = 0;
    char name[16];
    for (unsigned i = 0; i < MODEL_NAMES; i++) {
        int len = snprintf(name, sizeof(name), "m%u", i);
        const struct dir_name *n = dir_index_find(index, name, (size_t)len);
        if (!held[i]) {
            assert_null(n);
            continue;
        }
        expected++;
        assert_non_null(n);
        assert_int_equal(n->ino, 1000 + i);
        assert_int_equal(n->key, keys[i]);
    }
    assert_int_equal(index->count, expected);
    size_t walked = 0;
    uint64_t previous = 0;
    for (const struct dir_name *n = dir_index_next(index, 0); n; n = dir_index_after(index, n)) {
        assert_true(walked == 0 || n->key > previous);
        assert_ptr_equal(dir_index_next(index, n->key), n);
        previous = n->key;
        walked++;
    }
    assert_int_equal(walked, expected);
}

static void test_random_changes_on_crowded_hashes_match_a_model(void **state)
{
    (void)state;
    dir_index_override_hash(crowded_hash);
    struct dir_index index = {0};
    bool held[MODEL_NAMES] = {false};
    uint64_t keys[MODEL_NAMES] = {0};
    uint64_t random = 88172645463325252ULL;
    char name[16];
    for (unsigned step = 0; step < 4000; step++) {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        /* Mostly adds while young, mostly removals later, so that the table grows and shrinks again. */
        unsigned i = (unsigned)(random % MODEL_NAMES);
        bool grow = step < 2000 ? random % 4 != 0 : random % 4 == 0;
        int len = snprintf(name, sizeof(name), "m%u", i);
        if (grow && !held[i]) {
            assert_int_equal(dir_index_add(&index, name, (size_t)len, 1000 + i, DT_REG), 0);
            held[i] = true;
            keys[i] = dir_index_find(&index, name, (size_t)len)->key;
        } else if (!grow && held[i]) {
            if (random % 2)
                dir_index_remove(&index, name, (size_t)len);
            else
                dir_index_remove_key(&index, keys[i]);
            held[i] = false;
        }
        if (step % 50 == 0)
            assert_matches_model(&index, held, keys);
    }
    assert_matches_model(&index, held, keys);
    dir_index_clear(&index);
}

static void test_each_on_an_empty_index_visits_nothing(void **state)
{
    (void)state;
    struct dir_index index = {0};
    unsigned visits[1] = {0};
    struct visit_record record = {.visits = visits};
    assert_int_equal(dir_index_each(&index, count_visit, &record), 0);
    assert_int_equal(record.total, 0);
}

static uint64_t one_hash_for_all(const char *name, size_t len)
{
    (void)name;
    (void)len;
    return SHARED_HASH;
}

/*
 * Names written under one hash and replayed under another can crowd a hash
 * past its slots: recovery must report the directory as damaged, not as a
 * lack of memory.
 */
static void test_replay_of_a_crowded_hash_is_damage_not_out_of_memory(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), 64 << 20, UDAX_DATA_STRICT);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    char name[32];
    for (unsigned i = 0; i <= DIR_SLOTS; i++) {
        snprintf(name, sizeof(name), "/d/n%u", i);
        assert_int_equal(udax_mknod(pool, name, S_IFREG | 0644, 0), 0);
    }
    assert_int_equal(udax_pool_close(pool), 0);

    dir_index_override_hash(one_hash_for_all);
    assert_null(udax_pool_open(path, NULL));
    assert_non_null(strstr(udax_last_error(), "one name too many on its hash"));
    assert_null(strstr(udax_last_error(), "out of memory"));
    dir_index_override_hash(NULL);
    test_pool_finish(NULL, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_index_finds_nothing),
        cmocka_unit_test(test_put_find_remove),
        cmocka_unit_test(test_names_compare_by_length_and_bytes),
        cmocka_unit_test(test_longest_name_is_kept_whole),
        cmocka_unit_test(test_put_of_an_existing_name_replaces_it),
        cmocka_unit_test(test_subdirs_counts_directories_only),
        cmocka_unit_test(test_a_million_names),
        cmocka_unit_test_teardown(test_colliding_names_take_the_smallest_free_slots, restore_hash),
        cmocka_unit_test_teardown(test_add_and_remove_by_key_keep_slots_and_counts, restore_hash),
        cmocka_unit_test_teardown(test_a_hash_with_every_slot_taken_refuses_more_names, restore_hash),
        cmocka_unit_test_teardown(test_keys_of_names_that_stay_never_change, restore_hash),
        cmocka_unit_test(test_next_finds_the_first_name_at_or_after_a_key),
        cmocka_unit_test(test_each_visits_every_name_exactly_once),
        cmocka_unit_test(test_each_stops_when_the_visitor_asks),
        cmocka_unit_test(test_each_goes_in_key_order_and_lets_the_visitor_remove_each_name),
        cmocka_unit_test(test_each_on_an_empty_index_visits_nothing),
        cmocka_unit_test_teardown(test_random_changes_on_crowded_hashes_match_a_model, restore_hash),
        cmocka_unit_test_teardown(test_replay_of_a_crowded_hash_is_damage_not_out_of_memory, restore_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
