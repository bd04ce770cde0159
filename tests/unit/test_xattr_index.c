/* test_xattr_index.c: unit tests of an inode's extended attribute index: sorted order, replace, remove, list length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inode/xattr_index.h"

static void put(struct xattr_index *index, const char *name, const char *value)
{
    struct xattr *x = xattr_new(name, strlen(name), value, strlen(value));
    assert_non_null(x);
    assert_int_equal(xattr_index_reserve(index), 0);
    xattr_index_put(index, x);
}

static void value_is(const struct xattr_index *index, const char *name, const char *value)
{
    const struct xattr *x = xattr_index_find(index, name, strlen(name));
    assert_non_null(x);
    assert_int_equal(x->value_len, strlen(value));
    assert_memory_equal(xattr_value(x), value, strlen(value));
}

static void test_empty_index_finds_nothing(void **state)
{
    (void)state;
    struct xattr_index index = {0};
    assert_null(xattr_index_find(&index, "user.a", 6));
    xattr_index_remove(&index, "user.a", 6);
    assert_int_equal(index.count, 0);
    assert_int_equal(index.list_bytes, 0);
    xattr_index_clear(&index);
}

static void test_names_sort_by_bytes_then_length(void **state)
{
    (void)state;
    struct xattr_index index = {0};
    const char *names[] = {"user.b", "user.ab", "user.a", "trusted.z", "user.aa", "security.x"};
    for (size_t i = 0; i < 6; i++)
        put(&index, names[i], names[i]);
    const char *sorted[] = {"security.x", "trusted.z", "user.a", "user.aa", "user.ab", "user.b"};
    assert_int_equal(index.count, 6);
    size_t bytes = 0;
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(index.items[i]->name_len, strlen(sorted[i]));
        assert_memory_equal(index.items[i]->data, sorted[i], strlen(sorted[i]));
        value_is(&index, sorted[i], sorted[i]);
        bytes += strlen(sorted[i]) + 1;
    }
    assert_int_equal(index.list_bytes, bytes);
    assert_null(xattr_index_find(&index, "user.", 5));
    assert_null(xattr_index_find(&index, "user.abc", 8));
    xattr_index_clear(&index);
}

static void test_put_of_an_existing_name_replaces_its_value(void **state)
{
    (void)state;
    struct xattr_index index = {0};
    put(&index, "user.k", "first");
    put(&index, "user.k", "");
    assert_int_equal(index.count, 1);
    assert_int_equal(index.list_bytes, 7);
    value_is(&index, "user.k", "");
    put(&index, "user.k", "third value");
    value_is(&index, "user.k", "third value");
    xattr_index_clear(&index);
}

static void test_remove_keeps_the_others_in_order(void **state)
{
    (void)state;
    struct xattr_index index = {0};
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "user.%03d", i);
        put(&index, name, name);
    }
    for (int i = 0; i < 100; i += 2) {
        snprintf(name, sizeof(name), "user.%03d", i);
        xattr_index_remove(&index, name, strlen(name));
    }
    xattr_index_remove(&index, "user.000", 8);
    assert_int_equal(index.count, 50);
    assert_int_equal(index.list_bytes, 50 * 9);
    for (int i = 1; i < 100; i += 2) {
        snprintf(name, sizeof(name), "user.%03d", i);
        value_is(&index, name, name);
        assert_memory_equal(index.items[i / 2]->data, name, 8);
    }
    xattr_index_clear(&index);
    assert_int_equal(index.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_index_finds_nothing),
        cmocka_unit_test(test_names_sort_by_bytes_then_length),
        cmocka_unit_test(test_put_of_an_existing_name_replaces_its_value),
        cmocka_unit_test(test_remove_keeps_the_others_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
