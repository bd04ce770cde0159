/* test_readdir.c: directory streams over a changing directory: kept names come once, cookies survive changes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_pool.h"

#define KEPT 1000
#define CHURNED 600
#define NAME_SIZE 256

static void create(struct udax_pool *pool, const char *kind, unsigned i)
{
    char path[64];
    snprintf(path, sizeof(path), "/d/%s-%u", kind, i);
    if (i % 10 == 9) {
        assert_int_equal(udax_mkdir(pool, path, 0755), 0);
        return;
    }
    int fd = udax_open(pool, path, O_CREAT | O_EXCL | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(udax_close(pool, fd), 0);
}

static void destroy(struct udax_pool *pool, const char *kind, unsigned i)
{
    char path[64];
    snprintf(path, sizeof(path), "/d/%s-%u", kind, i);
    assert_int_equal(i % 10 == 9 ? udax_rmdir(pool, path) : udax_unlink(pool, path), 0);
}

static void populate(struct udax_pool *pool, unsigned kept, unsigned churned)
{
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    for (unsigned i = 0; i < kept; i++)
        create(pool, "keep", i);
    for (unsigned i = 0; i < churned; i++)
        create(pool, "churn", i);
}

/* What one stream returned, by name. */
struct tally {
    unsigned kept[KEPT];
    unsigned churned[2 * CHURNED];
    unsigned dots;
    unsigned total;
};

/* Counts one entry, which no stream may return twice, and checks it against the directory as it is now. */
static void count(struct udax_pool *pool, struct tally *t, const struct dirent *e)
{
    unsigned i;
    char kind[8];
    int used = 0;
    t->total++;
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
        assert_true(t->dots++ < 2);
        assert_int_equal(e->d_type, DT_DIR);
        return;
    }
    assert_int_equal(sscanf(e->d_name, "%5[a-z]-%u%n", kind, &i, &used), 2);
    assert_int_equal(e->d_name[used], '\0');
    if (!strcmp(kind, "keep")) {
        assert_true(i < KEPT);
        assert_int_equal(t->kept[i]++, 0);
        char path[8 + NAME_SIZE];
        struct stat st;
        snprintf(path, sizeof(path), "/d/%s", e->d_name);
        assert_int_equal(udax_stat(pool, path, &st), 0);
        assert_int_equal(e->d_ino, st.st_ino);
        assert_int_equal(e->d_type, S_ISDIR(st.st_mode) ? DT_DIR : DT_REG);
    } else {
        assert_string_equal(kind, "churn");
        assert_true(i < 2 * CHURNED);
        assert_int_equal(t->churned[i]++, 0);
    }
    assert_int_equal(e->d_type, i % 10 == 9 ? DT_DIR : DT_REG);
}

/* Reads up to n entries; how many it read. */
static unsigned read_some(struct udax_pool *pool, UDAX_DIR *dir, struct tally *t, unsigned n)
{
    unsigned done = 0;
    struct dirent *e;
    while (done < n && (e = udax_readdir(pool, dir))) {
        assert_int_equal(e->d_off, udax_telldir(pool, dir));
        count(pool, t, e);
        done++;
    }
    return done;
}

static void expect_each_kept_name(const struct tally *t)
{
    assert_int_equal(t->dots, 2);
    for (unsigned i = 0; i < KEPT; i++)
        assert_int_equal(t->kept[i], 1);
}

static void test_names_kept_throughout_come_once_whatever_changes(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    populate(pool, KEPT, CHURNED);
    UDAX_DIR *dir = udax_opendir(pool, "/d");
    assert_non_null(dir);
    struct tally *t = calloc(1, sizeof(*t));
    /* Between reads, unlink the first churned names and create as many new ones, a few at a time. */
    unsigned changed = 0;
    while (read_some(pool, dir, t, 97) == 97) {
        for (unsigned j = 0; j < 80 && changed < CHURNED; j++, changed++) {
            destroy(pool, "churn", changed);
            create(pool, "churn", CHURNED + changed);
        }
    }
    assert_null(udax_readdir(pool, dir));
    expect_each_kept_name(t);
    assert_int_equal(changed, CHURNED);
    assert_int_equal(udax_closedir(pool, dir), 0);
    free(t);
}

/* The names read from a position, with churned ones left out: they may come or not. */
static unsigned kept_sequence(struct udax_pool *pool, UDAX_DIR *dir, unsigned n, char (*names)[NAME_SIZE])
{
    unsigned kept = 0;
    struct dirent *e;
    for (unsigned read = 0; read < n && (e = udax_readdir(pool, dir)); read++)
        if (strncmp(e->d_name, "churn-", 6))
            snprintf(names[kept++], sizeof(names[0]), "%s", e->d_name);
    return kept;
}

