/* test_dir_index.c: unit tests of a directory's name hash table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "inode/dir_index.h"

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

static int format_name(char *buffer, size_t size, unsigned i)
{
    return snprintf(buffer, size, "entry-%u", i);
}

static void test_growth_past_many_names(void **state)
{
    (void)state;
    struct dir_index index = {0};
    char name[32];
    for (unsigned i = 0; i < MANY_NAMES; i++) {
        int len = format_name(name, sizeof(name), i);
        assert_int_equal(dir_index_put(&index, name, (size_t)len, 100 + i, i % 10 ? DT_REG : DT_DIR), 0);
    }
    assert_int_equal(index.count, MANY_NAMES);
    assert_int_equal(index.subdirs, MANY_NAMES / 10);
    assert_true(index.bucket_count >= MANY_NAMES);
    assert_int_equal(index.bucket_count & (index.bucket_count - 1), 0);

    for (unsigned i = 0; i < MANY_NAMES; i++) {
        int len = format_name(name, sizeof(name), i);
        const struct dir_name *found = dir_index_find(&index, name, (size_t)len);
        assert_non_null(found);
        assert_int_equal(found->ino, 100 + i);
    }
    for (unsigned i = 0; i < MANY_NAMES; i += 2) {
        int len = format_name(name, sizeof(name), i);
        dir_index_remove(&index, name, (size_t)len);
    }
    assert_int_equal(index.count, MANY_NAMES / 2);
    assert_int_equal(index.subdirs, 0);
    for (unsigned i = 0; i < MANY_NAMES; i++) {
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
    assert_int_equal(index.bucket_count, 0);
    assert_null(index.buckets);
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
    for (unsigned i = 0; i < MANY_NAMES; i++) {
        int len = format_name(name, sizeof(name), i);
        assert_int_equal(dir_index_put(&index, name, (size_t)len, 100 + i, DT_REG), 0);
    }
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
    char name[32];
    unsigned visits[50] = {0};
    for (unsigned i = 0; i < 50; i++) {
        int len = format_name(name, sizeof(name), i);
        assert_int_equal(dir_index_put(&index, name, (size_t)len, 100 + i, DT_REG), 0);
    }
    struct visit_record record = {.visits = visits, .stop_after = 7};
    assert_int_equal(dir_index_each(&index, count_visit, &record), 42);
    assert_int_equal(record.total, 7);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_index_finds_nothing),
        cmocka_unit_test(test_put_find_remove),
        cmocka_unit_test(test_names_compare_by_length_and_bytes),
        cmocka_unit_test(test_longest_name_is_kept_whole),
        cmocka_unit_test(test_put_of_an_existing_name_replaces_it),
        cmocka_unit_test(test_subdirs_counts_directories_only),
        cmocka_unit_test(test_growth_past_many_names),
        cmocka_unit_test(test_each_visits_every_name_exactly_once),
        cmocka_unit_test(test_each_stops_when_the_visitor_asks),
        cmocka_unit_test(test_each_on_an_empty_index_visits_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