static void test_seekdir_to_a_telldir_cookie_continues_the_same_way(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    populate(pool, KEPT, CHURNED);
    UDAX_DIR *dir = udax_opendir(pool, "/d");
    assert_non_null(dir);
    struct tally *t = calloc(1, sizeof(*t));
    assert_int_equal(read_some(pool, dir, t, 300), 300);
    long cookie = udax_telldir(pool, dir);
    assert_true(cookie >= 2);

    static char before[KEPT + CHURNED][NAME_SIZE], after[KEPT + CHURNED][NAME_SIZE];
    static char elsewhere[KEPT + CHURNED][NAME_SIZE];
    unsigned kept_before = kept_sequence(pool, dir, 400, before);
    for (unsigned i = 0; i < CHURNED; i += 2) {
        destroy(pool, "churn", i);
        create(pool, "churn", CHURNED + i);
    }
    assert_int_equal(read_some(pool, dir, t, 200), 200);

    udax_seekdir(pool, dir, cookie);
    assert_int_equal(udax_telldir(pool, dir), cookie);
    unsigned kept_after = kept_sequence(pool, dir, 400 + CHURNED, after);
    assert_true(kept_after >= kept_before);
    for (unsigned i = 0; i < kept_before; i++)
        assert_string_equal(after[i], before[i]);

    /* The cookie means the same on another stream of the directory. */
    UDAX_DIR *other = udax_opendir(pool, "/d");
    assert_non_null(other);
    udax_seekdir(pool, other, cookie);
    unsigned kept_elsewhere = kept_sequence(pool, other, 400 + CHURNED, elsewhere);
    assert_int_equal(kept_elsewhere, kept_after);
    for (unsigned i = 0; i < kept_after; i++)
        assert_string_equal(elsewhere[i], after[i]);
    assert_int_equal(udax_closedir(pool, other), 0);
    assert_int_equal(udax_closedir(pool, dir), 0);
    free(t);
}

static void test_d_off_of_each_entry_resumes_right_after_it(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    populate(pool, 50, 0);
    UDAX_DIR *dir = udax_opendir(pool, "/d");
    assert_non_null(dir);
    assert_int_equal(udax_telldir(pool, dir), 0);
    char names[52][NAME_SIZE];
    long offsets[52];
    unsigned n = 0;
    for (struct dirent *e; (e = udax_readdir(pool, dir)); n++) {
        assert_true(n < 52);
        assert_int_equal(e->d_off, udax_telldir(pool, dir));
        assert_true(n == 0 || e->d_off > offsets[n - 1]);
        offsets[n] = e->d_off;
        snprintf(names[n], sizeof(names[n]), "%s", e->d_name);
    }
    assert_int_equal(n, 52);
    assert_string_equal(names[0], ".");
    assert_int_equal(offsets[0], 1);
    assert_string_equal(names[1], "..");
    assert_int_equal(offsets[1], 2);
    for (unsigned i = 0; i + 1 < n; i++) {
        udax_seekdir(pool, dir, offsets[i]);
        struct dirent *e = udax_readdir(pool, dir);
        assert_non_null(e);
        assert_string_equal(e->d_name, names[i + 1]);
    }
    udax_seekdir(pool, dir, offsets[n - 1]);
    assert_null(udax_readdir(pool, dir));
    assert_null(udax_readdir(pool, dir));
    assert_int_equal(udax_closedir(pool, dir), 0);
}

static void test_rewinddir_starts_over(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    populate(pool, 30, 0);
    UDAX_DIR *dir = udax_opendir(pool, "/d");
    assert_non_null(dir);
    char first[32][NAME_SIZE];
    unsigned n = 0;
    for (struct dirent *e; (e = udax_readdir(pool, dir)); n++)
        snprintf(first[n], sizeof(first[n]), "%s", e->d_name);
    assert_int_equal(n, 32);
    udax_rewinddir(pool, dir);
    assert_int_equal(udax_telldir(pool, dir), 0);
    for (unsigned i = 0; i < n; i++) {
        struct dirent *e = udax_readdir(pool, dir);
        assert_non_null(e);
        assert_string_equal(e->d_name, first[i]);
    }
    assert_null(udax_readdir(pool, dir));
    assert_int_equal(udax_closedir(pool, dir), 0);
}

static void test_a_stream_outlives_the_removal_of_its_directory(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    create(pool, "keep", 0);
    UDAX_DIR *dir = udax_opendir(pool, "/d");
    assert_non_null(dir);
    assert_string_equal(udax_readdir(pool, dir)->d_name, ".");
    destroy(pool, "keep", 0);
    assert_int_equal(udax_rmdir(pool, "/d"), 0);
    struct stat root;
    assert_int_equal(udax_stat(pool, "/", &root), 0);
    struct dirent *e = udax_readdir(pool, dir);
    assert_non_null(e);
    assert_string_equal(e->d_name, "..");
    assert_int_equal(e->d_ino, root.st_ino);
    assert_null(udax_readdir(pool, dir));
    assert_int_equal(udax_closedir(pool, dir), 0);
}

static void test_null_streams_fail_with_ebadf(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    errno = 0;
    assert_int_equal(udax_telldir(pool, NULL), -1);
    assert_int_equal(errno, EBADF);
    errno = 0;
    udax_seekdir(pool, NULL, 2);
    assert_int_equal(errno, EBADF);
    errno = 0;
    udax_rewinddir(pool, NULL);
    assert_int_equal(errno, EBADF);
    errno = 0;
    assert_null(udax_readdir(pool, NULL));
    assert_int_equal(errno, EBADF);
    errno = 0;
    assert_int_equal(udax_closedir(pool, NULL), -1);
    assert_int_equal(errno, EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST_ON_POOL(test_names_kept_throughout_come_once_whatever_changes),
        TEST_ON_POOL(test_seekdir_to_a_telldir_cookie_continues_the_same_way),
        TEST_ON_POOL(test_d_off_of_each_entry_resumes_right_after_it),
        TEST_ON_POOL(test_rewinddir_starts_over),
        TEST_ON_POOL(test_a_stream_outlives_the_removal_of_its_directory),
        TEST_ON_POOL(test_null_streams_fail_with_ebadf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
